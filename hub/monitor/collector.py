"""The collector: one call of :meth:`Collector.sample` is one sample of the whole hub.

A sample reads, for every route queue's team group (``team-<area>`` on
``route.<area>``) and for the router group (on the inbound topics and
``team.outcomes``), the committed and log offsets and the oldest unconsumed record;
feeds each partition's window of the status rules (:mod:`hub.monitor.evaluator`);
then reads the records committed since the last sample into the scorecard
(:mod:`hub.monitor.tail`). Windows and the scorecard live in memory: a restarted
monitor rebuilds the scorecard from Kafka and refills the windows in ``window``
samples.

The clock is injected, so tests drive the windows with sample calls instead of
waiting for real intervals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self
from zoneinfo import ZoneInfo

from hub.kafka import TopicPartition
from hub.monitor.evaluator import ConsumerStatus, LagSample, PartitionWindow, worst
from hub.monitor.lag import GroupOffsets, Head, LagProbe, PartitionOffsets
from hub.monitor.scorecard import Scorecard
from hub.monitor.snapshot import GroupLag, MonitorSnapshot, PartitionLag
from hub.monitor.tail import RecordTail
from hub.settings import KafkaSettings, MonitorSettings
from hub.topology import INBOUND_TOPICS, OUTCOMES, ROUTER_GROUP, route_topic, team_group
from schemas.common import Area

__all__ = ["Collector", "GroupTarget", "default_targets"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class GroupTarget:
    """A consumer group and the topics it must keep up with (logical names)."""

    name: str
    topics: tuple[str, ...]
    area: Area | None = None


def default_targets(areas: Sequence[Area] = tuple(Area)) -> tuple[GroupTarget, ...]:
    """Every area's team group on its route queue, then the router on its inputs."""
    teams = tuple(GroupTarget(team_group(a), (route_topic(a),), a) for a in areas)
    router = GroupTarget(ROUTER_GROUP, (*INBOUND_TOPICS, OUTCOMES))
    return (*teams, router)


class Collector:
    """Samples lag, consumer status and the scorecard; holds the windows between samples."""

    def __init__(
        self,
        kafka: KafkaSettings,
        monitor: MonitorSettings,
        zone: ZoneInfo,
        *,
        clock: Clock = _utc_now,
        areas: Sequence[Area] = tuple(Area),
        head_timeout_s: float = 3.0,
    ) -> None:
        self._kafka = kafka
        self._window = monitor.window
        self._clock = clock
        self._targets = default_targets(areas)
        self._probe = LagProbe(kafka, head_timeout_s=head_timeout_s)
        self._scorecard = Scorecard(zone)
        self._tail = RecordTail(kafka, self._scorecard, areas)
        self._windows: dict[tuple[str, TopicPartition], PartitionWindow] = {}

    async def __aenter__(self) -> Self:
        await self._probe.__aenter__()
        try:
            await self._tail.start()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._tail.stop()
        await self._probe.__aexit__()

    @property
    def targets(self) -> tuple[GroupTarget, ...]:
        """The groups this collector watches."""
        return self._targets

    async def sample(self, *, catch_up_budget_s: float = 30.0) -> MonitorSnapshot:
        """Take one sample now; raises a :class:`~hub.errors.KafkaError` when Kafka fails."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        now = self._clock()
        topics = sorted({self._kafka.topic(t) for target in self._targets for t in target.topics})
        known = await self._probe.partitions(topics)
        groups = [await self.group_lag(target, now, known) for target in self._targets]
        caught_up = await self._tail.catch_up(self._probe, now, catch_up_budget_s)
        return MonitorSnapshot(
            taken_at=now,
            duration_seconds=loop.time() - started,
            window=self._window,
            groups=tuple(groups),
            scorecard=self._scorecard.view(now, caught_up=caught_up),
        )

    async def group_lag(
        self,
        target: GroupTarget,
        now: datetime,
        known: Sequence[TopicPartition] | None = None,
    ) -> GroupLag:
        """Sample one group: offsets, oldest unconsumed records and the status rules.

        ``known`` are the partitions of every watched topic, when the caller has read
        them already; otherwise they are read here.
        """
        physical = self._kafka.group(target.name)
        topics = [self._kafka.topic(t) for t in target.topics]
        if known is None:
            partitions = await self._probe.partitions(topics)
        else:
            partitions = [tp for tp in known if tp.topic in topics]
        offsets = await self._probe.group(physical, partitions)
        heads = await self._probe.heads({p.tp: p.position for p in offsets.partitions if p.lag > 0})
        rows = tuple(self._partition(offsets, p, heads.get(p.tp), now) for p in offsets.partitions)
        windows = [self._windows[(physical, p.tp)] for p in offsets.partitions]
        return GroupLag(
            name=target.name,
            group=physical,
            area=target.area,
            topics=tuple(topics),
            state=offsets.state,
            members=offsets.members,
            status=worst(r.status for r in rows) if offsets.known else ConsumerStatus.NOTFOUND,
            samples=max((len(w.samples) for w in windows), default=0),
            lag=sum(r.lag for r in rows),
            lag_seconds=max((r.lag_seconds for r in rows), default=0.0),
            partitions=rows,
        )

    def _partition(
        self, group: GroupOffsets, offsets: PartitionOffsets, head: Head | None, now: datetime
    ) -> PartitionLag:
        lag_seconds = 0.0
        pending = offsets.lag
        if head is not None:
            if head.timestamp_ms is not None:
                lag_seconds = max(0.0, now.timestamp() - head.timestamp_ms / 1000)
            if head.drained:
                pending = 0  # only transaction markers left: nothing to consume
        window = self._windows.setdefault((group.group, offsets.tp), PartitionWindow(self._window))
        window.observe(LagSample(at=now, offset=offsets.committed, lag=pending))
        status = (
            window.status(consumers_present=group.members > 0)
            if group.known
            else ConsumerStatus.NOTFOUND
        )
        changed = window.last_change_at
        return PartitionLag(
            topic=offsets.tp.topic,
            partition=offsets.tp.partition,
            committed=offsets.committed,
            log_start=offsets.log_start,
            log_end=offsets.log_end,
            lag=offsets.lag,
            lag_seconds=lag_seconds,
            status=status,
            commit_age_seconds=(now - changed).total_seconds() if changed else None,
        )
