"""The envelope: one partner message about one or more people, as the hub knows it.

Connectors build an :class:`Envelope` from the partner's native format. On Kafka it
travels split in two (:mod:`schemas.wire`): the *routing metadata* that the router
reads in clear (:class:`RoutingMetadata`), and the *sensitive content* (names, dates
of birth, addresses, identifiers, narrative) that is encrypted in transit
(:class:`SensitiveContent`). :func:`split_envelope` and :func:`join_envelope` convert
between the two without loss.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, field_validator, model_validator

from schemas.common import (
    CHILD_AGE_LIMIT,
    KIND_PARTNER,
    Concern,
    ConsentStatus,
    Contract,
    LawfulBasis,
    NhsNumberStatus,
    NoConsentReason,
    Partner,
    PlanType,
    Rag,
    RiskLevel,
    RiskTool,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)

SubjectKey = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{64}$",
        description="HMAC-SHA256 (hex) of the person's normalised identifiers; never raw.",
    ),
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
# The envelope and its two halves on the wire share these types, so that a split
# envelope always joins again.
Kind = Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$", max_length=80)]
AgeYears = Annotated[int, Field(ge=0, le=130)]
NhsNumber = Annotated[str, Field(pattern=r"^\d{10}$")]
Address = Annotated[str, Field(max_length=500)]
Postcode = Annotated[str, Field(max_length=10)]
SchoolUrn = Annotated[str, Field(pattern=r"^\d{6,7}$")]
Score = Annotated[int, Field(ge=0, le=100)]
Grade = Annotated[str, Field(min_length=1, max_length=40)]
Narrative = Annotated[str, Field(max_length=20_000)]
Rationale = Annotated[str, Field(max_length=2000)]
Voice = Annotated[str, Field(min_length=1, max_length=2000)]
ProfileUrl = Annotated[str, Field(pattern=r"^https://[!-~]+$", max_length=200)]


class Source(Contract):
    """Who sent the message and under which reference."""

    org_code: ShortText = Field(description="Partner organisation code (force code, ODS code).")
    system: ShortText = Field(description="The partner's sending system.")
    partner_reference: ShortText = Field(
        description="The partner's own reference; a resend with the same one is a duplicate."
    )
    submitted_by: ShortText = Field(description="Who submitted it (officer, clinician, worker).")


class QualityFinding(Contract):
    """One data-quality observation made by the connector at the door."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = Field(
        description="Stable code of the finding, e.g. nhs_number_check_digit."
    )
    field: ShortText = Field(description="Where in the partner's input the finding applies.")
    message: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="What is wrong, for the partner's data-quality report."
    )
    severity: Literal["info", "warning"] = Field(description="How much the finding matters.")


class Quality(Contract):
    """The connector's data-quality assessment of the message."""

    score: Score = Field(
        description="100 minus 10 per warning and 2 per info finding, floored at 0."
    )
    findings: tuple[QualityFinding, ...] = Field(
        default=(), description="Every finding, in input order."
    )

    @classmethod
    def from_findings(cls, findings: list[QualityFinding]) -> Quality:
        """Score a list of findings."""
        penalty = sum(10 if f.severity == "warning" else 2 for f in findings)
        return cls(score=max(0, 100 - penalty), findings=tuple(findings))


class SubjectFacts(Contract):
    """The routing facts about a person, readable in clear by the router."""

    role: SubjectRole = Field(description="The part this person plays in the message.")
    subject_key: SubjectKey
    age_years: AgeYears | None = Field(
        None, description="Age in whole years when the event occurred; None when unknown."
    )
    present: bool | None = Field(None, description="A child was present at the incident.")
    witnessed: bool | None = Field(None, description="A child witnessed the incident.")
    injured: bool | None = Field(None, description="The person was injured.")
    resides_at_address: bool | None = Field(
        None, description="A child ordinarily lives at the incident address."
    )
    works_with_children: bool | None = Field(
        None, description="The person works or volunteers with children (LADO)."
    )
    elective_home_education: bool | None = Field(
        None,
        description=(
            "A child in elective home education (no school): an Operation Encompass "
            "notice goes to the local authority's children's services instead of a school."
        ),
    )
    household_key: SubjectKey | None = Field(
        None,
        description=(
            "Keyed hash of the person's normalised address (their household); "
            "never the address itself. None when no address was sent."
        ),
    )

    @property
    def is_child(self) -> bool:
        """A child, or unborn child, by role or by age."""
        return is_child(self.role, self.age_years)


