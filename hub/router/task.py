"""A router task's parts, and how a task is rebuilt from Kafka when it is assigned.

A task owns partition N of every co-partitioned topic. On assignment it reads back its
partition of ``hub.subject-history`` (per-subject history and the audit chain head),
of ``hub.routed-ids`` (every id it ever routed or applied) and the tail of
``hub.audit-checkpoints`` (its newest checkpoint): its local store is only a cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from hub.audit import Anchor, ChainHead
from hub.errors import KafkaError
from hub.kafka import kafka_errors, make_consumer
from hub.router.handler import CHAIN_HEAD_KEY, TaskState
from hub.router.history import SqliteStateStore
from hub.settings import KafkaSettings
from hub.topology import AUDIT_CHECKPOINTS, HISTORY, ROUTED_IDS


@dataclass
class RouterTask:
    """One router task: its state, its transactional producer, its local store, its anchor."""

    state: TaskState
    producer: AIOKafkaProducer
    store: SqliteStateStore
    anchor: Anchor = field(default_factory=Anchor)
    anchored_at: float = 0.0


async def restore_tasks(kafka: KafkaSettings, client_id: str, tasks: list[RouterTask]) -> None:
    """Rebuild history, chain heads, routed ids and the newest checkpoint of each task."""
    by_tp = {
        TopicPartition(kafka.topic(topic), task.state.partition): (topic, task)
        for task in tasks
        for topic in (HISTORY, ROUTED_IDS, AUDIT_CHECKPOINTS)
    }
    consumer = make_consumer(kafka, client_id, read_committed=True)
    with kafka_errors("restoring history"):
        await consumer.start()
        try:
            consumer.assign(list(by_tp))
            await consumer.seek_to_beginning(*by_tp)
            ends = await consumer.end_offsets(list(by_tp))
            for tp, (topic, _task) in by_tp.items():
                if topic == AUDIT_CHECKPOINTS:
                    # Only the newest checkpoint matters: read the partition's tail.
                    consumer.seek(tp, max(0, ends[tp] - _CHECKPOINT_TAIL))
            pending = await _drain(consumer, ends, by_tp)
        finally:
            await consumer.stop()
    for task in tasks:
        task.state.history.flush()
    if pending:
        raise KafkaError(f"history restore did not reach the end of {sorted(map(str, pending))}")


async def _drain(
    consumer: AIOKafkaConsumer,
    ends: dict[TopicPartition, int],
    by_tp: dict[TopicPartition, tuple[str, RouterTask]],
) -> set[TopicPartition]:
    """Apply every record up to ``ends``; return the partitions not read to the end."""
    pending = {tp for tp, end in ends.items() if end > 0}
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        batch = await consumer.getmany(*pending, timeout_ms=200, max_records=5000)
        for tp, msgs in batch.items():
            topic, task = by_tp[tp]
            for msg in msgs:
                _restore_one(topic, task, msg)
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
    return pending


_CHECKPOINT_TAIL = 64
"""Offsets read back from the end of a checkpoints partition to find the newest one
(a checkpoint and its transaction marker take two; a partition holds nothing else)."""


def _restore_one(topic: str, task: RouterTask, msg: ConsumerRecord[Any, Any]) -> None:
    state = task.state
    if msg.key is None:
        return
    if topic == ROUTED_IDS:
        state.routed.restore(msg.key)
    elif topic == AUDIT_CHECKPOINTS:
        if msg.value is not None:
            task.anchor = Anchor.of(msg.value)
    elif msg.key == CHAIN_HEAD_KEY:
        if msg.value is not None:
            state.chain = ChainHead.from_bytes(msg.value)
    else:
        state.history.restore(msg.key, msg.value)
