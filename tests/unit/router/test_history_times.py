"""The history windows are exact to the microsecond, whatever offset a time carries.

The router compares each shown contact's times as whole microseconds since the epoch
(:func:`hub.router.history.epoch_us`) rather than as aware datetimes: these tests pin
the windows' edges (twelve months, three months, the 48-hour link window), so the
faster comparison must count exactly what the datetime comparison counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from hub.router.chronology import Related, chronology_json
from hub.router.history import (
    LINK_WINDOW,
    QUARTER,
    YEAR,
    Contact,
    SubjectState,
    epoch_us,
    summarise,
)
from schemas.chronology import Chronology
from schemas.envelope import RoutingMetadata, split_envelope
from tests.factories import NOW, envelope

MICRO = timedelta(microseconds=1)
PLUS_ONE = timezone(timedelta(hours=1))
Shift = Callable[[datetime], datetime]


def meta_at(at: datetime, kind: str = "police.notification.child_concern") -> RoutingMetadata:
    env = envelope(kind=kind, occurred_at=at, reported_at=at, received_at=at)
    return split_envelope(env)[0]


def contact(
    occurred: datetime, partner: str = "police", kind: str = "police.notification.child_concern"
) -> Contact:
    return Contact(
        message_id=str(uuid.uuid4()),
        occurred_at=occurred,
        kind=kind,
        partner=partner,
        level="standard",
        destinations=("early-help",),
        received_at=occurred,
    )


def as_utc(at: datetime) -> datetime:
    return at


def in_plus_one(at: datetime) -> datetime:
    """The same instant written with a +01:00 offset."""
    return at.astimezone(PLUS_ONE)


class TestEpochMicroseconds:
    def test_one_instant_in_two_offsets_is_one_number(self) -> None:
        assert epoch_us(NOW) == epoch_us(in_plus_one(NOW))

    def test_a_microsecond_apart_is_one_apart(self) -> None:
        assert epoch_us(NOW + MICRO) - epoch_us(NOW) == 1


@pytest.mark.parametrize("shift", [as_utc, in_plus_one], ids=["utc", "plus-one"])
class TestWindowEdges:
    def test_twelve_months_to_the_microsecond(self, shift: Shift) -> None:
        edge = contact(shift(NOW - YEAR))
        outside = contact(shift(NOW - YEAR - MICRO))
        summary = summarise(meta_at(NOW), SubjectState(), [edge, outside])
        assert summary.contacts_12m == 2  # the edge contact and the message itself
        assert summary.contacts_by_partner_12m == {"police": 1}

    def test_three_months_to_the_microsecond(self, shift: Shift) -> None:
        edge = contact(shift(NOW - QUARTER))
        outside = contact(shift(NOW - QUARTER - MICRO))
        summary = summarise(meta_at(NOW), SubjectState(), [edge, outside])
        assert summary.low_level_3m == 2  # the edge contact and the (standard) message

    def test_the_link_window_to_the_microsecond(self, shift: Shift) -> None:
        da = "domestic_abuse.dash_assessment"
        edge = contact(shift(NOW - LINK_WINDOW), "domestic-abuse", da)
        late = contact(shift(NOW + LINK_WINDOW + MICRO), "domestic-abuse", da)
        meta = meta_at(NOW, "police.notification.domestic_abuse")
        assert summarise(meta, SubjectState(), [late]).linked_message_id is None
        linked = summarise(meta, SubjectState(), [late, edge]).linked_message_id
        assert str(linked) == edge.message_id

    def test_the_chronology_counts_twelve_months_to_the_microsecond(self, shift: Shift) -> None:
        edge = contact(shift(NOW - YEAR))
        outside = contact(shift(NOW - YEAR - MICRO))
        related = [Related(edge, same_child=True), Related(outside, same_child=False)]
        chronology = Chronology.model_validate_json(chronology_json(related, meta_at(NOW)))
        assert chronology.totals.contacts_12m == 1
        assert chronology.totals.same_child_12m == 1
        assert chronology.totals.household_12m == 0
        assert len(chronology.contacts) == 2  # shown, but outside the twelve-month totals


def test_the_newest_contact_is_last_whatever_its_offset() -> None:
    """``last_contact_at`` picks by instant, not by the written clock time."""
    earlier_but_later_clock = contact(in_plus_one(NOW - timedelta(minutes=30)))
    later = contact(NOW - timedelta(minutes=10))
    summary = summarise(meta_at(NOW), SubjectState(), [later, earlier_but_later_clock])
    assert summary.last_contact_at == later.occurred_at
