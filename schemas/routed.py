"""The routed message on ``route.<area>``: metadata, sealed content, decision and SLA.

Every area's copy carries the message's routing metadata and the whole decision,
except Operation Encompass's: a notice per child, built from an allow-list
(DESIGN.md section 14, the Home Office statutory guidance on the Domestic Abuse Act
2021 s49A duty). Its clear part is :class:`EncompassMetadata` and
:class:`EncompassDecision`, its sealed part :class:`EncompassNotice`: nothing about
other people, roles, concerns, risk, history or other areas' reasons.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from schemas.chronology import Chronology
from schemas.common import Area, Contract, Partner
from schemas.envelope import Address, Kind, RoutingMetadata, SchoolUrn, ShortText, SubjectKey
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


class EncompassRecipient(StrEnum):
    """Who an Operation Encompass notice is for."""

    SCHOOL = "school"
    """The designated safeguarding lead of the child's school (``school_urn``)."""
    LA_CHILDRENS_SERVICES = "la-childrens-services"
    """The local authority's children's services: the child is in elective home education."""


class EncompassNotice(Contract):
    """The Operation Encompass notice for one child, sealed for ``encompass``.

    Exactly what the statutory guidance on the s49A duty lists, and nothing else: the
    child's name and date of birth, the school (or, for a child in elective home
    education, the local authority's children's services), the police reference, the
    incident's location, date and time, whether the child was present and where, and
    the child's voice where recorded.
    """

    recipient: EncompassRecipient = Field(
        EncompassRecipient.SCHOOL, description="Who the notice is for."
    )
    child_given_name: str | None = Field(None, description="The child's given name.")
    child_family_name: str | None = Field(None, description="The child's family name.")
    child_date_of_birth: date | None = Field(None, description="The child's date of birth.")
    school_urn: SchoolUrn | None = Field(
        None, description="URN of the child's school or setting; None for the local authority."
    )
    police_reference: str = Field(description="Police reference of the incident.")
    occurred_at: AwareDatetime = Field(description="Date and time of the incident.")
    incident_location: Address | None = Field(
        None, description="Where the incident happened, where recorded."
    )
    present: bool | None = Field(None, description="Whether the child was present.")
    location_during_incident: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="Where the child was during the incident, where recorded."
    )
    child_voice: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="The child's voice, where recorded."
    )

    @model_validator(mode="after")
    def _school_matches_recipient(self) -> EncompassNotice:
        if (self.recipient is EncompassRecipient.SCHOOL) != (self.school_urn is not None):
            msg = "school_urn is required for a school's notice and absent for the local authority"
            raise ValueError(msg)
        return self


class EncompassMetadata(Contract):
    """The clear part of an Operation Encompass copy: an allow-list, one child only."""

    message_id: UUID = Field(description="The police notification.")
    partner: Partner = Field(description="The sending partner (police).")
    org_code: ShortText = Field(description="The police force code.")
    partner_reference: ShortText = Field(description="The police reference.")
    kind: Kind = Field(description="Message kind.")
    occurred_at: AwareDatetime = Field(description="When the incident happened.")
    reported_at: AwareDatetime = Field(description="When the police reported it.")
    received_at: AwareDatetime = Field(description="When the hub received it.")
    subject_key: SubjectKey = Field(description="Kafka key of the message.")
    child_index: Annotated[int, Field(ge=0, le=1000)] = Field(
        description="Position of the notified child among the message's subjects."
    )
    recipient: EncompassRecipient = Field(description="Who the notice is for.")


class EncompassDecision(Contract):
    """The part of the decision an Encompass copy carries: its own rules' reasons only."""

    rules: tuple[str, ...] = Field(description="The rules that sent it to Operation Encompass.")
    rationale: tuple[str, ...] = Field(description="Why, rule by rule.")
    policy_version: str = Field(description="Version of the policy that decided.")
    decided_at: AwareDatetime = Field(description="When the router decided.")


class MessageRouted(Contract):
    """One routed copy of an inbound message, for one area."""

    area: Area = Field(description="The area this copy is for.")
    message_id: UUID = Field(description="The inbound message.")
    metadata: RoutingMetadata | EncompassMetadata = Field(
        description="Routing metadata, in clear (Operation Encompass: its allow-list)."
    )
    payload_type: Literal["envelope", "encompass_notice"] = Field(
        "envelope", description="What the sealed payload holds."
    )
    sealed: Sealed | None = Field(None, description="Payload encrypted for this area only.")
    payload: Annotated[str, Field(max_length=1_000_000)] | None = Field(
        None, description="Payload JSON in clear: only when encryption is off (bench)."
    )
    decision: DecisionSummary | EncompassDecision = Field(
        description="Why it came here (Operation Encompass: its own rules' reasons only)."
    )
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
