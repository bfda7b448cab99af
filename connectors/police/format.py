"""The police notification format: one notification as JSON, as a force sends it.

These models are the format's contract and the source of its JSON Schema
(``docs/formats/police.schema.json``). They check structure and single fields;
rules across fields (names required unless the person is an unborn child, a
rationale for a professional judgement, ...) are checked in :mod:`.parse`. The CSV
batch export (:mod:`.batch`) carries the same fields, one row per person.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from connectors.fields import (
    Address,
    BirthDate,
    Concerns,
    Grade,
    Instant,
    KnownNhsNumber,
    Name,
    NativeModel,
    Postcode,
    Rationale,
    Reference,
    SchoolUrn,
    published,
)
from connectors.grades import KNOWN_GRADES, map_grade
from schemas.common import (
    LawfulBasis,
    NoConsentReason,
    RiskTool,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)


class NotificationType(StrEnum):
    """What the notification is about; it names the envelope kind."""

    DOMESTIC_ABUSE = "domestic_abuse"
    CHILD_CONCERN = "child_concern"
    ADULT_AT_RISK = "adult_at_risk"
    MISSING_PERSON = "missing_person"
    PERSON_POSING_RISK = "person_posing_risk"
    OTHER = "other"


class ConsentToShare(StrEnum):
    """A person's answer when the officer asked to share their details with partners."""

    YES = "yes"
    NO = "no"
    NOT_ASKED = "not_asked"


class Person(NativeModel):
    """One person in the notification, with their role and what happened to them."""

    role: SubjectRole = Field(description="The part the person plays in the incident.")
    given_name: Name | None = Field(
        None, description="Given name(s); required unless the role is unborn_child."
    )
    family_name: Name | None = Field(
        None, description="Family name; required unless the role is unborn_child."
    )
    date_of_birth: BirthDate | None = Field(
        None, description="Date of birth (YYYY-MM-DD); not for an unborn child."
    )
    expected_date_of_birth: BirthDate | None = Field(
        None, description="Expected date of delivery (YYYY-MM-DD); only for an unborn child."
    )
    nhs_number: KnownNhsNumber = None
    postcode: Postcode | None = Field(None, description="UK postcode of the person's address.")
    address: Address | None = Field(None, description="The person's address, one line.")
    school_urn: SchoolUrn | None = Field(
        None, description="URN of a child's school or setting (six or seven digits)."
    )
    present: bool | None = Field(None, description="A child was present at the incident.")
    witnessed: bool | None = Field(None, description="A child saw or heard the incident.")
    injured: bool | None = Field(None, description="The person was injured.")
    resides_at_address: bool | None = Field(
        None, description="A child ordinarily lives at the incident address."
    )
    works_with_children: bool | None = Field(
        None, description="The person works or volunteers with children (for the LADO)."
    )
    pregnant: bool | None = Field(None, description="The person is known to be pregnant.")
    consent_to_share: ConsentToShare = Field(
        ConsentToShare.NOT_ASKED,
        description="The person's answer to sharing their details with partner agencies.",
    )
    location_during_incident: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None,
        description=(
            "A child only: where the child was during the incident (e.g. upstairs "
            "bedroom), for the Operation Encompass notice."
        ),
    )
    child_voice: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        None,
        description=(
            "A child only: the child's voice, what the child said or showed, in the "
            "officer's record; for the Operation Encompass notice."
        ),
    )
    elective_home_education: bool | None = Field(
        None,
        description=(
            "A child only: the child is in elective home education (no school); the "
            "Operation Encompass notice then goes to the local authority's children's "
            "services. Not with school_urn."
        ),
    )


class ConsentFacts(NativeModel):
    """The legal facts of sharing, for the whole notification; omitted ones take defaults."""

    lawful_basis: LawfulBasis | None = Field(
        None, description="Lawful basis; default DPA 2018 s35 (law-enforcement processing)."
    )
    special_category_condition: SpecialCategoryCondition | None = Field(
        None, description="Sensitive-processing condition; default DPA 2018 Sch 8 para 4."
    )
    no_consent_reason: NoConsentReason | None = Field(
        None, description="Why it is shared without consent; required unless consent is given."
    )
    statutory_gateway: StatutoryGateway | None = Field(
        None, description="The statute permitting the sharing; required unless consent is given."
    )
    recorded_by: Name | None = Field(
        None, description="Who recorded the consent position; default submitted_by."
    )
    recorded_at: Instant | None = Field(
        None, description="When it was recorded; default reported_at."
    )


class PoliceNotification(NativeModel):
    """A police safeguarding notification (PPN, child coming to notice, DA incident)."""

    model_config = published("connectors/police/format.py", "docs/formats/police.md")

    force_code: Annotated[str, Field(pattern=r"^\d{2}$")] = Field(
        description="Two-digit police force code, e.g. 47 for Sussex."
    )
    reference: Reference = Field(
        description="The force's reference (occurrence or PPN number); a resend reuses it."
    )
    notification_type: NotificationType = Field(description="What the notification is about.")
    occurred_at: Instant = Field(
        description="When the incident happened, ISO 8601 with a UTC offset."
    )
    reported_at: Instant | None = Field(
        None, description="When the notification was made, with an offset; default occurred_at."
    )
    risk_grade: Grade = Field(
        description=(
            "The officer's risk grade, verbatim: High, Medium, Low, Standard, Red, Amber, "
            "Green or Blue (any case; L1 to L4 also accepted)."
        )
    )
    risk_tool: RiskTool | None = Field(
        None, description="The risk assessment tool used: DASH, DARA or none."
    )
    risk_score: Annotated[int, Field(ge=0, le=100)] | None = Field(
        None, description="The tool's score (DASH: count of yes answers, 0 to 24)."
    )
    professional_judgement_high: bool = Field(
        default=False, description="The officer judged the risk high regardless of the score."
    )
    judgement_rationale: Rationale | None = Field(
        None, description="Why; required when professional_judgement_high is true."
    )
    persons: Annotated[list[Person], Field(min_length=1, max_length=50)] = Field(
        description="The people involved, children first by convention."
    )
    summary: Annotated[str, Field(min_length=1, max_length=20_000)] = Field(
        description="The officer's account of the incident."
    )
    incident_location: Address | None = Field(
        None,
        description=(
            "Where the incident happened (address or place, one line), for the Operation "
            "Encompass notice."
        ),
    )
    submitted_by: Name = Field(description="The submitting officer's id, e.g. PC 4711.")
    system: Name | None = Field(None, description="The force's sending system, e.g. Niche.")
    concerns: Concerns = Field((), description="Further coded concern factors.")
    consent: ConsentFacts | None = Field(
        None, description="The legal facts of sharing; required fields depend on consent."
    )

    @field_validator("risk_grade")
    @classmethod
    def _known_grade(cls, grade: str) -> str:
        if map_grade(grade) is None:
            raise PydanticCustomError(
                "unknown_grade",
                "unknown risk grade '{grade}'; expected one of {known}",
                {"grade": grade, "known": ", ".join(KNOWN_GRADES)},
            )
        return grade
