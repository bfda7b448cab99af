"""The scorecard's tally: routed copies, decisions, outcomes and dead letters, in memory.

Pure and bounded. Per message it keeps only what is still open: a routed copy waits
(its routed and due times) until its area records an outcome, then it is dropped and
only counted. Everything else is a count per area, per partner or per local day, and
time to decision keeps the most recent durations per area (``ttd_samples``).

Copies and outcomes come from different topics, so an outcome can be read before
the copy it answers. Such an outcome waits, keyed by message and area, for
``grace``; a copy that finds it is never counted as undecided. Outcomes older than
the grace whose copy is unknown answer copies that retention has deleted, and are
only counted. The collector reads route topics before outcomes in every sample, so
an old copy and its old outcome always meet in the right order.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from hub.errors import SIGNATURE_FAILURES
from hub.monitor.checkboard import CheckBoard
from hub.monitor.snapshot import AreaFlow, DayVolume, PartnerQuality, ReasonCount, ScorecardView
from hub.monitor.stats import percentile, ratio
from schemas.common import Area, Partner

__all__ = [
    "ACTIONABLE",
    "DeadLetter",
    "Decided",
    "OutcomeSeen",
    "RoutedCopy",
    "Scorecard",
    "SlaBreaches",
]

ACTIONABLE: tuple[Area, ...] = tuple(a for a in Area if a not in {Area.RECORD_ONLY, Area.RETURNED})
"""Areas a team must act on; ``record-only`` and ``returned`` have no clock and no queue work."""

_TOP_REASONS = 5
_MAX_REASONS = 200  # distinct reasons come from the policy file; a cap guards memory anyway
_OTHER_REASON = "(other reasons)"
_PARTNER_ORDER = {p: i for i, p in enumerate(Partner)}


@dataclass(frozen=True)
class RoutedCopy:
    """What the scorecard keeps of a record on ``route.<area>``."""

    message_id: UUID
    area: Area
    partner: Partner
    received_at: datetime
    routed_at: datetime
    due_by: datetime | None
    quality_score: int
    counts_quality: bool
    """True for one copy per message (its first non-Encompass destination)."""


@dataclass(frozen=True)
class Decided:
    """What the scorecard keeps of a record on ``hub.decisions``."""

    partner: Partner
    received_at: datetime
    destinations: tuple[Area, ...]
    returned_reasons: tuple[str, ...]
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutcomeSeen:
    """What the scorecard keeps of a record on ``team.outcomes``."""

    message_id: UUID
    area: Area
    decided_at: datetime
    routed_at: datetime | None
    due_by: datetime | None
    outcome_id: UUID | None = None
    needs_authorisation: bool = False
    """A MASH threshold decision: it waits for a manager's authorisation."""
    authorises: UUID | None = None
    """Set on a manager's authorisation (or return): the decision's outcome id."""


@dataclass(frozen=True)
class DeadLetter:
    """A record on ``hub.dlq``: only its error class matters here."""

    error_class: str


@dataclass(frozen=True)
class SlaBreaches:
    """One area's breaches: still open past due, and decided after due."""

    overdue: int
    decided_late: int

    @property
    def total(self) -> int:
        """Both kinds together."""
        return self.overdue + self.decided_late


@dataclass(frozen=True)
class _Open:
    routed_at: datetime
    due_by: datetime | None


TIME_TO_DECISION_BUCKETS_S: tuple[float, ...] = (
    3600.0,
    4 * 3600.0,
    8 * 3600.0,
    24 * 3600.0,
    2 * 86400.0,
    3 * 86400.0,
    5 * 86400.0,
    10 * 86400.0,
)
"""Upper bounds of the time-to-decision histogram: 1 h, 4 h, 8 h, 1 to 10 days (SLA scale)."""


