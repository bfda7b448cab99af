"""The decision record: exactly one on ``hub.decisions`` per inbound message."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas.common import Area, ConsentStatus, Contract, LawfulBasis, Partner
from schemas.envelope import ShortText, SubjectKey
from schemas.history import HistorySummary

Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class DecisionRecorded(Contract):
    """Where one inbound message went, why, under which policy, with or without consent.

    Records are hash-chained per partition: ``hash`` is SHA-256 over ``prev_hash`` and
    the record's canonical JSON without ``hash`` (:mod:`hub.audit`).
    """

    message_id: UUID = Field(description="The inbound message decided on.")
    partner: Partner = Field(description="The sending partner.")
    source_reference: ShortText = Field(description="The partner's own reference.")
    kind: Annotated[str, Field(max_length=80)] = Field(description="Message kind.")
    subject_key: SubjectKey = Field(description="The subject the message is keyed by.")
    received_at: AwareDatetime = Field(description="When the connector received it.")
    decided_at: AwareDatetime = Field(description="When the router decided.")
    destinations: tuple[Area, ...] = Field(min_length=1, description="Areas it was routed to.")
    rules: tuple[RuleId, ...] = Field(description="Ids of the rules that matched.")
    rationale: tuple[str, ...] = Field(description="Plain-English rationale of each rule.")
    returned_reasons: tuple[str, ...] = Field(
        default=(), description="Why it was returned to the partner, when it was."
    )
    policy_version: Hash = Field(description="SHA-256 of the policy file that decided.")
    consent_status: ConsentStatus = Field(description="Consent position of the message.")
    lawful_basis: LawfulBasis = Field(description="Lawful basis for the processing.")
    shared_without_consent: bool = Field(
        description="Shared with a service area although consent was not given."
    )
    history: HistorySummary = Field(description="The history summary the decision used.")
    prev_hash: Hash = Field(description="Hash of the previous record in this partition.")
    hash: Hash = Field(description="SHA-256 of prev_hash and this record's canonical JSON.")
