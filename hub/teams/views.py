"""What the pages and the API show of a queue row: the same models for both.

A :class:`QueueEntry` is everything about a row that needs no key: metadata, the
decision summary, the SLA clock and the recorded outcome. :class:`MessageView` adds
the decrypted content when one message is opened. The wording of enums for people
(area names, outcomes, clock states) lives here too, so the templates hold no logic.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.sla import ClockState, SlaCalendar, clock_state
from hub.teams.checks import CheckView
from hub.teams.store import QueueItem
from schemas.answer import Answer
from schemas.chronology import (
    Chronology,
    ChronologyContact,
    ChronologyOutcome,
    ChronologyTotals,
)
from schemas.common import Area, Partner, RiskLevel
from schemas.envelope import Envelope, RoutingMetadata
from schemas.history import HistorySummary
from schemas.outcome import Outcome
from schemas.routed import DecisionSummary, EncompassDecision, EncompassNotice


class RecordedOutcome(Answer):
    """The decision recorded on a row."""

    outcome_id: UUID = Field(description="Id of the outcome on team.outcomes.")
    outcome: Outcome = Field(description="What was decided.")
    rationale: str = Field(description="Why.")
    decided_by: str = Field(description="Who decided.")
    decided_at: AwareDatetime = Field(description="When.")
    on_time: bool | None = Field(description="Decided before the SLA deadline; None without one.")


class AuthorisationView(Answer):
    """A manager's part in a decision: awaiting, authorised, or a return."""

    due_by: AwareDatetime | None = Field(
        description="When authorisation is due (1 working day by default); None if not needed."
    )
    clock: ClockState | None = Field(description="The authorisation clock while awaiting.")
    decision: Literal["authorise", "return"] | None = Field(description="What the manager did.")
    rationale: str | None = Field(description="The manager's rationale.")
    decided_by: str | None = Field(description="The manager.")
    decided_at: AwareDatetime | None = Field(description="When.")


class QueueEntry(Answer):
    """One message in an area's queue, without its sensitive content."""

    message_id: UUID = Field(description="The inbound message.")
    child_index: int = Field(
        description="Encompass: position of the notified child in the subjects; else 0."
    )
    area: Area = Field(description="The area whose queue this is.")
    kind: str = Field(description="Message kind.")
    partner: Partner = Field(description="The sending partner.")
    partner_reference: str = Field(description="The partner's own reference.")
    risk_level: RiskLevel | None = Field(
        description="Canonical risk level; None for Operation Encompass (not shared with it)."
    )
    received_at: AwareDatetime = Field(description="When the hub received it.")
    routed_at: AwareDatetime = Field(description="When it was routed to this area.")
    due_by: AwareDatetime | None = Field(description="SLA deadline; None where nobody must act.")
    clock: ClockState | None = Field(
        description="on_time, due_soon or overdue while undecided; None when decided or no SLA."
    )
    status: Literal["undecided", "awaiting_authorisation", "decided"] = Field(
        description="undecided; awaiting_authorisation: a MASH threshold decision waiting for "
        "a manager; decided."
    )
    assigned_to: str | None = Field(None, description="The practitioner it is assigned to.")
    authorisation: AuthorisationView | None = Field(
        None, description="Authorisation of the decision, where one is needed or was returned."
    )
    decision: DecisionSummary | EncompassDecision = Field(
        description="Why the router sent it here (Operation Encompass: its own rules only)."
    )
    outcome: RecordedOutcome | None = Field(description="The recorded decision, once decided.")


class QueuePage(Answer):
    """A page of an area's queue."""

    area: Area = Field(description="The area.")
    status: Literal["undecided", "awaiting_authorisation", "decided", "all"] = Field(
        description="Which rows are listed."
    )
    total: int = Field(description="Rows matching the status.")
    limit: int = Field(description="Page size.")
    offset: int = Field(description="Rows skipped.")
    items: tuple[QueueEntry, ...] = Field(description="Undecided first, then oldest first.")


class ChronologyEntry(ChronologyContact):
    """One earlier contact as the team sees it: the router's chronology, with checks."""

    checks: tuple[CheckView, ...] = Field(
        default=(),
        description="Agency checks this area asked about that contact, with the partners' "
        "answers (the asking areas only).",
    )


