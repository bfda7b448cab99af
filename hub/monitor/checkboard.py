"""Agency checks as the monitor sees them (DESIGN.md section 17).

Open and overdue checks per partner and urgency, and each partner's response times
and overdue rate.

Read from the clear metadata of ``hub.checks`` and ``hub.check-responses`` (the monitor
holds no key: the question, the people and the answer stay sealed). The first answer
of a check counts; an answer read before its request waits for it. Response times
are elapsed time from asked to answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from hub.monitor.stats import percentile, ratio
from schemas.answer import Answer
from schemas.checks import CheckPartner, Urgency


class _Seen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    check_id: UUID
    partner: CheckPartner
    urgency: Urgency
    asked_at: AwareDatetime
    due_by: AwareDatetime
    answered_at: AwareDatetime | None = None


class OpenChecks(Answer):
    """Open checks of one partner at one urgency."""

    partner: CheckPartner = Field(description="The partner asked.")
    urgency: Urgency = Field(description="red, amber or green.")
    open: int = Field(description="Checks not answered yet.")
    overdue: int = Field(description="Of which past their deadline.")


class PartnerResponses(Answer):
    """One partner's line of the scorecard for agency checks."""

    partner: CheckPartner = Field(description="The partner.")
    asked: int = Field(description="Checks asked of it.")
    answered: int = Field(description="Of which answered.")
    response_median_seconds: float | None = Field(description="Median time to answer.")
    response_p90_seconds: float | None = Field(description="90th percentile time to answer.")
    overdue: int = Field(description="Answered late, or open past the deadline.")
    overdue_ratio: float | None = Field(description="overdue / asked; None when none asked.")


class ChecksView(Answer):
    """Agency checks: open and overdue, and partners' response times."""

    open: tuple[OpenChecks, ...] = Field(default=(), description="Per partner and urgency.")
    partners: tuple[PartnerResponses, ...] = Field(default=(), description="Per partner.")


@dataclass
class CheckBoard:
    """Every check and answer read so far."""

    asked: dict[UUID, _Seen] = field(default_factory=dict)
    answers: dict[UUID, datetime] = field(default_factory=dict)
    unreadable: int = 0

    def add_request(self, value: bytes | None) -> None:
        """A ``hub.checks`` record (a replay changes nothing)."""
        seen = self._read(value)
        if seen is not None:
            self.asked.setdefault(seen.check_id, seen)

    def add_answer(self, value: bytes | None) -> None:
        """A ``hub.check-responses`` record; the first answer of a check counts."""
        seen = self._read(value)
        if seen is not None and seen.answered_at is not None:
            self.answers.setdefault(seen.check_id, seen.answered_at)

    def _read(self, value: bytes | None) -> _Seen | None:
        try:
            return _Seen.model_validate_json(value or b"")
        except ValidationError:
            self.unreadable += 1
            return None

    def view(self, now: datetime) -> ChecksView:
        """Open and overdue per partner and urgency; response times per partner."""
        asked = {(s.partner, s.urgency) for s in self.asked.values()}
        return ChecksView(
            open=tuple(
                self._open(p, u, now) for p in CheckPartner for u in Urgency if (p, u) in asked
            ),
            partners=tuple(self._partner(p, now) for p in CheckPartner),
        )

    def _open(self, partner: CheckPartner, urgency: Urgency, now: datetime) -> OpenChecks:
        waiting = [
            s
            for s in self.asked.values()
            if s.partner is partner and s.urgency is urgency and s.check_id not in self.answers
        ]
        return OpenChecks(
            partner=partner,
            urgency=urgency,
            open=len(waiting),
            overdue=sum(1 for s in waiting if s.due_by <= now),
        )

    def _partner(self, partner: CheckPartner, now: datetime) -> PartnerResponses:
        mine = [s for s in self.asked.values() if s.partner is partner]
        times = [
            (self.answers[s.check_id] - s.asked_at).total_seconds()
            for s in mine
            if s.check_id in self.answers
        ]
        overdue = sum(1 for s in mine if (self.answers.get(s.check_id) or now) > s.due_by)
        return PartnerResponses(
            partner=partner,
            asked=len(mine),
            answered=len(times),
            response_median_seconds=percentile(times, 50),
            response_p90_seconds=percentile(times, 90),
            overdue=overdue,
            overdue_ratio=ratio(overdue, len(mine)),
        )
