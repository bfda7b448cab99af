"""A child's and household's chronology: the contacts before this one (DESIGN.md section 16).

The router builds it for each routed copy from its per-subject history and its
household view, and seals it for the copy's area like the content; the team app
shows it on the message page and in ``GET /api/v1/areas/<area>/messages/<id>``.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas.common import Area, Contract, Partner, RiskLevel
from schemas.outcome import Outcome

Relation = Literal["same_child", "household"]
Count = Annotated[int, Field(ge=0)]


class ChronologyAuthorisation(Contract):
    """A manager's authorisation of (or return of) a team's decision."""

    decision: Literal["authorise", "return"] = Field(description="Authorised, or sent back.")
    rationale: str | None = Field(
        description="Why; None where the reader may not see another area's rationale."
    )
    decided_by: str = Field(description="The manager.")
    decided_at: AwareDatetime = Field(description="When.")


class ChronologyOutcome(Contract):
    """One team's outcome on an earlier contact."""

    outcome_id: UUID = Field(description="Id of the outcome on team.outcomes.")
    area: Area = Field(description="The area that decided.")
    outcome: Outcome = Field(description="What was decided.")
    rationale: str | None = Field(
        description="Why; None where the reader may not see another area's rationale."
    )
    decided_by: str = Field(description="Who decided.")
    decided_at: AwareDatetime = Field(description="When.")
    authorisation: ChronologyAuthorisation | None = Field(
        None, description="The manager's authorisation, where one was recorded."
    )


class ChronologyContact(Contract):
    """One earlier contact about the message's children or their household."""

    message_id: UUID = Field(description="The earlier message.")
    relation: Relation = Field(
        description="same_child: about one of this message's children; household: a sibling "
        "or another member of the household."
    )
    received_at: AwareDatetime = Field(description="When the hub received it.")
    partner: Partner = Field(description="Who sent it.")
    kind: str = Field(description="Message kind.")
    risk_level: RiskLevel = Field(description="Canonical risk level.")
    destinations: tuple[Area, ...] = Field(description="Where it was routed.")
    outcomes: tuple[ChronologyOutcome, ...] = Field(
        default=(), description="Each team's outcome, oldest first."
    )


class ChronologyTotals(Contract):
    """Counts of the chronology's contacts over the 12 months before this message."""

    contacts_12m: Count = Field(description="Contacts in 12 months.")
    same_child_12m: Count = Field(description="Of which about this message's children.")
    household_12m: Count = Field(description="Of which about the household.")
    by_partner: dict[Partner, Count] = Field(description="Contacts per partner.")
    by_kind: dict[str, Count] = Field(description="Contacts per kind.")


class Chronology(Contract):
    """What the message's area may see of the children's and household's history."""

    contacts: tuple[ChronologyContact, ...] = Field(description="Contacts, newest first.")
    totals: ChronologyTotals = Field(description="Totals per partner and kind over 12 months.")