class MessageView(QueueEntry):
    """One message with its decrypted content."""

    payload_type: Literal["envelope", "encompass_notice"] = Field(
        description="Which of envelope and notice is set."
    )
    envelope: Envelope | None = Field(description="The full message (every area but encompass).")
    notice: EncompassNotice | None = Field(description="The Operation Encompass notice.")
    checks: tuple[CheckView, ...] = Field(
        default=(), description="Agency checks asked about it, with the partners' answers."
    )
    chronology: tuple[ChronologyEntry, ...] = Field(
        default=(),
        description="Earlier contacts of the message's children (same_child) and household, "
        "newest first; none for encompass. Other areas' rationale is null unless the reader "
        "is the MASH, the allocated team or a manager.",
    )
    chronology_totals: ChronologyTotals = Field(
        default=ChronologyTotals(
            contacts_12m=0, same_child_12m=0, household_12m=0, by_partner={}, by_kind={}
        ),
        description="The chronology's contacts over 12 months, per partner and kind.",
    )


class OversightView(Answer):
    """A manager's view of drift in the area's work."""

    area: Area = Field(description="The area.")
    undecided: int = Field(description="Messages with no decision.")
    oldest_undecided_at: AwareDatetime | None = Field(description="Routed time of the oldest.")
    overdue: int = Field(description="Undecided past their deadline.")
    awaiting_authorisation: int = Field(description="Decisions waiting for a manager.")
    oldest_awaiting_at: AwareDatetime | None = Field(description="Decided time of the oldest.")
    authorisation_overdue: int = Field(description="Waiting past the authorisation clock.")
    by_practitioner: dict[str, dict[str, int]] = Field(
        description="Per practitioner: assigned_undecided, overdue, decided, awaiting."
    )


