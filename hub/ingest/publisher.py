"""Durable, all-or-nothing writes of accepted envelopes to a partner's inbound topic.

Each partner has one transactional producer (``connector-<partner>-<instance>``).
Each record goes to the partition its MAC names (:class:`~hub.security.envelope.Sealer`).
Requests that arrive together are written in one transaction (group commit): a
request is acknowledged only after the transaction that holds all its records
committed with ``acks=all``. If anything fails, the transaction is aborted, every
waiting request gets :class:`~hub.errors.KafkaUnavailableError` (the app answers 503),
and nothing of it is visible to ``read_committed`` readers. After a failure the
producer is rebuilt (fencing any transaction left open) before writes resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaProducer
from opentelemetry.trace import Span, SpanKind

from hub import tracing
from hub.errors import HubError, KafkaUnavailableError
from hub.kafka import kafka_errors, make_producer
from hub.security.envelope import InboundRecord
from hub.settings import KafkaSettings

log = structlog.get_logger("hub.ingest.publisher")

_Pending = tuple[Sequence[InboundRecord], asyncio.Future[None]]
SEND_SLICE = 100
"""Records handed to the producer between two turns of the event loop."""
MIN_WRITE_RATE = 2 * 1024 * 1024
"""Bytes a second a transaction is allowed on top of the timeout (a large batch takes longer)."""


class TransactionalPublisher:
    """Group-committing transactional writer for one partner."""

    def __init__(
        self,
        kafka: KafkaSettings,
        transactional_id: str,
        *,
        timeout_s: float = 10.0,
        max_group: int = 500,
    ) -> None:
        self._kafka = kafka
        self._txn_id = transactional_id
        self._timeout_s = timeout_s
        self._max_group = max_group
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self.healthy = asyncio.Event()
        self.on_recovered: list[asyncio.Event] = []
        self._failed = False

    async def start(self) -> None:
        """Start the writer loop (the producer connects in the background)."""
        self._task = asyncio.create_task(self._run(), name=f"publisher-{self._txn_id}")

    async def stop(self) -> None:
        """Stop writing; waiting requests fail."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._fail(self._queue, KafkaUnavailableError("the connector is shutting down"))
        self._queue = []
        await self._close_producer()

    async def publish(self, records: Sequence[InboundRecord]) -> None:
        """Write ``records`` atomically; return once committed, or raise."""
        if not records:
            return
        if not self.healthy.is_set():
            raise KafkaUnavailableError("Kafka is not reachable; retry later")
        with tracing.span(f"publish {records[0].topic}", SpanKind.PRODUCER) as current:
            if current is not None:  # the records carry this span to the router
                records = traced(records, current)
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._queue.append((records, future))
            self._wake.set()
            await future

    async def _run(self) -> None:
        while True:
            if self._producer is None:
                await self._connect()
                continue
            await self._wake.wait()
            self._wake.clear()
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            if self._queue:
                self._wake.set()
            if group:
                await self._commit_group(group)

    async def _connect(self) -> None:
        producer = make_producer(self._kafka, self._txn_id, transactional_id=self._txn_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                with kafka_errors(f"starting producer {self._txn_id}"):
                    await producer.start()
        except (HubError, TimeoutError) as exc:
            log.warning("publisher_unavailable", transactional_id=self._txn_id, error=str(exc))
            with contextlib.suppress(Exception):
                await producer.stop()
            await asyncio.sleep(1.0)
            return
        self._producer = producer
        if self._failed:
            # The failed transaction may or may not have committed: whoever tracks what
            # was written must re-read before this publisher is trusted again.
            self._failed = False
            for event in self.on_recovered:
                event.set()
        self.healthy.set()
        log.info("publisher_ready", transactional_id=self._txn_id)

    async def _commit_group(self, group: list[_Pending]) -> None:
        producer = self._producer
        assert producer is not None
        size = sum(len(r.value) for records, _f in group for r in records)
        try:
            async with asyncio.timeout(self._timeout_s + size / MIN_WRITE_RATE):
                with kafka_errors("writing to the inbound topic"):
                    await producer.begin_transaction()
                    futures = []
                    for records, _f in group:
                        for r in records:
                            futures.append(
                                await producer.send(
                                    self._kafka.topic(r.topic),
                                    value=r.value,
                                    key=r.key,
                                    partition=r.partition,
                                    headers=list(r.headers),
                                )
                            )
                            if len(futures) % SEND_SLICE == 0:
                                # send() rarely suspends: without this turn a batch of
                                # thousands would hold the event loop until all are queued.
                                await asyncio.sleep(0)
                    await _delivered(futures)
                    await producer.commit_transaction()
        except (HubError, TimeoutError) as exc:
            log.warning("publish_failed", transactional_id=self._txn_id, error=str(exc)[:200])
            self.healthy.clear()
            self._failed = True
            # Requests queued behind this transaction fail now too: they would otherwise
            # wait out the whole outage instead of getting a prompt 503.
            waiting, self._queue = self._queue, []
            self._fail(
                group + waiting, KafkaUnavailableError("Kafka did not acknowledge; retry later")
            )
            await self._close_producer()
            return
        for _records, future in group:
            if not future.done():
                future.set_result(None)

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout_s):
                    await producer.stop()

    @staticmethod
    def _fail(group: list[_Pending], exc: Exception) -> None:
        for _records, future in group:
            if not future.done():
                future.set_exception(exc)


def traced(records: Sequence[InboundRecord], current: Span) -> list[InboundRecord]:
    """``records`` with the ``traceparent`` of ``current`` (their MACs do not cover headers)."""
    header = tracing.header_of(current)
    tracing.set_attributes(
        current,
        {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": records[0].topic,
            "messaging.batch.message_count": len(records),
        },
    )
    return [dataclasses.replace(r, headers=(*r.headers, *header)) for r in records]


async def _delivered(futures: list[asyncio.Future[object]]) -> None:
    """Wait for every send, one at a time; raise the first failure.

    Gathering tens of thousands of futures at once would take the event loop for one
    long turn. On a failure the other outcomes are still collected, so none is
    reported as never retrieved.
    """
    try:
        for done, delivered in enumerate(futures, 1):
            await delivered
            if done % SEND_SLICE == 0:
                await asyncio.sleep(0)
    except BaseException:
        for future in futures:
            future.add_done_callback(_retrieve)
        raise
    while futures:  # freed a slice at a time too, for the same reason
        del futures[-SEND_SLICE:]
        await asyncio.sleep(0)


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