class SubjectDetails(Contract):
    """The identifying details of one subject, by position in ``RoutingMetadata.subjects``."""

    nhs_number: NhsNumber | None = Field(None, description="NHS number, ten digits without spaces.")
    nhs_number_status: NhsNumberStatus | None = Field(
        None, description="Modulus-11 result; an invalid number is kept but never matched on."
    )
    given_name: ShortText | None = Field(None, description="Given name(s).")
    family_name: ShortText | None = Field(None, description="Family name.")
    date_of_birth: date | None = Field(None, description="Date of birth.")
    expected_date_of_birth: date | None = Field(
        None, description="Expected date of delivery, for an unborn child."
    )
    address: Address | None = Field(None, description="Address.")
    postcode: Postcode | None = Field(None, description="Postcode.")
    school_urn: SchoolUrn | None = Field(
        None, description="Unique reference number of the child's school or setting."
    )
    location_during_incident: ShortText | None = Field(
        None, description="Where a child was during the incident (e.g. upstairs bedroom)."
    )
    voice: Voice | None = Field(
        None, description="The child's voice: what the child said or showed, as recorded."
    )


# Pydantic takes the fields of the last base first: the facts, then the details.
class Subject(SubjectDetails, SubjectFacts):
    """A person the message is about, with routing facts and identifying details."""


class RiskMeta(Contract):
    """The risk facts the router reads (the judgement's rationale stays encrypted)."""

    tool: RiskTool = Field(description="Risk assessment tool used.")
    score: Score | None = Field(
        None, description="Tool score (DASH: count of yes answers, 0 to 24)."
    )
    partner_grade: Grade = Field(
        description="The partner's grade exactly as sent (High, Amber, Standard, ...)."
    )
    level: RiskLevel = Field(description="Canonical level the grade maps to.")
    rag: Rag = Field(description="Red/amber/green/blue rating of the canonical level.")
    professional_judgement: bool = Field(
        default=False, description="A professional judged the risk high regardless of score."
    )


class Risk(RiskMeta):
    """The partner's risk assessment, verbatim and mapped to the hub's levels."""

    judgement_rationale: Rationale | None = Field(
        None, description="Why the professional judged it so (encrypted in transit)."
    )


NO_CONSENT = frozenset(
    {
        ConsentStatus.REFUSED,
        ConsentStatus.NOT_SOUGHT,
        ConsentStatus.WITHDRAWN,
        ConsentStatus.IMPLIED_DIRECT_CARE,
    }
)
"""Statuses under which information is shared, if at all, without consent."""


class ConsentMeta(Contract):
    """Consent and the lawful basis, as the router reads them in clear (no recorder's name)."""

    status: ConsentStatus = Field(description="Whether consent to share was given.")
    recorded_at: AwareDatetime = Field(description="When it was recorded.")
    lawful_basis: LawfulBasis = Field(description="Lawful basis for processing.")
    special_category_condition: SpecialCategoryCondition | None = Field(
        None, description="Condition for special-category data, when such data is present."
    )
    no_consent_reason: NoConsentReason | None = Field(
        None, description="Why it is shared without consent; required when there is none."
    )
    statutory_gateway: StatutoryGateway | None = Field(
        None, description="The statute permitting the sharing; required without consent."
    )

    @model_validator(mode="after")
    def _no_consent_needs_reason_and_gateway(self) -> ConsentMeta:
        if self.status in NO_CONSENT or self.status is ConsentStatus.NOT_REQUIRED:
            missing = [
                name
                for name in ("no_consent_reason", "statutory_gateway")
                if getattr(self, name) is None
            ]
            if missing:
                msg = (
                    f"consent status is {self.status.value}, so {' and '.join(missing)} "
                    "must say why and under which statute the information is shared"
                )
                raise ValueError(msg)
        if self.status is ConsentStatus.GIVEN and self.no_consent_reason is not None:
            msg = "no_consent_reason must be empty when consent was given"
            raise ValueError(msg)
        return self

    @property
    def given(self) -> bool:
        """Consent was given and stands."""
        return self.status is ConsentStatus.GIVEN


