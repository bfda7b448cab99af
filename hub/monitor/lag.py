"""Reading consumer lag from Kafka, the way Kafka's own consumer-group tool does.

For each partition a group reads, lag in messages is the log-end offset (the high
watermark, as ``kafka-consumer-groups --describe`` lists it) minus the committed
offset, never below 0; a partition the group never committed counts from the log
start. Committed offsets are read before log-end offsets, in the tool's order, so a
commit landing between the two reads can only make the lag look smaller, and the
clamp hides that.

Lag in seconds is the age of the oldest unconsumed record: a group-less
``read_committed`` reader is assigned the partition, seeks to the committed offset
and reads one record's timestamp. Transaction markers and aborted records occupy
offsets that no ``read_committed`` consumer ever receives, so a partition can show a
lag of a message or two with nothing left to consume (the router commits the offset
of the marker after its last record); :class:`Head` says when that is so, and the
status rules then treat the lag as zero.

Every client is built by :mod:`hub.kafka`, and every aiokafka error is translated
there.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Self

from aiokafka import AIOKafkaConsumer

from hub.kafka import KafkaAdmin, TopicPartition, kafka_errors, make_consumer, partitions_of
from hub.settings import KafkaSettings

__all__ = ["GroupOffsets", "Head", "LagProbe", "PartitionOffsets"]


@dataclass(frozen=True)
class PartitionOffsets:
    """The offsets of one partition for one group."""

    tp: TopicPartition
    log_start: int
    log_end: int
    committed: int | None

    @property
    def position(self) -> int:
        """Where the group resumes: its committed offset, or the log start."""
        return self.committed if self.committed is not None else self.log_start

    @property
    def lag(self) -> int:
        """Messages between the group's position and the log end, at least 0."""
        return max(0, self.log_end - self.position)


@dataclass(frozen=True)
class Head:
    """The oldest unconsumed record of a partition, as a ``read_committed`` reader sees it."""

    timestamp_ms: int | None
    """Its timestamp; None when there is none or it could not be read in time."""
    drained: bool
    """True when nothing is left to consume (only markers or aborted records)."""


@dataclass(frozen=True)
class GroupOffsets:
    """What the cluster says about one group over its topics."""

    group: str
    state: str
    members: int
    partitions: tuple[PartitionOffsets, ...]

    @property
    def known(self) -> bool:
        """Whether the group exists: it has members or committed offsets."""
        return self.members > 0 or any(p.committed is not None for p in self.partitions)


class LagProbe:
    """An admin client and two group-less consumers, kept open between samples."""

    def __init__(self, kafka: KafkaSettings, *, head_timeout_s: float = 3.0) -> None:
        self._kafka = kafka
        self._head_timeout_s = head_timeout_s
        self._admin: KafkaAdmin | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Self:
        # Clients are built here, in the running loop, and only when they will be closed.
        self._admin = await KafkaAdmin(self._kafka, client_id="hub-monitor-admin").__aenter__()
        try:
            offsets = make_consumer(self._kafka, "hub-monitor-offsets", read_committed=False)
            await _start(offsets)
            self._offsets = offsets
            # A short fetch wait: an empty partition answers in 100 ms, not the default 500.
            reader = make_consumer(
                self._kafka, "hub-monitor-heads", read_committed=True, fetch_max_wait_ms=100
            )
            await _start(reader)
            self._reader = reader
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for consumer in (self._offsets, self._reader):
            if consumer is not None:
                await asyncio.shield(consumer.stop())
        if self._admin is not None:
            await self._admin.__aexit__()
        self._admin = self._offsets = self._reader = None

    @property
    def admin(self) -> KafkaAdmin:
        """The admin client (topics, groups, committed offsets); only while open."""
        if self._admin is None:
            raise RuntimeError("the probe is not open")
        return self._admin

    def _consumers(self) -> tuple[AIOKafkaConsumer, AIOKafkaConsumer]:
        if self._offsets is None or self._reader is None:
            raise RuntimeError("the probe is not open")
        return self._offsets, self._reader

    async def partitions(self, topics: list[str]) -> list[TopicPartition]:
        """Every partition of those ``topics`` (physical names) that exist.

        From the cluster metadata, which needs only what reading a topic needs (no
        DescribeConfigs ACL, unlike describing the topics).
        """
        offsets, _ = self._consumers()
        return await partitions_of(offsets, topics)

    async def group(self, group: str, partitions: list[TopicPartition]) -> GroupOffsets:
        """A group's state, members and offsets over ``partitions`` (physical names)."""
        committed = await self.admin.committed_offsets(group)
        state, members = await self.admin.describe_group(group)
        bounds = await self.log_bounds(partitions)
        return GroupOffsets(
            group=group,
            state=state,
            members=members,
            partitions=tuple(
                PartitionOffsets(tp, bounds[tp][0], bounds[tp][1], committed.get(tp))
                for tp in partitions
            ),
        )

    async def log_bounds(
        self, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, tuple[int, int]]:
        """The log start and log-end offsets (high watermark) of ``partitions``."""
        if not partitions:
            return {}
        offsets, _ = self._consumers()
        with kafka_errors("reading log offsets"):
            starts = await offsets.beginning_offsets(partitions)
            ends = await offsets.end_offsets(partitions)
        return {tp: (starts[tp], ends[tp]) for tp in partitions}

    async def heads(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, Head]:
        """The first committed record at or after each position: its timestamp."""
        if not positions:
            return {}
        _, reader = self._consumers()
        found: dict[TopicPartition, Head] = {}
        pending = set(positions)
        with kafka_errors("reading the oldest unconsumed records"):
            reader.assign(list(positions))
            for tp, offset in positions.items():
                reader.seek(tp, offset)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._head_timeout_s):
                    while pending:
                        await self._read_heads(reader, pending, found)
            reader.unsubscribe()  # no prefetching between samples
        return found | {tp: Head(timestamp_ms=None, drained=False) for tp in pending}

    @staticmethod
    async def _read_heads(
        reader: AIOKafkaConsumer,
        pending: set[TopicPartition],
        found: dict[TopicPartition, Head],
    ) -> None:
        batch = await reader.getmany(*pending, timeout_ms=100)
        for tp, records in batch.items():
            if tp in pending and records:
                found[tp] = Head(timestamp_ms=int(records[0].timestamp), drained=False)
                pending.discard(tp)
        for tp in list(pending):
            stable = reader.last_stable_offset(tp)
            if stable is not None and await reader.position(tp) >= stable:
                found[tp] = Head(timestamp_ms=None, drained=True)
                pending.discard(tp)


async def _start(consumer: AIOKafkaConsumer) -> None:
    with kafka_errors("starting the monitor's offset readers"):
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()  # a consumer that failed to start is still closed
            raise
