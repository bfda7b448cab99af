"""The scorecard's tally: undecided copies, SLA breaches, time to decision, shares."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from hub.monitor.scorecard import (
    ACTIONABLE,
    DeadLetter,
    Decided,
    OutcomeSeen,
    RoutedCopy,
    Scorecard,
)
from schemas.common import Area, Partner

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def copy(
    area: Area = Area.MASH,
    *,
    message_id: UUID | None = None,
    routed_ago: timedelta = HOUR,
    due_in: timedelta | None = 3 * HOUR,
    partner: Partner = Partner.POLICE,
    quality: int = 90,
    counts_quality: bool = True,
) -> RoutedCopy:
    routed_at = NOW - routed_ago
    return RoutedCopy(
        message_id=message_id or uuid.uuid4(),
        area=area,
        partner=partner,
        received_at=routed_at,
        routed_at=routed_at,
        due_by=None if due_in is None else NOW + due_in,
        quality_score=quality,
        counts_quality=counts_quality,
    )


def outcome_for(routed: RoutedCopy, decided_at: datetime, *, carry: bool = True) -> OutcomeSeen:
    return OutcomeSeen(
        message_id=routed.message_id,
        area=routed.area,
        decided_at=decided_at,
        routed_at=routed.routed_at if carry else None,
        due_by=routed.due_by if carry else None,
    )


def decision(
    partner: Partner,
    *destinations: Area,
    reasons: tuple[str, ...] = (),
    received_at: datetime = NOW,
) -> Decided:
    return Decided(partner, received_at, destinations, reasons)


@pytest.fixture
def card() -> Scorecard:
    return Scorecard(LONDON)


class TestUndecided:
    def test_routed_copies_wait_until_their_area_decides(self, card: Scorecard) -> None:
        """A copy is undecided until an outcome for that message and area is read."""
        mash, early = copy(Area.MASH), copy(Area.EARLY_HELP, routed_ago=5 * HOUR)
        for c in (mash, early):
            card.add_routed(c)
        card.add_outcome(outcome_for(mash, NOW), NOW)
        flows = {a.area: a for a in card.view(NOW).areas}
        assert flows[Area.MASH].undecided == 0
        assert flows[Area.EARLY_HELP].undecided == 1
        assert flows[Area.EARLY_HELP].oldest_undecided_seconds == 5 * 3600

    def test_an_outcome_for_another_area_does_not_decide(self, card: Scorecard) -> None:
        """One message routed to two areas needs an outcome from each."""
        message = uuid.uuid4()
        mash, da = copy(Area.MASH, message_id=message), copy(Area.DA_TRIAGE, message_id=message)
        card.add_routed(mash)
        card.add_routed(da)
        card.add_outcome(outcome_for(da, NOW), NOW)
        assert card.undecided(Area.MASH) == 1
        assert card.undecided(Area.DA_TRIAGE) == 0

    def test_encompass_notices_of_one_message_are_one_copy(self, card: Scorecard) -> None:
        """Several notices (one per child) are one thing to decide."""
        message = uuid.uuid4()
        for _ in range(3):
            card.add_routed(copy(Area.ENCOMPASS, message_id=message, counts_quality=False))
        assert card.undecided(Area.ENCOMPASS) == 1

    def test_record_only_and_returned_wait_for_nobody(self, card: Scorecard) -> None:
        """Areas without a clock are never undecided and have no row."""
        card.add_routed(copy(Area.RECORD_ONLY, due_in=None))
        card.add_routed(copy(Area.RETURNED, due_in=None))
        assert {a.area for a in card.view(NOW).areas} == set(ACTIONABLE)
        assert sum(a.undecided for a in card.view(NOW).areas) == 0

    def test_an_outcome_read_before_its_copy_still_decides_it(self, card: Scorecard) -> None:
        """Topics are read apart: a recent outcome waits for its copy."""
        routed = copy(Area.LADO)
        card.add_outcome(outcome_for(routed, NOW - timedelta(minutes=1)), NOW)
        card.add_routed(routed)
        assert card.undecided(Area.LADO) == 0

    def test_an_old_outcome_without_a_copy_is_only_counted(self, card: Scorecard) -> None:
        """Outcomes whose copies retention deleted are counted, not kept."""
        routed = copy(Area.LADO, routed_ago=40 * 24 * HOUR, due_in=None)
        card.add_outcome(outcome_for(routed, NOW - 39 * 24 * HOUR), NOW)
        assert card._waiting == {}
        assert card.view(NOW).areas[ACTIONABLE.index(Area.LADO)].decided == 1

    def test_waiting_outcomes_are_forgotten_after_the_grace(self) -> None:
        """Memory stays bounded: an outcome whose copy never comes is dropped."""
        card = Scorecard(LONDON, grace=timedelta(minutes=10))
        card.add_outcome(outcome_for(copy(), NOW), NOW)
        card.view(NOW + timedelta(minutes=5))
        assert len(card._waiting) == 1
        card.view(NOW + timedelta(minutes=10))
        assert card._waiting == {}


class TestSlaBreaches:
    def test_undecided_past_due_and_decided_late_both_count(self, card: Scorecard) -> None:
        """Breaches are copies still open past due_by plus outcomes after due_by."""
        overdue = copy(routed_ago=5 * HOUR, due_in=-HOUR)
        open_on_time = copy(due_in=HOUR)
        late = copy(routed_ago=6 * HOUR, due_in=-2 * HOUR)
        on_time = copy(routed_ago=2 * HOUR, due_in=HOUR)
        for c in (overdue, open_on_time, late, on_time):
            card.add_routed(c)
        card.add_outcome(outcome_for(late, NOW - HOUR), NOW)  # an hour after due
        card.add_outcome(outcome_for(on_time, NOW - HOUR), NOW)
        breaches = card.breaches(Area.MASH, NOW)
        assert (breaches.overdue, breaches.decided_late, breaches.total) == (1, 1, 2)
        mash = card.view(NOW).areas[0]
        assert (mash.undecided, mash.overdue, mash.decided, mash.sla_breaches) == (2, 1, 2, 2)

    def test_due_exactly_now_is_overdue(self, card: Scorecard) -> None:
        """The clock is overdue from due_by on (hub.sla's convention)."""
        card.add_routed(copy(due_in=timedelta(0)))
        assert card.breaches(Area.MASH, NOW).overdue == 1

    def test_the_copys_due_time_serves_an_outcome_without_one(self, card: Scorecard) -> None:
        """An outcome that carries no due_by is judged by its copy's."""
        routed = copy(routed_ago=5 * HOUR, due_in=-HOUR)
        card.add_routed(routed)
        card.add_outcome(outcome_for(routed, NOW, carry=False), NOW)
        assert card.breaches(Area.MASH, NOW).decided_late == 1
        assert card.view(NOW).areas[0].time_to_decision_p50_seconds == 5 * 3600

    def test_no_clock_no_breach(self, card: Scorecard) -> None:
        """A copy without a due_by is never overdue."""
        card.add_routed(copy(due_in=None, routed_ago=100 * HOUR))
        assert card.breaches(Area.MASH, NOW).total == 0


class TestTimeToDecision:
    def test_percentiles_per_area(self, card: Scorecard) -> None:
        """p50 and p90 of decided_at minus routed_at, per area."""
        for hours in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10):
            routed = copy(Area.DA_TRIAGE, routed_ago=hours * HOUR)
            card.add_routed(routed)
            card.add_outcome(outcome_for(routed, NOW), NOW)
        da = next(a for a in card.view(NOW).areas if a.area is Area.DA_TRIAGE)
        assert da.time_to_decision_p50_seconds == pytest.approx(5.5 * 3600)
        assert da.time_to_decision_p90_seconds == pytest.approx(9.1 * 3600)
        mash = next(a for a in card.view(NOW).areas if a.area is Area.MASH)
        assert mash.time_to_decision_p50_seconds is None

    def test_only_recent_durations_are_kept(self) -> None:
        """The sample of durations is bounded."""
        card = Scorecard(LONDON, ttd_samples=3)
        for hours in (100, 1, 1, 1):
            routed = copy(routed_ago=hours * HOUR)
            card.add_routed(routed)
            card.add_outcome(outcome_for(routed, NOW), NOW)
        assert card.view(NOW).areas[0].time_to_decision_p90_seconds == 3600