class Consent(ConsentMeta):
    """Consent to share and the lawful basis for processing (DESIGN.md section 5).

    Who recorded it (an officer's or a nurse's name) is sealed content: it travels in
    :class:`SensitiveContent`, never in the clear routing metadata (DESIGN.md section 14).
    """

    recorded_by: ShortText = Field(description="Who recorded the consent position (sealed).")


class PlanFacts(Contract):
    """A child protection or care plan the message reports (CP-IS), as the router reads it."""

    type: PlanType | None = Field(
        None,
        description=(
            "Which plan; None when the message says there is one but not which (a CP-IS "
            "flag without its CarePlan, or an access notification)."
        ),
    )
    local_authority: ShortText | None = Field(
        None, description="The local authority holding the plan, as the NHS names it."
    )


class Plan(PlanFacts):
    """A plan with its dates: travels sealed, its type and authority also in clear."""

    start: date | None = Field(None, description="When the plan started.")
    end: date | None = Field(None, description="When the plan ended or is due to end.")


class UnscheduledCareAccess(Contract):
    """A CP-IS access notification: the child's record was opened in unscheduled care."""

    accessed_at: AwareDatetime = Field(description="When the record was accessed.")
    setting: ShortText | None = Field(
        None, description="Where: the unscheduled-care setting, as the NHS names it."
    )
    setting_org_code: ShortText | None = Field(None, description="The setting's ODS code.")
    accessed_by_role: ShortText | None = Field(
        None, description="The role of the professional who looked (never their name)."
    )


class Envelope(Contract):
    """One partner message, as a connector produced it from the partner's format."""

    message_id: UUID = Field(description="The hub's id of this message (UUID v4).")
    partner: Partner = Field(description="The partner agency that sent it.")
    source: Source = Field(description="Sending organisation, system and reference.")
    kind: Kind = Field(description="Message kind, e.g. police.notification.domestic_abuse.")
    schema_version: Literal["1.0"] = Field("1.0", description="Version of this contract.")
    occurred_at: AwareDatetime = Field(description="When the event happened (UTC).")
    reported_at: AwareDatetime = Field(description="When the partner reported it (UTC).")
    received_at: AwareDatetime = Field(description="When the connector received it (UTC).")
    subject_key: SubjectKey = Field(
        description=(
            "Kafka key: the smallest child key, else the smallest victim key, else the first."
        )
    )
    subjects: tuple[Subject, ...] = Field(min_length=1, description="People it is about.")
    risk: Risk = Field(description="The partner's risk assessment.")
    consent: Consent = Field(description="Consent and lawful basis.")
    concerns: tuple[Concern, ...] = Field(default=(), description="Coded concern factors.")
    narrative: Narrative = Field(
        "", description="Free text from the partner (encrypted in transit)."
    )
    incident_location: Address | None = Field(
        None, description="Where the incident happened (encrypted in transit)."
    )
    quality: Quality = Field(description="Data-quality findings made at the door.")
    plans: tuple[Plan, ...] = Field(
        default=(), description="Child protection or care plans the message reports (CP-IS)."
    )
    accesses: tuple[UnscheduledCareAccess, ...] = Field(
        default=(), description="CP-IS access notifications: when and where the child was seen."
    )
    profiles: tuple[ProfileUrl, ...] = Field(
        default=(),
        description=(
            "UK Core and NHS England profiles the partner's document claims (FHIR "
            "meta.profile) that the hub recognises; the hub does not validate against them."
        ),
    )

    @field_validator("kind")
    @classmethod
    def _kind_matches_partner(cls, kind: str) -> str:
        if kind.split(".", 1)[0] not in KIND_PARTNER:
            msg = f"kind {kind!r} does not start with a partner name"
            raise ValueError(msg)
        return kind

    @model_validator(mode="after")
    def _consistent(self) -> Envelope:
        if KIND_PARTNER[self.kind.split(".", 1)[0]] is not self.partner:
            msg = f"kind {self.kind} cannot be sent by partner {self.partner.value}"
            raise ValueError(msg)
        if self.subject_key not in {s.subject_key for s in self.subjects}:
            msg = "subject_key must be the key of one of the subjects"
            raise ValueError(msg)
        return self

    @property
    def children(self) -> tuple[Subject, ...]:
        """The subjects who are children or unborn children."""
        return tuple(s for s in self.subjects if s.is_child)


