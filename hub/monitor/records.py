"""Reading the monitor's inputs: record bytes in, the few facts the scorecard keeps out.

Decision and outcome records are parsed with their contracts (:mod:`schemas`), so a
contract change that breaks the monitor fails its tests. A routed copy is read through
a narrow view that ignores the sealed payload: the monitor needs its area, message,
times and quality score, and never the content. Anything unreadable raises
:class:`UnreadableRecordError` and is counted, never fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from hub.errors import DecodeError, first_problem
from hub.monitor.scorecard import DeadLetter, Decided, OutcomeSeen, RoutedCopy
from hub.topology import DLQ_ERROR_CLASS_HEADER
from schemas.common import Area, Partner
from schemas.decision import DecisionRecorded
from schemas.outcome import OutcomeRecorded, needs_authorisation

__all__ = [
    "ERROR_CLASS_HEADER",
    "UnreadableRecordError",
    "read_dead_letter",
    "read_decision",
    "read_outcome",
    "read_routed",
]

_M = TypeVar("_M", bound=BaseModel)

ERROR_CLASS_HEADER = DLQ_ERROR_CLASS_HEADER
"""The dead-letter header naming the error's class (:func:`hub.router.handler.dead_letter`)."""


class UnreadableRecordError(DecodeError):
    """A record on a topic the monitor reads does not match its contract."""


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Quality(_View):
    score: int


class _Metadata(_View):
    partner: Partner
    received_at: AwareDatetime
    quality: _Quality | None = None
    """None on an Operation Encompass copy: its allow-list carries no quality score."""


class _Decision(_View):
    destinations: tuple[Area, ...] = ()
    """Empty on an Operation Encompass copy: it is not told where else a message went."""
    decided_at: AwareDatetime


class _RoutedView(_View):
    area: Area
    message_id: UUID
    metadata: _Metadata
    decision: _Decision
    due_by: AwareDatetime | None = None


def read_routed(value: bytes | None) -> RoutedCopy:
    """The facts of a ``route.<area>`` record."""
    view = _parse(_RoutedView, value)
    return RoutedCopy(
        message_id=view.message_id,
        area=view.area,
        partner=view.metadata.partner,
        received_at=view.metadata.received_at,
        routed_at=view.decision.decided_at,
        due_by=view.due_by,
        quality_score=view.metadata.quality.score if view.metadata.quality else 0,
        counts_quality=view.metadata.quality is not None
        and view.area is _quality_copy(view.decision.destinations),
    )


def _quality_copy(destinations: Sequence[Area]) -> Area | None:
    # One copy per message carries the score into the average; Encompass can have
    # several copies of one message (a notice per child), so it is never that copy
    # unless it is the only destination.
    return next((a for a in destinations if a is not Area.ENCOMPASS), Area.ENCOMPASS)


def read_decision(value: bytes | None) -> Decided:
    """The facts of a ``hub.decisions`` record."""
    record = _parse(DecisionRecorded, value)
    return Decided(
        partner=record.partner,
        received_at=record.received_at,
        destinations=record.destinations,
        returned_reasons=record.returned_reasons,
        rules=record.rules,
    )


def read_outcome(value: bytes | None) -> OutcomeSeen:
    """The facts of a ``team.outcomes`` record."""
    record = _parse(OutcomeRecorded, value)
    return OutcomeSeen(
        message_id=record.message_id,
        area=record.area,
        decided_at=record.decided_at,
        routed_at=record.routed_at,
        due_by=record.due_by,
        outcome_id=record.outcome_id,
        needs_authorisation=needs_authorisation(record.area, record.outcome),
        authorises=record.authorises,
    )


def read_dead_letter(headers: Sequence[tuple[str, bytes]]) -> DeadLetter:
    """The error class of a ``hub.dlq`` record, from its context headers."""
    for name, raw in headers:
        if name == ERROR_CLASS_HEADER:
            return DeadLetter(error_class=raw.decode("utf-8", "replace") or "unknown")
    return DeadLetter(error_class="unknown")


def _parse(model: type[_M], value: bytes | None) -> _M:
    if value is None:
        raise UnreadableRecordError(f"{model.__name__}: empty record")
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        raise UnreadableRecordError(f"{model.__name__}: {first_problem(exc)}") from exc