class AssignMessage(BaseModel):
    """A manager's command to assign a message."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    assignee: str | None = Field(
        description="Username of a practitioner of the area; null to unassign."
    )


FULL_SIGHT = frozenset({Area.MASH, Area.ALLOCATED_TEAM})
"""Areas that see every area's rationale in a chronology (with any area's managers)."""


def visible_chronology(
    chronology: Chronology | None, area: Area, *, manager: bool
) -> tuple[tuple[ChronologyEntry, ...], ChronologyTotals]:
    """The chronology ``area`` may see.

    None for Encompass; other areas' rationale hidden unless the reader is the MASH,
    the allocated team or a manager.
    """
    empty = MessageView.model_fields["chronology_totals"].default
    if chronology is None or area is Area.ENCOMPASS:
        return (), empty
    if manager or area in FULL_SIGHT:
        return tuple(_entry(c) for c in chronology.contacts), chronology.totals
    return tuple(_entry(_hide_others(c, area)) for c in chronology.contacts), chronology.totals


def _entry(contact: ChronologyContact) -> ChronologyEntry:
    return ChronologyEntry.model_validate(contact.model_dump())


def _hide_others(contact: ChronologyContact, area: Area) -> ChronologyContact:
    outcomes = tuple(o if o.area is area else _without_rationale(o) for o in contact.outcomes)
    return contact.model_copy(update={"outcomes": outcomes})


def _without_rationale(outcome: ChronologyOutcome) -> ChronologyOutcome:
    auth = outcome.authorisation
    hidden = auth.model_copy(update={"rationale": None}) if auth is not None else None
    return outcome.model_copy(update={"rationale": None, "authorisation": hidden})


def queue_entry(item: QueueItem, calendar: SlaCalendar, now: datetime) -> QueueEntry:
    """The view of a row at ``now``."""
    routed = item.routed()
    outcome = None
    clock = None
    if item.decided is not None:
        d = item.decided
        on_time = None if item.due_by is None else d.decided_at <= item.due_by
        outcome = RecordedOutcome(**asdict(d), on_time=on_time)
    else:
        clock = clock_state(item.due_by, now, item.routed_at, calendar)
    status: Literal["undecided", "awaiting_authorisation", "decided"]
    status = "undecided" if outcome is None else "decided"
    if item.awaiting_authorisation:
        status = "awaiting_authorisation"
    return QueueEntry(
        message_id=item.message_id,
        child_index=item.child_index,
        area=routed.area,
        kind=item.kind,
        partner=routed.metadata.partner,
        partner_reference=routed.metadata.partner_reference,
        risk_level=routed.metadata.risk.level
        if isinstance(routed.metadata, RoutingMetadata)
        else None,
        received_at=item.received_at,
        routed_at=item.routed_at,
        due_by=item.due_by,
        clock=clock,
        status=status,
        decision=routed.decision,
        outcome=outcome,
        assigned_to=item.oversight.assigned_to,
        authorisation=_authorisation(item, calendar, now),
    )


def _authorisation(
    item: QueueItem, calendar: SlaCalendar, now: datetime
) -> AuthorisationView | None:
    o = item.oversight
    if o.auth_due_by is not None and item.decided is not None:
        waiting = o.auth_at is None
        return AuthorisationView(
            due_by=o.auth_due_by,
            clock=clock_state(o.auth_due_by, now, item.decided.decided_at, calendar)
            if waiting
            else None,
            decision="authorise" if o.auth_decision == "authorise" else None,
            rationale=o.auth_rationale,
            decided_by=o.auth_by,
            decided_at=o.auth_at,
        )
    if o.returned_at is not None:
        return AuthorisationView(
            due_by=None,
            clock=None,
            decision="return",
            rationale=o.returned_rationale,
            decided_by=o.returned_by,
            decided_at=o.returned_at,
        )
    return None


# ---------------------------------------------------------------------- wording

AREA_NAMES = {
    Area.MASH: "MASH",
    Area.EARLY_HELP: "Early help",
    Area.DA_TRIAGE: "Domestic abuse triage",
    Area.MARAC: "MARAC",
    Area.ENCOMPASS: "Operation Encompass",
    Area.HOUSING: "Housing options",
    Area.LADO: "LADO",
    Area.ADULT_SERVICES: "Adult services",
    Area.ALLOCATED_TEAM: "Allocated team",
    Area.RECORD_ONLY: "Record only",
    Area.RETURNED: "Returned",
}

CLOCK_NAMES = {
    ClockState.ON_TIME: "On time",
    ClockState.DUE_SOON: "Due soon",
    ClockState.OVERDUE: "Overdue",
}

OUTCOME_NAMES = {
    Outcome.NO_FURTHER_ACTION: "No further action",
    Outcome.INFORMATION_RECORDED: "Information recorded",
    Outcome.EARLY_HELP: "Early help",
    Outcome.S17_ASSESSMENT: "Section 17 assessment",
    Outcome.STRATEGY_DISCUSSION: "Strategy discussion",
    Outcome.OPEN_CASE: "Open case",
    Outcome.CASE_CLOSED: "Case closed",
    Outcome.REFERRED_ON: "Referred on",
    Outcome.MARAC_LISTED: "Listed for MARAC",
    Outcome.HOUSING_ASSESSMENT: "Housing assessment",
}

LONDON = ZoneInfo("Europe/London")


def local_time(moment: datetime | None) -> str:
    """A moment as UK local time for people, e.g. ``Wed 25 Nov 2026, 14:30``."""
    if moment is None:
        return "none"
    return moment.astimezone(LONDON).strftime("%a %d %b %Y, %H:%M")


def words(value: object) -> str:
    """An enum value or code for people: ``person_causing_harm`` -> ``person causing harm``."""
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


def history_text(history: HistorySummary) -> str:
    """The subject's history as one sentence, for the queue table."""
    parts = [f"{history.contacts_12m} contact(s) in 12 months"]
    if history.contacts_by_partner_12m:
        by = ", ".join(f"{p.value} {n}" for p, n in sorted(history.contacts_by_partner_12m.items()))
        parts[0] += f" ({by})"
    if history.da_incidents_12m:
        parts.append(f"{history.da_incidents_12m} domestic-abuse incident(s) in 12 months")
    if history.low_level_3m > 1:
        parts.append(f"{history.low_level_3m} low-level notifications in 3 months")
    if history.open_case:
        where = AREA_NAMES[history.open_case_area] if history.open_case_area else "a team"
        parts.append(f"open case with {where}")
    if history.last_marac_referral_at is not None:
        parts.append(f"last MARAC referral {local_time(history.last_marac_referral_at)}")
    if history.last_contact_at is not None:
        parts.append(f"previous contact {local_time(history.last_contact_at)}")
    return "; ".join(parts) + "."