# ---------------------------------------------------------------------------- split


class SubjectMeta(SubjectFacts):
    """The routing facts about one subject, readable in clear by the router."""

    has_school: bool = Field(default=False, description="A school URN is known for this child.")
    nhs_number_verified: bool = Field(
        default=False, description="An NHS number passed the modulus-11 check."
    )


class RoutingMetadata(Contract):
    """Everything the router needs, and nothing that identifies a person."""

    message_id: UUID = Field(description="The hub's id of this message.")
    partner: Partner = Field(description="The sending partner.")
    org_code: ShortText = Field(description="Sending organisation code.")
    system: ShortText = Field(description="Sending system.")
    partner_reference: ShortText = Field(description="The partner's own reference.")
    kind: Kind = Field(description="Message kind.")
    schema_version: Literal["1.0"] = Field("1.0", description="Contract version.")
    occurred_at: AwareDatetime = Field(description="When the event happened.")
    reported_at: AwareDatetime = Field(description="When the partner reported it.")
    received_at: AwareDatetime = Field(description="When the connector received it.")
    subject_key: SubjectKey = Field(description="Kafka key of the message.")
    subjects: tuple[SubjectMeta, ...] = Field(min_length=1, description="Routing facts per person.")
    risk: RiskMeta = Field(description="Risk facts.")
    consent: ConsentMeta = Field(description="Consent and lawful basis (recorder sealed).")
    concerns: tuple[Concern, ...] = Field(default=(), description="Coded concern factors.")
    quality: Quality = Field(description="Data-quality findings.")
    plans: tuple[PlanFacts, ...] = Field(
        default=(), description="Type and local authority of each plan reported (CP-IS)."
    )
    profiles: tuple[ProfileUrl, ...] = Field(
        default=(), description="Recognised UK Core and NHS England profiles claimed."
    )

    @property
    def children(self) -> tuple[SubjectMeta, ...]:
        """The subjects who are children or unborn children."""
        return tuple(s for s in self.subjects if s.is_child)


class SensitiveContent(Contract):
    """What is encrypted in transit: identifying details and free text."""

    submitted_by: ShortText = Field(description="Who submitted the message.")
    consent_recorded_by: ShortText = Field(description="Who recorded the consent position.")
    subjects: tuple[SubjectDetails, ...] = Field(description="Details per subject, same order.")
    narrative: Narrative = Field("", description="Free text.")
    incident_location: Address | None = Field(None, description="Where the incident happened.")
    judgement_rationale: Rationale | None = Field(
        None, description="Rationale of a professional judgement of risk."
    )
    plans: tuple[Plan, ...] = Field(default=(), description="Plans with their dates.")
    accesses: tuple[UnscheduledCareAccess, ...] = Field(
        default=(), description="CP-IS access notifications: when and where the child was seen."
    )


_META_FIELDS = frozenset(SubjectFacts.model_fields)
_DETAIL_FIELDS = frozenset(SubjectDetails.model_fields)