@dataclass
class _AreaTally:
    open: dict[UUID, _Open] = field(default_factory=dict)
    decided: int = 0
    decided_late: int = 0
    durations: deque[float] = field(default_factory=deque)
    bucket_counts: list[int] = field(default_factory=lambda: [0] * len(TIME_TO_DECISION_BUCKETS_S))
    timed: int = 0
    timed_sum: float = 0.0
    awaiting: dict[UUID, datetime] = field(default_factory=dict)
    to_authorisation: deque[float] = field(default_factory=lambda: deque(maxlen=1000))

    def observe(self, seconds: float) -> None:
        self.durations.append(seconds)
        self.timed += 1
        self.timed_sum += seconds
        index = bisect.bisect_left(TIME_TO_DECISION_BUCKETS_S, seconds)
        if index < len(self.bucket_counts):
            self.bucket_counts[index] += 1

    def cumulative(self) -> tuple[int, ...]:
        return tuple(itertools.accumulate(self.bucket_counts))


@dataclass
class _PartnerTally:
    messages: int = 0
    returned: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    quality_sum: int = 0
    quality_count: int = 0


@dataclass
class _DayTally:
    messages: int = 0
    returned: int = 0


class Scorecard:
    """Counts and open copies, fed record by record; :meth:`view` summarises them."""

    def __init__(
        self,
        zone: ZoneInfo,
        *,
        grace: timedelta = timedelta(hours=1),
        ttd_samples: int = 10_000,
        days_shown: int = 31,
    ) -> None:
        self._zone = zone
        self._grace = grace
        self._days_shown = days_shown
        self._areas = {a: _AreaTally(durations=deque(maxlen=ttd_samples)) for a in ACTIONABLE}
        self._partners = {p: _PartnerTally() for p in Partner}
        self._days: dict[tuple[date, Partner], _DayTally] = {}
        self._waiting: dict[tuple[UUID, Area], datetime] = {}
        self._police = 0
        self._police_kept = 0
        self._dead_letters: Counter[str] = Counter()
        self._rules: Counter[str] = Counter()
        self.unreadable = 0
        self.checks = CheckBoard()

    # ------------------------------------------------------------------ feed
    def add_routed(self, copy: RoutedCopy) -> None:
        """A routed copy was read."""
        if copy.counts_quality:
            tally = self._partners[copy.partner]
            tally.quality_sum += copy.quality_score
            tally.quality_count += 1
        area = self._areas.get(copy.area)
        if area is None or (copy.message_id, copy.area) in self._waiting:
            return
        # Several Encompass notices of one message are one copy to decide.
        area.open.setdefault(copy.message_id, _Open(copy.routed_at, copy.due_by))

    def add_decision(self, decision: Decided) -> None:
        """A decision record was read."""
        tally = self._partners[decision.partner]
        tally.messages += 1
        self._rules.update(decision.rules)
        key = (self._local_day(decision.received_at), decision.partner)
        day = self._days.setdefault(key, _DayTally())
        day.messages += 1
        if Area.RETURNED in decision.destinations:
            tally.returned += 1
            day.returned += 1
            for reason in decision.returned_reasons or ("(no reason given)",):
                known = reason in tally.reasons or len(tally.reasons) < _MAX_REASONS
                tally.reasons[reason if known else _OTHER_REASON] += 1
        if decision.partner is Partner.POLICE:
            self._police += 1
            if Area.MASH not in decision.destinations:
                self._police_kept += 1

    def add_outcome(self, outcome: OutcomeSeen, now: datetime) -> None:
        """A team outcome was read at ``now``."""
        area = self._areas.get(outcome.area)
        if area is None:
            return
        if outcome.authorises is not None:
            decided_at = area.awaiting.pop(outcome.authorises, None)
            if decided_at is not None:
                waited = (outcome.decided_at - decided_at).total_seconds()
                area.to_authorisation.append(max(0.0, waited))
            return
        if outcome.needs_authorisation and outcome.outcome_id is not None:
            area.awaiting[outcome.outcome_id] = outcome.decided_at
        opened = area.open.pop(outcome.message_id, None)
        if opened is None and now - outcome.decided_at < self._grace:
            self._waiting[(outcome.message_id, outcome.area)] = now
        routed_at = outcome.routed_at or (opened.routed_at if opened else None)
        due = outcome.due_by or (opened.due_by if opened else None)
        area.decided += 1
        if due is not None and outcome.decided_at > due:
            area.decided_late += 1
        if routed_at is not None:
            area.observe(max(0.0, (outcome.decided_at - routed_at).total_seconds()))

    def add_dead_letter(self, letter: DeadLetter) -> None:
        """A dead-letter record was read."""
        self._dead_letters[letter.error_class] += 1

    # ------------------------------------------------------------------ queries
    def undecided(self, area: Area) -> int:
        """Routed copies of ``area`` with no outcome yet."""
        return len(self._areas[area].open)

    def breaches(self, area: Area, now: datetime) -> SlaBreaches:
        """SLA breaches of ``area`` at ``now``."""
        tally = self._areas[area]
        overdue = sum(1 for o in tally.open.values() if o.due_by is not None and o.due_by <= now)
        return SlaBreaches(overdue=overdue, decided_late=tally.decided_late)

    def view(self, now: datetime, *, caught_up: bool = True) -> ScorecardView:
        """Summarise everything read so far, as of ``now``."""
        self._forget_waiting(now)
        return ScorecardView(
            areas=tuple(self._area_flow(a, now) for a in ACTIONABLE),
            partners=tuple(self._partner_quality(p) for p in Partner),
            days=self._day_volumes(now),
            police_messages=self._police,
            police_kept_from_mash=self._police_kept,
            police_kept_from_mash_ratio=ratio(self._police_kept, self._police),
            decisions_by_rule=dict(sorted(self._rules.items())),
            dlq_messages=sum(self._dead_letters.values()),
            dlq_by_error_class=dict(sorted(self._dead_letters.items())),
            signature_failures=sum(self._dead_letters[c] for c in SIGNATURE_FAILURES),
            unreadable_records=self.unreadable + self.checks.unreadable,
            caught_up=caught_up,
            checks=self.checks.view(now),
        )

    def _forget_waiting(self, now: datetime) -> None:
        expired = [k for k, seen in self._waiting.items() if now - seen >= self._grace]
        for key in expired:
            del self._waiting[key]

    def _area_flow(self, area: Area, now: datetime) -> AreaFlow:
        tally = self._areas[area]
        oldest = min((o.routed_at for o in tally.open.values()), default=None)
        breaches = self.breaches(area, now)
        return AreaFlow(
            area=area,
            undecided=len(tally.open),
            oldest_undecided_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
            overdue=breaches.overdue,
            decided=tally.decided,
            decided_late=breaches.decided_late,
            sla_breaches=breaches.total,
            time_to_decision_p50_seconds=percentile(tally.durations, 50),
            time_to_decision_p90_seconds=percentile(tally.durations, 90),
            time_to_decision_buckets=tally.cumulative(),
            time_to_decision_count=tally.timed,
            time_to_decision_sum_seconds=tally.timed_sum,
            awaiting_authorisation=len(tally.awaiting),
            oldest_awaiting_authorisation_seconds=max(
                0.0, (now - min(tally.awaiting.values())).total_seconds()
            )
            if tally.awaiting
            else 0.0,
            time_to_authorisation_p50_seconds=percentile(tally.to_authorisation, 50),
            authorised=len(tally.to_authorisation),
        )

    def _partner_quality(self, partner: Partner) -> PartnerQuality:
        tally = self._partners[partner]
        return PartnerQuality(
            partner=partner,
            messages=tally.messages,
            returned=tally.returned,
            returned_ratio=ratio(tally.returned, tally.messages),
            top_returned_reasons=tuple(
                ReasonCount(reason=r, count=n) for r, n in tally.reasons.most_common(_TOP_REASONS)
            ),
            quality_score_average=(
                tally.quality_sum / tally.quality_count if tally.quality_count else None
            ),
            quality_score_sum=tally.quality_sum,
            quality_scored=tally.quality_count,
        )

    def _day_volumes(self, now: datetime) -> tuple[DayVolume, ...]:
        first = self._local_day(now) - timedelta(days=self._days_shown - 1)
        for key in [k for k in self._days if k[0] < first]:
            del self._days[key]  # keeps memory bounded; older days are not shown
        return tuple(
            DayVolume(
                day=day,
                partner=partner,
                messages=t.messages,
                returned=t.returned,
                returned_ratio=ratio(t.returned, t.messages),
            )
            for (day, partner), t in sorted(self._days.items(), key=_day_order)
        )

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()


def _day_order(item: tuple[tuple[date, Partner], _DayTally]) -> tuple[date, int]:
    (day, partner), _ = item
    return day, _PARTNER_ORDER[partner]
