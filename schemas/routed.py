"""The routed message on ``route.<area>``: metadata, sealed content, decision and SLA."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas.chronology import Chronology
from schemas.common import Area, Contract
from schemas.envelope import RoutingMetadata
from schemas.history import HistorySummary
from schemas.wire import Sealed


class DecisionSummary(Contract):
    """The part of the decision record a team needs to act."""

    destinations: tuple[Area, ...] = Field(description="Every area the message went to.")
    rules: tuple[str, ...] = Field(description="Ids of the rules that matched.")
    rationale: tuple[str, ...] = Field(description="Why, rule by rule.")
    returned_reasons: tuple[str, ...] = Field(
        default=(),
        description="Why it was returned to the sender, and what to add, when it was.",
    )
    policy_version: str = Field(description="Version of the policy that decided.")
    shared_without_consent: bool = Field(description="Shared although consent was not given.")
    decided_at: AwareDatetime = Field(description="When the router decided.")
    history: HistorySummary = Field(description="The subject's history when decided.")


class EncompassNotice(Contract):
    """The minimal Operation Encompass payload for a school (sealed for ``encompass``)."""

    child_given_name: str | None = Field(None, description="The child's given name.")
    child_family_name: str | None = Field(None, description="The child's family name.")
    child_date_of_birth: date | None = Field(None, description="The child's date of birth.")
    school_urn: Annotated[str, Field(pattern=r"^\d{6,7}$")] = Field(
        description="URN of the child's school or setting."
    )
    police_reference: str = Field(description="Police reference of the incident.")
    occurred_at: AwareDatetime = Field(description="Date and time of the incident.")
    present: bool | None = Field(None, description="Whether the child was present.")


class MessageRouted(Contract):
    """One routed copy of an inbound message, for one area."""

    area: Area = Field(description="The area this copy is for.")
    message_id: UUID = Field(description="The inbound message.")
    metadata: RoutingMetadata = Field(description="Routing metadata, in clear.")
    payload_type: Literal["envelope", "encompass_notice"] = Field(
        "envelope", description="What the sealed payload holds."
    )
    sealed: Sealed | None = Field(None, description="Payload encrypted for this area only.")
    payload: Annotated[str, Field(max_length=1_000_000)] | None = Field(
        None, description="Payload JSON in clear: only when encryption is off (bench)."
    )
    decision: DecisionSummary = Field(description="Why it came here.")
    due_by: AwareDatetime | None = Field(
        None, description="SLA deadline for this area; None where nobody must act."
    )
    chronology_sealed: Sealed | None = Field(
        None,
        description="The children's and household's Chronology, sealed for this area like "
        "the content; None when there is no earlier contact, and always for encompass.",
    )
    chronology: Chronology | None = Field(
        None, description="The Chronology in clear: only when encryption is off (bench)."
    )