class TestShares:
    def test_police_kept_from_the_mash(self, card: Scorecard) -> None:
        """The share of police messages not routed to the MASH; other partners don't count."""
        card.add_decision(decision(Partner.POLICE, Area.MASH, Area.DA_TRIAGE))
        card.add_decision(decision(Partner.POLICE, Area.RECORD_ONLY))
        card.add_decision(decision(Partner.POLICE, Area.ADULT_SERVICES))
        card.add_decision(decision(Partner.POLICE, Area.DA_TRIAGE, Area.ENCOMPASS))
        card.add_decision(decision(Partner.HEALTH, Area.EARLY_HELP))
        view = card.view(NOW)
        assert (view.police_messages, view.police_kept_from_mash) == (4, 3)
        assert view.police_kept_from_mash_ratio == 0.75

    def test_no_police_messages_no_share(self, card: Scorecard) -> None:
        """With no police messages the share is undefined, not zero."""
        card.add_decision(decision(Partner.HEALTH, Area.MASH))
        assert card.view(NOW).police_kept_from_mash_ratio is None

    def test_returned_rate_and_top_reasons(self, card: Scorecard) -> None:
        """Returned rate per partner, reasons most frequent first."""
        no_consent, no_child = "no consent recorded", "no child identified"
        card.add_decision(decision(Partner.HOUSING, Area.RETURNED, reasons=(no_consent,)))
        card.add_decision(decision(Partner.HOUSING, Area.RETURNED, reasons=(no_consent,)))
        card.add_decision(decision(Partner.HOUSING, Area.RETURNED, reasons=(no_child,)))
        card.add_decision(decision(Partner.HOUSING, Area.HOUSING))
        housing = next(p for p in card.view(NOW).partners if p.partner is Partner.HOUSING)
        assert (housing.messages, housing.returned, housing.returned_ratio) == (4, 3, 0.75)
        assert [(r.reason, r.count) for r in housing.top_returned_reasons] == [
            (no_consent, 2),
            (no_child, 1),
        ]

    def test_quality_average_counts_one_copy_per_message(self, card: Scorecard) -> None:
        """The data-quality score is averaged over messages, not copies."""
        card.add_routed(copy(Area.MASH, quality=80))
        card.add_routed(copy(Area.ENCOMPASS, quality=80, counts_quality=False))
        card.add_routed(copy(Area.RECORD_ONLY, quality=100, due_in=None))
        police = next(p for p in card.view(NOW).partners if p.partner is Partner.POLICE)
        assert police.quality_score_average == 90
        health = next(p for p in card.view(NOW).partners if p.partner is Partner.HEALTH)
        assert health.quality_score_average is None