def split_envelope(envelope: Envelope) -> tuple[RoutingMetadata, SensitiveContent]:
    """Split an envelope into clear routing metadata and sensitive content."""
    metas, details = [], []
    for subject in envelope.subjects:
        data = subject.model_dump()
        metas.append(
            SubjectMeta(
                **{k: data[k] for k in _META_FIELDS},
                has_school=subject.school_urn is not None,
                nhs_number_verified=subject.nhs_number_status is NhsNumberStatus.VALID,
            )
        )
        details.append(SubjectDetails(**{k: data[k] for k in _DETAIL_FIELDS}))
    risk = envelope.risk.model_dump(exclude={"judgement_rationale"})
    meta = RoutingMetadata(
        message_id=envelope.message_id,
        partner=envelope.partner,
        org_code=envelope.source.org_code,
        system=envelope.source.system,
        partner_reference=envelope.source.partner_reference,
        kind=envelope.kind,
        schema_version=envelope.schema_version,
        occurred_at=envelope.occurred_at,
        reported_at=envelope.reported_at,
        received_at=envelope.received_at,
        subject_key=envelope.subject_key,
        subjects=tuple(metas),
        risk=RiskMeta(**risk),
        consent=ConsentMeta(**envelope.consent.model_dump(exclude={"recorded_by"})),
        concerns=envelope.concerns,
        quality=envelope.quality,
        plans=plan_facts(envelope.plans),
        profiles=envelope.profiles,
    )
    content = SensitiveContent(
        submitted_by=envelope.source.submitted_by,
        consent_recorded_by=envelope.consent.recorded_by,
        subjects=tuple(details),
        narrative=envelope.narrative,
        incident_location=envelope.incident_location,
        judgement_rationale=envelope.risk.judgement_rationale,
        plans=envelope.plans,
        accesses=envelope.accesses,
    )
    return meta, content


def join_envelope(meta: RoutingMetadata, content: SensitiveContent) -> Envelope:
    """Rebuild the envelope from its two halves (a team consumer does this)."""
    if len(meta.subjects) != len(content.subjects):
        msg = "metadata and content disagree on the number of subjects"
        raise ValueError(msg)
    if plan_facts(content.plans) != meta.plans:
        msg = "metadata and content disagree on the plans"
        raise ValueError(msg)
    subjects = tuple(
        Subject(
            **m.model_dump(include=set(_META_FIELDS)),
            **d.model_dump(),
        )
        for m, d in zip(meta.subjects, content.subjects, strict=True)
    )
    return Envelope(
        message_id=meta.message_id,
        partner=meta.partner,
        source=Source(
            org_code=meta.org_code,
            system=meta.system,
            partner_reference=meta.partner_reference,
            submitted_by=content.submitted_by,
        ),
        kind=meta.kind,
        schema_version=meta.schema_version,
        occurred_at=meta.occurred_at,
        reported_at=meta.reported_at,
        received_at=meta.received_at,
        subject_key=meta.subject_key,
        subjects=subjects,
        risk=Risk(**meta.risk.model_dump(), judgement_rationale=content.judgement_rationale),
        consent=Consent(**meta.consent.model_dump(), recorded_by=content.consent_recorded_by),
        concerns=meta.concerns,
        narrative=content.narrative,
        incident_location=content.incident_location,
        quality=meta.quality,
        plans=content.plans,
        accesses=content.accesses,
        profiles=meta.profiles,
    )


def plan_facts(plans: tuple[Plan, ...]) -> tuple[PlanFacts, ...]:
    """The routing facts of each plan: its type and local authority."""
    return tuple(PlanFacts(type=p.type, local_authority=p.local_authority) for p in plans)


def is_child(role: SubjectRole, age_years: int | None) -> bool:
    """An unborn child; a child by role unless known to be 18 or over; anyone under 18."""
    if role is SubjectRole.UNBORN_CHILD:
        return True
    if role is SubjectRole.CHILD:
        return age_years is None or age_years < CHILD_AGE_LIMIT
    return age_years is not None and age_years < CHILD_AGE_LIMIT


def age_on(born: date, on: datetime | date) -> int:
    """Whole years between ``born`` and ``on``."""
    day = on.date() if isinstance(on, datetime) else on
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
