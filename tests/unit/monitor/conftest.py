"""A snapshot of a small, busy hub for the presentation tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.scorecard import DeadLetter, Decided, OutcomeSeen, RoutedCopy, Scorecard
from hub.monitor.snapshot import GroupLag, MonitorSnapshot, PartitionLag
from schemas.common import Area, Partner

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _group(area: Area | None, status: ConsumerStatus, lags: list[int]) -> GroupLag:
    name = f"team-{area.value}" if area else "router"
    topic = f"route.{area.value}" if area else "partner.police.inbound"
    partitions = tuple(
        PartitionLag(
            topic=topic,
            partition=i,
            committed=10 if lag < 100 else None,
            log_start=0,
            log_end=10 + lag,
            lag=lag,
            lag_seconds=lag * 60.0,
            status=status if lag else ConsumerStatus.OK,
            commit_age_seconds=30.0,
        )
        for i, lag in enumerate(lags)
    )
    return GroupLag(
        name=name,
        group=name,
        area=area,
        topics=(topic,),
        state="Stable" if status is not ConsumerStatus.NOTFOUND else "Dead",
        members=1,
        status=status,
        samples=3,
        lag=sum(lags),
        lag_seconds=max(lags) * 60.0,
        partitions=partitions,
    )


@pytest.fixture
def snapshot() -> MonitorSnapshot:
    card = Scorecard(ZoneInfo("Europe/London"))
    for hours, area in ((30, Area.MASH), (2, Area.MASH), (5, Area.EARLY_HELP)):
        routed_at = NOW - timedelta(hours=hours)
        card.add_routed(
            RoutedCopy(
                uuid.uuid4(),
                area,
                Partner.POLICE,
                routed_at,
                routed_at,
                routed_at + timedelta(hours=8),
                80,
                True,
            )
        )
    decided = RoutedCopy(
        uuid.uuid4(),
        Area.MASH,
        Partner.HEALTH,
        NOW - timedelta(hours=9),
        NOW - timedelta(hours=9),
        NOW - timedelta(hours=1),
        100,
        True,
    )
    card.add_routed(decided)
    card.add_outcome(
        OutcomeSeen(decided.message_id, Area.MASH, NOW, decided.routed_at, decided.due_by), NOW
    )
    for day in range(3):
        received = NOW - timedelta(days=day)
        card.add_decision(Decided(Partner.POLICE, received, (Area.MASH,), ()))
        card.add_decision(Decided(Partner.POLICE, received, (Area.RECORD_ONLY,), ()))
        card.add_decision(
            Decided(Partner.HOUSING, received, (Area.RETURNED,), ("No consent <recorded>",))
        )
    card.add_dead_letter(DeadLetter("SignatureError"))
    groups = (
        _group(Area.MASH, ConsumerStatus.STOP, [3, 0, 120]),
        _group(Area.EARLY_HELP, ConsumerStatus.OK, [0, 0, 0]),
        _group(Area.LADO, ConsumerStatus.NOTFOUND, [0]),
        _group(None, ConsumerStatus.WARN, [2, 1]),
    )
    return MonitorSnapshot(
        taken_at=NOW, duration_seconds=0.4, window=10, groups=groups, scorecard=card.view(NOW)
    )
