"""The router service: consume inbound topics, route, and write it all in one transaction.

Exactly-once without KIP-447 (aiokafka speaks only the v0 transaction protocol): the
router runs one *task* per partition number N. A task owns partition N of the four
inbound topics, of ``team.outcomes`` and of ``hub.subject-history`` (the range
assignor keeps them together; ``deploy/topics.yaml`` keeps their counts equal), and
has its own transactional producer with the id ``router-task-N``. Starting that
producer fences any previous owner of task N and aborts its open transaction, so a
crashed or partitioned router cannot commit after its successor has started. Each
batch of a task is one transaction holding the routed copies, the decision records,
the history changelog and the consumed offsets; ``read_committed`` readers see all of
it or none of it.

On assignment a task rebuilds its history store and its audit chain head from its
changelog partition, its routed ids from ``hub.routed-ids`` and its newest audit
checkpoint from ``hub.audit-checkpoints``. On revocation it first finishes the batch in
flight (the processing lock), then closes its producer. On SIGTERM the loop finishes
the batch in flight and stops; nothing partial is ever committed.

Audit checkpoints (:mod:`hub.audit.checkpoint`) are written by each task in a
transaction of their own, between batches: when its chain grew and the last one is
``checkpoint_every_s`` old, and whenever a task starts, is revoked or stops with a
chain longer than its newest checkpoint covers.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from hub import tracing
from hub.audit import Anchor, checkpoint_record
from hub.errors import HubError, KafkaError, ProducerFencedError
from hub.kafka import kafka_errors, make_consumer, make_producer, stop_tailing
from hub.router.globaltable import HouseholdReader
from hub.router.handler import (
    CHAIN_HEAD_KEY,
    InRecord,
    OutRecord,
    RouterContext,
    TaskState,
    route_record,
)
from hub.router.history import HistoryStore, SqliteStateStore
from hub.router.household import HouseholdView
from hub.router.metrics import RouterMetrics
from hub.router.task import RouterTask, restore_tasks
from hub.router.traced import route_traced
from hub.settings import DEFAULT_BATCH_WINDOW_MS, KafkaSettings
from hub.topology import (
    AUDIT_CHECKPOINTS,
    DECISIONS,
    DLQ,
    HISTORY,
    INBOUND_TOPICS,
    OUTCOMES,
    ROUTER_GROUP,
    router_task_transaction,
)

log = structlog.get_logger("hub.router.service")

INPUT_TOPICS = (*INBOUND_TOPICS, OUTCOMES)
ROUTER_FETCH_WAIT_MS = 50
"""How long the broker may hold a fetch that found nothing new (aiokafka's default: 500).

A ``read_committed`` fetch sees a record only once its transaction commits; a short
wait bounds how long a record committed meanwhile waits for the next fetch."""


@dataclass
class RouterStats:
    """Counters the service keeps for its metrics and for tests."""

    routed: int = 0
    dead_lettered: int = 0
    transactions: int = 0
    aborted: int = 0
    checkpoints: int = 0


class Router(ConsumerRebalanceListener):  # type: ignore[misc]
    """One router process: a group member with one transactional task per partition."""

    def __init__(
        self,
        kafka: KafkaSettings,
        ctx: RouterContext,
        state_dir: Path,
        *,
        instance: str = "router",
        max_batch: int = 2000,
        batch_window_ms: int = DEFAULT_BATCH_WINDOW_MS,
        on_batch: Callable[[int], None] | None = None,
        checkpoint_every_s: float = 60.0,
    ) -> None:
        self._kafka = kafka
        self._ctx = ctx
        self._state_dir = state_dir / instance
        self._instance = instance
        self._max_batch = max_batch
        self._batch_window_s = batch_window_ms / 1000
        self._on_batch = on_batch
        self._checkpoint_every_s = checkpoint_every_s
        self._tasks: dict[int, RouterTask] = {}
        self._lock = asyncio.Lock()
        self._generation = 0
        self._stopping = False
        self._consumer: AIOKafkaConsumer | None = None
        self.households = HouseholdView()
        self.stats = RouterStats()
        self.metrics = RouterMetrics(lambda: self.stats, lambda: len(self._tasks))
        self.ready = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    async def run(self, stop: asyncio.Event) -> None:
        """Route until ``stop`` is set; then finish the batch in flight and leave."""
        consumer = make_consumer(
            self._kafka,
            f"{self._instance}-consumer",
            group_id=ROUTER_GROUP,
            read_committed=True,
            max_poll_records=self._max_batch,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            max_poll_interval_ms=300_000,
            fetch_max_wait_ms=ROUTER_FETCH_WAIT_MS,
        )
        self._consumer = consumer
        physical = [self._kafka.topic(t) for t in INPUT_TOPICS]
        # The household view is read whole before the router takes any task.
        reader = HouseholdReader(self._kafka, f"{self._instance}-households", self.households)
        async with contextlib.AsyncExitStack() as running:
            # Undone in reverse, whatever step fails: nothing is left open.
            running.callback(
                lambda: log.info("router_stopped", instance=self._instance, **self.stats.__dict__)
            )
            running.push_async_callback(reader.stop)
            await reader.catch_up()
            following = asyncio.create_task(reader.follow(stop))
            running.push_async_callback(stop_tailing, following, None)
            # A rebalance already under way may finish while the consumer leaves the
            # group: whatever it opened is closed after it left, never left to the
            # collector.
            running.push_async_callback(self._close_all)
            with kafka_errors("starting the router consumer"):
                await consumer.start()
            running.push_async_callback(consumer.stop)
            running.push_async_callback(self._shut_down)
            consumer.subscribe(topics=physical, listener=self)
            log.info("router_started", instance=self._instance, topics=list(INPUT_TOPICS))
            while not stop.is_set():
                generation = self._generation
                batch = await self._poll(consumer)
                if batch:
                    await self._process_batch(batch, generation)
                await self._anchor_due()

    async def _shut_down(self) -> None:
        """Open no more tasks; checkpoint and close the ones open (before leaving the group)."""
        self._stopping = True
        async with self._lock:
            await self._anchor(list(self._tasks.values()), "shutdown")
            await self._close_tasks(list(self._tasks))

    async def _close_all(self) -> None:
        """Close every task still open (after leaving the group)."""
        self._stopping = True
        async with self._lock:
            await self._close_tasks(list(self._tasks))

    async def _poll(
        self, consumer: AIOKafkaConsumer
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """What is waiting; once something is, what else arrives within the batch window.

        At a low rate a poll brings a record or two per task, and every task with a
        record commits a transaction of its own: the transaction's round trips and the
        broker's markers, not the routing, then dominate the CPU. Gathering for a few
        milliseconds after the first record puts more messages in each transaction.
        The window never holds more than ``max_batch`` records and never starts on an
        empty poll: an idle router waits as before, a poll that comes back full does
        not wait, and a busy router pays at most the window per poll, little beside
        routing a large batch.
        """
        with kafka_errors("fetching inbound records"):
            batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = await consumer.getmany(
                timeout_ms=200, max_records=self._max_batch
            )
            count = sum(map(len, batch.values()))
            if not count or self._batch_window_s <= 0:
                return batch
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._batch_window_s
            while count < self._max_batch and (left := deadline - loop.time()) > 0:
                more = await consumer.getmany(
                    timeout_ms=math.ceil(left * 1000), max_records=self._max_batch - count
                )
                for tp, records in more.items():
                    # Each poll continues where the previous one stopped: still contiguous.
                    batch.setdefault(tp, []).extend(records)
                    count += len(records)
        return batch

    async def _process_batch(
        self, batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]], generation: int
    ) -> None:
        by_task: dict[int, dict[TopicPartition, list[ConsumerRecord[Any, Any]]]] = defaultdict(dict)
        for tp, records in batch.items():
            by_task[tp.partition][tp] = records
        async with self._lock:
            if generation != self._generation:
                # A rebalance happened between the fetch and now: re-read from the start
                # of this batch rather than process records of a previous assignment.
                self._rewind(batch)
                return
            # The tasks' transactions run side by side: while one waits for the broker
            # another routes, so round trips overlap instead of adding up.
            await asyncio.gather(
                *(
                    self._process_task(self._tasks[partition], task_records)
                    for partition, task_records in by_task.items()
                    if partition in self._tasks
                )
            )

    def _rewind(self, batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> None:
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        for tp, records in batch.items():
            if tp in assigned and records:
                self._consumer.seek(tp, records[0].offset)

    # ------------------------------------------------------------------ transactions
    async def _process_task(
        self, task: RouterTask, records: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> None:
        started = time.perf_counter()
        route = route_record if tracing.TRACER is None else route_traced  # traced: when on
        prefix = self._kafka.topic_prefix
        chain_before = task.state.chain
        out: list[OutRecord] = []
        count = 0
        for tp, msgs in records.items():
            logical = tp.topic[len(prefix) :]
            for msg in msgs:
                structlog.contextvars.clear_contextvars()
                structlog.contextvars.bind_contextvars(
                    topic=logical, partition=msg.partition, offset=msg.offset
                )
                out.extend(route(_in_record(logical, msg), self._ctx, task.state))
                count += 1
        structlog.contextvars.clear_contextvars()
        task.state.history.flush()
        if task.state.chain != chain_before:
            out.append(
                OutRecord(
                    HISTORY,
                    CHAIN_HEAD_KEY,
                    task.state.chain.to_bytes(),
                    partition=task.state.partition,
                )
            )
        offsets = {tp: msgs[-1].offset + 1 for tp, msgs in records.items()}
        decided = time.perf_counter()
        try:
            await self._commit(task.producer, out, offsets)
        except (HubError, Exception) as exc:  # noqa: BLE001 -- any failure aborts the batch
            task.state.committed_contacts.clear()
            await self._recover(task, records, exc)
            return
        self.metrics.observe_batch(count, out, decided - started, time.perf_counter() - decided)
        # What this task committed is in the view at once (other processes read it back).
        for contact in task.state.committed_contacts:
            self.households.put(contact)
        task.state.committed_contacts.clear()
        log.info("batch_committed", task=task.state.partition, messages=count, records=len(out))
        self.stats.transactions += 1
        self.stats.routed += sum(1 for o in out if o.topic == DECISIONS)
        self.stats.dead_lettered += sum(1 for o in out if o.topic == DLQ)
        if self._on_batch is not None:
            self._on_batch(count)

    async def _commit(
        self,
        producer: AIOKafkaProducer,
        out: Sequence[OutRecord],
        offsets: dict[TopicPartition, int],
    ) -> None:
        with kafka_errors("routing transaction"):
            await producer.begin_transaction()
            # aiokafka #1004: add the offsets before the records.
            await producer.send_offsets_to_transaction(offsets, self._kafka.group(ROUTER_GROUP))
            await asyncio.gather(*await self._send(producer, out))
            await producer.commit_transaction()

    async def _send(
        self, producer: AIOKafkaProducer, out: Sequence[OutRecord]
    ) -> list[asyncio.Future[Any]]:
        """Queue ``out`` on ``producer``; return the futures of their acknowledgements."""
        return [
            await producer.send(
                self._kafka.topic(o.topic),
                value=o.value,
                key=o.key,
                partition=o.partition,
                headers=list(o.headers),
            )
            for o in out
        ]

    async def _recover(
        self,
        task: RouterTask,
        records: dict[TopicPartition, list[ConsumerRecord[Any, Any]]],
        exc: BaseException,
    ) -> None:
        """Abort, rebuild the task from Kafka, and re-read the batch."""
        self.stats.aborted += 1
        log.warning(
            "transaction_aborted",
            task=task.state.partition,
            error_class=type(exc).__name__,
            error=str(exc)[:300],
        )
        with contextlib.suppress(Exception):
            await task.producer.abort_transaction()
        partition = task.state.partition
        await self._close_tasks([partition])
        assert self._consumer is not None
        if isinstance(exc, ProducerFencedError) or not all(
            tp in self._consumer.assignment() for tp in records
        ):
            # Another instance owns the task now; the coming rebalance moves it.
            return
        await asyncio.sleep(0.5)
        try:
            await self._open_tasks([partition])
        except KafkaError as reopen:
            log.warning("task_reopen_failed", task=partition, error=str(reopen)[:300])
            return
        for tp, msgs in records.items():
            self._consumer.seek(tp, msgs[0].offset)

    # ------------------------------------------------------------------ checkpoints
    async def _anchor_due(self) -> None:
        """Checkpoint every chain that grew since a checkpoint older than the interval."""
        now = time.monotonic()
        async with self._lock:
            due = [
                t
                for t in self._tasks.values()
                if not t.anchor.covers(t.state.chain)
                and now - t.anchored_at >= self._checkpoint_every_s
            ]
            await self._anchor(due, "interval")

    async def _anchor(self, tasks: Sequence[RouterTask], reason: str) -> None:
        """Write a checkpoint for each of ``tasks`` whose chain its newest one leaves out.

        Call with the lock held. Each is a transaction of its own on the task's
        producer; one that fails is logged and written again later (a chain is never
        less anchored than it was).
        """
        signer = self._ctx.checkpoints
        pending = [t for t in tasks if not t.anchor.covers(t.state.chain)]
        if signer is None or not pending:
            return

        async def one(task: RouterTask) -> None:
            state = task.state
            value, headers = checkpoint_record(
                state.chain,
                state.partition,
                task.anchor,
                at=self._ctx.clock(),
                router=self._instance,
                signer=signer,
            )
            out = [
                OutRecord(
                    AUDIT_CHECKPOINTS, b"%d" % state.partition, value, headers, state.partition
                )
            ]
            try:
                with kafka_errors("writing an audit checkpoint"):
                    await task.producer.begin_transaction()
                    await (await self._send(task.producer, out))[0]
                    await task.producer.commit_transaction()
            except (HubError, Exception) as exc:  # noqa: BLE001 -- logged; retried next time
                log.warning("checkpoint_failed", task=state.partition, error=str(exc)[:300])
                with contextlib.suppress(Exception):
                    await task.producer.abort_transaction()
                return
            task.anchor, task.anchored_at = Anchor.of(value), time.monotonic()
            self.stats.checkpoints += 1
            log.info(
                "chain_checkpointed", task=state.partition, count=state.chain.count, reason=reason
            )

        await asyncio.gather(*(one(t) for t in pending))

    # ------------------------------------------------------------------ rebalance
    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Finish the batch in flight, checkpoint, then close the revoked tasks."""
        async with self._lock:
            self._generation += 1
            partitions = sorted({tp.partition for tp in revoked})
            tasks = [self._tasks[p] for p in partitions if p in self._tasks]
            await self._anchor(tasks, "revoked")
            await self._close_tasks(partitions)
            log.info("tasks_revoked", instance=self._instance, tasks=partitions)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Open a task per assigned partition number: fence, restore, then consume."""
        async with self._lock:
            self._generation += 1
            if self._stopping:
                # Leaving: the group hands these on once this consumer has left.
                return
            partitions = sorted({tp.partition for tp in assigned} - set(self._tasks))
            await self._open_tasks(partitions)
            log.info("tasks_assigned", instance=self._instance, tasks=partitions)
        self.ready.set()

    async def _open_tasks(self, partitions: list[int]) -> None:
        if not partitions:
            return
        started = time.monotonic()
        tasks: dict[int, RouterTask] = {}
        try:
            for p in partitions:
                producer = make_producer(
                    self._kafka,
                    f"{self._instance}-task-{p}",
                    transactional_id=router_task_transaction(p),
                )
                # Starting initialises the transactional id: previous owners are fenced
                # and their open transaction is aborted before we read any state.
                try:
                    with kafka_errors(f"starting the producer of task {p}"):
                        await producer.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                store = SqliteStateStore(self._state_dir / f"task-{p}.sqlite")
                state = TaskState(p, HistoryStore(store), households=self.households)
                tasks[p] = RouterTask(state, producer, store)
            await restore_tasks(self._kafka, f"{self._instance}-restore", list(tasks.values()))
        except BaseException:
            # A task that could not open holds nothing: no producer is left running.
            for task in tasks.values():
                await _release(task)
            raise
        self._tasks.update(tasks)
        log.info(
            "tasks_restored",
            tasks=partitions,
            subjects=sum(len(t.state.history) for t in tasks.values()),
            routed_ids=sum(len(t.state.routed) for t in tasks.values()),
            seconds=round(time.monotonic() - started, 3),
        )
        await self._anchor(list(tasks.values()), "start")

    async def _close_tasks(self, partitions: list[int]) -> None:
        for p in partitions:
            task = self._tasks.pop(p, None)
            if task is not None:
                await _release(task)


async def _release(task: RouterTask) -> None:
    """Stop the task's producer and close its state store."""
    with contextlib.suppress(Exception):
        await task.producer.stop()
    task.store.close()


def _in_record(topic: str, msg: ConsumerRecord[Any, Any]) -> InRecord:
    return InRecord(
        topic=topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value,
        headers=tuple((k, bytes(v)) for k, v in (msg.headers or ())),
    )