class TestVolumesAndDeadLetters:
    def test_volume_per_partner_per_local_day(self, card: Scorecard) -> None:
        """Days are London days: 23:30 UTC in summer is already tomorrow."""
        summer_night = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
        card.add_decision(decision(Partner.POLICE, Area.MASH, received_at=summer_night))
        card.add_decision(decision(Partner.POLICE, Area.RETURNED, received_at=summer_night))
        card.add_decision(decision(Partner.HEALTH, Area.MASH, received_at=summer_night))
        days = card.view(datetime(2026, 7, 10, tzinfo=UTC)).days
        assert [(d.day, d.partner, d.messages, d.returned) for d in days] == [
            (date(2026, 7, 2), Partner.POLICE, 2, 1),
            (date(2026, 7, 2), Partner.HEALTH, 1, 0),
        ]

    def test_only_recent_days_are_kept(self) -> None:
        """Days older than the shown range are dropped."""
        card = Scorecard(LONDON, days_shown=7)
        card.add_decision(decision(Partner.POLICE, Area.MASH, received_at=NOW - 10 * 24 * HOUR))
        card.add_decision(decision(Partner.POLICE, Area.MASH, received_at=NOW))
        assert [d.day for d in card.view(NOW).days] == [date(2026, 11, 25)]
        assert card.view(NOW).partners[0].messages == 2  # the totals keep everything

    def test_dead_letters_by_class_and_signature_failures(self, card: Scorecard) -> None:
        """DLQ count per error class; SignatureError is also the alert figure."""
        for cls in ("SignatureError", "SchemaViolationError", "SignatureError"):
            card.add_dead_letter(DeadLetter(cls))
        view = card.view(NOW)
        assert view.dlq_messages == 3
        assert view.signature_failures == 2
        assert view.dlq_by_error_class == {"SchemaViolationError": 1, "SignatureError": 2}


class TestAuthorisation:
    def test_threshold_decisions_wait_until_a_manager_authorises(self, card: Scorecard) -> None:
        """A MASH no-further-action waits; its authorisation stops the wait and is timed."""
        routed = copy(Area.MASH)
        card.add_routed(routed)
        decided_id = uuid.uuid4()
        waiting = dataclasses.replace(
            outcome_for(routed, NOW - 2 * HOUR), outcome_id=decided_id, needs_authorisation=True
        )
        card.add_outcome(waiting, NOW - 2 * HOUR)
        (mash,) = [a for a in card.view(NOW).areas if a.area is Area.MASH]
        assert mash.awaiting_authorisation == 1
        assert mash.oldest_awaiting_authorisation_seconds == 2 * 3600
        authorised = dataclasses.replace(
            outcome_for(routed, NOW), outcome_id=uuid.uuid4(), authorises=decided_id
        )
        card.add_outcome(authorised, NOW)
        (mash,) = [a for a in card.view(NOW).areas if a.area is Area.MASH]
        assert mash.awaiting_authorisation == 0
        assert mash.time_to_authorisation_p50_seconds == 2 * 3600
        assert mash.decided == 1  # the authorisation is not a second decision
