"""Tailing the records the scorecard is made of, with group-less ``read_committed`` readers.

Two readers, each assigned every partition of its topics from the beginning and kept
open between samples: one for the route queues (``route.<area>``), one for
``hub.decisions``, ``team.outcomes`` and ``hub.dlq``. Being group-less they commit
nothing and never disturb a team's offsets. Each sample first reads the route queues
up to their end, then the other three: a copy is read before the outcome that answers
it (see :mod:`hub.monitor.scorecard`). A partition that appears later (a new topic,
more partitions) is added from its beginning without re-reading the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from hub.kafka import TopicPartition, kafka_errors, make_consumer
from hub.monitor.lag import LagProbe
from hub.monitor.records import (
    UnreadableRecordError,
    read_dead_letter,
    read_decision,
    read_outcome,
    read_routed,
)
from hub.monitor.scorecard import Scorecard
from hub.settings import KafkaSettings
from hub.topology import CHECK_RESPONSES, CHECKS, DECISIONS, DLQ, OUTCOMES, route_topic
from schemas.common import Area

__all__ = ["RecordTail"]

log = structlog.get_logger("hub.monitor")

_BATCH = 5_000

Handler = Callable[[str, ConsumerRecord[Any, Any]], None]


class _Reader:
    """One consumer over a fixed list of topics, assigned from their beginnings."""

    def __init__(self, kafka: KafkaSettings, client_id: str, topics: Sequence[str]) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self.topics = [kafka.topic(t) for t in topics]
        self._prefix = len(kafka.topic_prefix)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the reader is not started")
        return self._consumer

    async def start(self) -> None:
        consumer = make_consumer(self._kafka, self._client_id, read_committed=True)
        with kafka_errors("starting the monitor's record readers"):
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await asyncio.shield(self._consumer.stop())
            self._consumer = None

    def logical(self, topic: str) -> str:
        return topic[self._prefix :]

    async def refresh(self, probe: LagProbe) -> list[TopicPartition]:
        """Assign any partition not yet assigned, keeping the others' positions."""
        consumer = self.consumer
        wanted = await probe.partitions(self.topics)
        current = set(consumer.assignment())
        new = [tp for tp in wanted if tp not in current]
        if new:
            with kafka_errors("assigning the monitor's record readers"):
                kept = {tp: await consumer.position(tp) for tp in current}
                consumer.assign(sorted(current | set(new)))
                for tp, offset in kept.items():
                    consumer.seek(tp, offset)
                await consumer.seek_to_beginning(*new)
        return sorted(consumer.assignment())

    async def drain(self, probe: LagProbe, handle: Handler, deadline: float) -> bool:
        """Read every record committed before now; False when ``deadline`` came first."""
        consumer = self.consumer
        assigned = await self.refresh(probe)
        if not assigned:
            return True
        loop = asyncio.get_running_loop()
        with kafka_errors("tailing the monitor's records"):
            ends = await consumer.end_offsets(assigned)  # the last stable offsets
            while True:
                behind = [tp for tp in assigned if await consumer.position(tp) < ends[tp]]
                if not behind:
                    return True
                if loop.time() >= deadline:
                    return False
                batch = await consumer.getmany(*behind, timeout_ms=200, max_records=_BATCH)
                for tp, records in batch.items():
                    topic = self.logical(tp.topic)
                    for record in records:
                        handle(topic, record)


class RecordTail:
    """Feeds a :class:`Scorecard` from Kafka, a sample at a time."""

    def __init__(self, kafka: KafkaSettings, scorecard: Scorecard, areas: Sequence[Area]) -> None:
        self._scorecard = scorecard
        self._routes = _Reader(kafka, "hub-monitor-routes", [route_topic(a) for a in areas])
        self._records = _Reader(
            kafka, "hub-monitor-records", [DECISIONS, OUTCOMES, DLQ, CHECKS, CHECK_RESPONSES]
        )
        self._now: datetime | None = None

    async def start(self) -> None:
        """Start both readers."""
        try:
            await self._routes.start()
            await self._records.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop both readers."""
        await self._routes.stop()
        await self._records.stop()

    async def catch_up(self, probe: LagProbe, now: datetime, budget_s: float) -> bool:
        """Read what was committed before now; False when the budget ran out first."""
        self._now = now
        deadline = asyncio.get_running_loop().time() + budget_s
        if not await self._routes.drain(probe, self._on_routed, deadline):
            return False
        return await self._records.drain(probe, self._on_record, deadline)

    def _on_routed(self, topic: str, record: ConsumerRecord[Any, Any]) -> None:
        try:
            self._scorecard.add_routed(read_routed(record.value))
        except UnreadableRecordError as exc:
            self._unreadable(topic, record, exc)

    def _on_record(self, topic: str, record: ConsumerRecord[Any, Any]) -> None:
        assert self._now is not None
        try:
            if topic == DECISIONS:
                self._scorecard.add_decision(read_decision(record.value))
            elif topic == OUTCOMES:
                self._scorecard.add_outcome(read_outcome(record.value), self._now)
            elif topic == CHECKS:
                self._scorecard.checks.add_request(record.value)
            elif topic == CHECK_RESPONSES:
                self._scorecard.checks.add_answer(record.value)
            else:
                self._scorecard.add_dead_letter(read_dead_letter(list(record.headers)))
        except UnreadableRecordError as exc:
            self._unreadable(topic, record, exc)

    def _unreadable(
        self, topic: str, record: ConsumerRecord[Any, Any], exc: UnreadableRecordError
    ) -> None:
        self._scorecard.unreadable += 1
        log.warning(
            "monitor_record_unreadable",
            topic=topic,
            partition=record.partition,
            offset=record.offset,
            error=str(exc)[:200],
        )
