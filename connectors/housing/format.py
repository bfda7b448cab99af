"""The housing duty-to-refer format: one referral under Housing Act 1996 s213B, as JSON.

A specified public authority (prison, probation, hospital, social services, ...) that
thinks a person may be homeless or threatened with homelessness refers them, with
their consent, to the English housing authority they choose. The field names follow
the statutory minimum (name, contact details, consent, the agreed reason) and real
referral records such as MoJ CAS3's ``dtr-details``.

These models are the format's contract and the source of its JSON Schema
(``docs/formats/housing.schema.json``); rules across fields are checked in
:mod:`.parse`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from connectors.fields import (
    Address,
    BirthDate,
    Concerns,
    FamilyName,
    GivenName,
    Instant,
    KnownNhsNumber,
    Name,
    NativeModel,
    OrgCode,
    Postcode,
    Reference,
    published,
)
from schemas.common import LawfulBasis, SpecialCategoryCondition

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()-]{5,19}$")]


def _must_be_true(value: bool) -> bool:
    if not value:
        raise PydanticCustomError("must_be_true", "must be true")
    return value


Agreed = Annotated[bool, AfterValidator(_must_be_true), Field(json_schema_extra={"const": True})]
"""A boolean that must be true. ``Literal[True]`` would also accept the number 1."""


class AuthorityType(StrEnum):
    """The public authorities the duty applies to (Homelessness Regulations 2018), or other."""

    PRISON = "prison"
    YOUNG_OFFENDER_INSTITUTION = "young_offender_institution"
    SECURE_TRAINING_CENTRE = "secure_training_centre"
    SECURE_COLLEGE = "secure_college"
    YOUTH_OFFENDING_TEAM = "youth_offending_team"
    PROBATION_SERVICE = "probation_service"
    JOBCENTRE_PLUS = "jobcentre_plus"
    SOCIAL_SERVICES_AUTHORITY = "social_services_authority"
    EMERGENCY_DEPARTMENT = "emergency_department"
    URGENT_TREATMENT_CENTRE = "urgent_treatment_centre"
    HOSPITAL_INPATIENT = "hospital_inpatient"
    ARMED_FORCES = "armed_forces"
    OTHER_PUBLIC_AUTHORITY = "other_public_authority"


class Reason(StrEnum):
    """The reason agreed with the person."""

    HOMELESS = "homeless"
    THREATENED_WITH_HOMELESSNESS = "threatened_with_homelessness"


class Relationship(StrEnum):
    """How a household member is related to the person referred."""

    PARTNER = "partner"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    OTHER = "other"


class ProcessingBasis(StrEnum):
    """The UK GDPR Article 6 bases a referring body may rely on for a referral."""

    PUBLIC_TASK = LawfulBasis.PUBLIC_TASK.value
    CONSENT = LawfulBasis.CONSENT.value


class ReferrerContact(NativeModel):
    """The worker at the referring body whom the housing authority can reply to."""

    name: Name = Field(description="The worker's name; recorded as who obtained consent.")
    role: Name | None = Field(None, description="The worker's role, e.g. probation officer.")
    email: Email | None = Field(None, description="Email address; an email or a phone is needed.")
    phone: Phone | None = Field(None, description="Phone number; an email or a phone is needed.")


class ReferringBody(NativeModel):
    """The public authority making the referral."""

    name: Name = Field(description="Name of the referring body.")
    org_code: OrgCode = Field(
        description="The body's organisation code (ODS code, prison code, ...)."
    )
    authority_type: AuthorityType = Field(
        description="Which kind of public authority it is; other_public_authority for others."
    )
    contact: ReferrerContact = Field(description="Who to contact about the referral.")


class PersonContact(NativeModel):
    """How the housing authority can contact the person (they agreed to share this)."""

    phone: Phone | None = Field(None, description="The person's phone number.")
    email: Email | None = Field(None, description="The person's email address.")
    correspondence_address: Address | None = Field(
        None, description="Where letters reach the person, if not their current address."
    )
    safe_to_leave_message: bool | None = Field(
        None, description="A message can safely be left on the phone given."
    )


class Applicant(NativeModel):
    """The person referred."""

    given_name: GivenName
    family_name: FamilyName
    date_of_birth: BirthDate = Field(description="Date of birth (YYYY-MM-DD).")
    nhs_number: KnownNhsNumber = None
    address: Address | None = Field(None, description="Current or last settled address.")
    postcode: Postcode | None = Field(None, description="Postcode of that address.")
    contact: PersonContact = Field(
        description="Contact details: at least one of phone, email or correspondence address."
    )


class HouseholdMember(NativeModel):
    """Someone who lives, or would normally live, with the person referred."""

    given_name: GivenName
    family_name: FamilyName
    date_of_birth: BirthDate | None = Field(
        None, description="Date of birth (YYYY-MM-DD); decides whether the member is a child."
    )
    relationship: Relationship = Field(description="Relationship to the person referred.")
    nhs_number: KnownNhsNumber = None


class ChosenAuthority(NativeModel):
    """The English local housing authority the person chose to be referred to."""

    name: Name = Field(description="The authority's name, e.g. Crawley Borough Council.")
    code: Annotated[str, Field(pattern=r"^E0[6-9]\d{6}$")] = Field(
        description="Its GSS code: E06, E07, E08 or E09 and six digits (a housing authority)."
    )


class DutyToRefer(NativeModel):
    """A duty-to-refer referral (Homelessness Reduction Act 2017; Housing Act 1996 s213B)."""

    model_config = published("connectors/housing/format.py", "docs/formats/housing.md")

    reference: Reference = Field(description="The referring body's reference; a resend reuses it.")
    referred_at: Instant = Field(description="When the referral was made, with a UTC offset.")
    system: Name | None = Field(None, description="The sending system, e.g. ALERT.")
    referring_body: ReferringBody = Field(description="Who is referring.")
    applicant: Applicant = Field(description="The person referred.")
    consent_to_refer: Agreed = Field(
        description="The person agreed to the referral: a legal requirement, so always true."
    )
    consent_to_share_contact_details: Agreed = Field(
        description="The person agreed that their contact details go to the authority: required."
    )
    consent_recorded_at: Instant | None = Field(
        None, description="When the person agreed; default referred_at; not after it."
    )
    lawful_basis: ProcessingBasis = Field(
        ProcessingBasis.PUBLIC_TASK,
        description="The referring body's UK GDPR basis; default 6(1)(e) public task.",
    )
    special_category_condition: SpecialCategoryCondition | None = Field(
        None, description="The Article 9 condition, when special-category data is included."
    )
    chosen_authority: ChosenAuthority = Field(description="The authority the person chose.")
    reason: Reason = Field(description="The reason agreed with the person.")
    expected_homeless_on: date | None = Field(
        None,
        description=(
            "When the person is likely to become homeless; only for "
            "threatened_with_homelessness, and within 56 days of the referral."
        ),
    )
    household: Annotated[tuple[HouseholdMember, ...], Field(max_length=30)] = Field(
        (), description="Other members of the household."
    )
    safeguarding_concerns: Concerns = Field(
        (), description="Coded safeguarding concerns the referrer knows of."
    )
    notes: Annotated[str, Field(min_length=1, max_length=10_000)] | None = Field(
        None, description="Anything else the housing authority should know."
    )
