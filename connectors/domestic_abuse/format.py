"""The domestic-abuse service format: one SafeLives DASH risk checklist, as JSON.

A domestic-abuse service (IDVA, outreach, refuge) sends the 24 answers of the DASH
risk identification checklist, the assessor's professional judgement, the victim,
the person causing harm, the children, and the consent position. The question
topics are in each answer's description (SafeLives order, paraphrased).

These models are the format's contract and the source of its JSON Schema
(``docs/formats/domestic-abuse.schema.json``); rules across fields are checked in
:mod:`.parse`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from connectors.fields import (
    Address,
    BirthDate,
    Concerns,
    ConsentStatus,
    FamilyName,
    GivenName,
    Grade,
    Instant,
    KnownNhsNumber,
    Name,
    NativeModel,
    OrgCode,
    Postcode,
    Rationale,
    Reference,
    SchoolUrn,
    published,
)
from schemas.common import (
    LawfulBasis,
    NoConsentReason,
    SpecialCategoryCondition,
    StatutoryGateway,
)


class Answer(StrEnum):
    """An answer on the checklist; only yes counts towards the score."""

    YES = "yes"
    NO = "no"
    NOT_KNOWN = "not_known"


def _q(topic: str) -> Any:
    return Field(description=f"{topic} (yes, no or not_known).")


class DashAnswers(NativeModel):
    """The 24 answers, keyed q1 to q24 in SafeLives order."""

    q1: Answer = _q("Is the current incident resulting in injury?")
    q2: Answer = _q("Is the victim very frightened?")
    q3: Answer = _q("Is the victim afraid of what the abuser might do (further injury, violence)?")
    q4: Answer = _q("Does the victim feel isolated from family or friends?")
    q5: Answer = _q("Is the victim feeling depressed or having suicidal thoughts?")
    q6: Answer = _q("Has the victim separated, or tried to separate, within the past year?")
    q7: Answer = _q("Is there conflict over child contact?")
    q8: Answer = _q("Does the abuser constantly text, call, contact, follow or stalk the victim?")
    q9: Answer = _q("Is the victim pregnant, or had a baby in the last 18 months?")
    q10: Answer = _q("Is the abuse happening more often?")
    q11: Answer = _q("Is the abuse getting worse?")
    q12: Answer = _q("Does the abuser try to control everything and are they excessively jealous?")
    q13: Answer = _q("Has the abuser ever used weapons or objects to hurt the victim?")
    q14: Answer = _q("Has the abuser ever threatened to kill the victim or someone else?")
    q15: Answer = _q(
        "Has the abuser ever attempted to strangle, choke, suffocate or drown the victim?"
    )
    q16: Answer = _q(
        "Does the abuser do or say things of a sexual nature that make the victim feel bad?"
    )
    q17: Answer = _q(
        "Is there another person who has threatened the victim or whom the victim fears?"
    )
    q18: Answer = _q("Does the victim know if the abuser has hurt anyone else?")
    q19: Answer = _q("Has the abuser ever mistreated an animal or the family pet?")
    q20: Answer = _q("Are there any financial issues?")
    q21: Answer = _q(
        "Has the abuser had problems with drugs, alcohol or mental health in the past year?"
    )
    q22: Answer = _q("Has the abuser ever threatened or attempted suicide?")
    q23: Answer = _q("Has the abuser ever breached bail, an injunction or a contact agreement?")
    q24: Answer = _q("Does the victim know if the abuser has ever been in trouble with the police?")


class ProfessionalJudgement(NativeModel):
    """The assessor's own view of the risk, which can only raise the level."""

    high: bool = Field(description="The assessor judges the risk high whatever the score.")
    rationale: Rationale | None = Field(None, description="Why; required when high is true.")


class NamedPerson(NativeModel):
    """A person the service knows by name: the victim, or a child."""

    given_name: GivenName
    family_name: FamilyName
    date_of_birth: BirthDate | None = Field(None, description="Date of birth (YYYY-MM-DD).")
    nhs_number: KnownNhsNumber = None


class Victim(NamedPerson):
    """The person the assessment is about."""

    address: Address | None = Field(None, description="The victim's address, one line.")
    postcode: Postcode | None = Field(None, description="Postcode of that address.")


class PersonCausingHarm(NativeModel):
    """The person causing harm, as far as the victim or the service knows them."""

    given_name: Name | None = Field(None, description="Given name(s), if known.")
    family_name: Name | None = Field(None, description="Family name, if known.")
    date_of_birth: BirthDate | None = Field(None, description="Date of birth (YYYY-MM-DD).")
    nhs_number: KnownNhsNumber = None
    address: Address | None = Field(None, description="Their address, one line.")
    postcode: Postcode | None = Field(None, description="Postcode of that address.")
    works_with_children: bool | None = Field(
        None, description="They work or volunteer with children (for the LADO)."
    )


class Child(NamedPerson):
    """A child of the victim's or the abuser's household."""

    postcode: Postcode | None = Field(
        None, description="The child's postcode; default the victim's when the child lives there."
    )
    school_urn: SchoolUrn | None = Field(
        None, description="URN of the child's school or setting (six or seven digits)."
    )
    present: bool | None = Field(None, description="The child was present at the latest incident.")
    witnessed: bool | None = Field(None, description="The child saw or heard the abuse.")
    injured: bool | None = Field(None, description="The child was injured.")
    resides_at_address: bool | None = Field(
        None, description="The child ordinarily lives at the victim's address."
    )


class ConsentRecord(NativeModel):
    """The victim's consent to share, and the legal facts of sharing."""

    status: ConsentStatus = Field(description="Whether the victim consented to sharing.")
    recorded_by: Name | None = Field(None, description="Who recorded it; default the assessor.")
    recorded_at: Instant | None = Field(None, description="When; default assessed_at.")
    lawful_basis: LawfulBasis | None = Field(
        None, description="UK GDPR Article 6 basis; default 6(1)(e) public task."
    )
    special_category_condition: SpecialCategoryCondition | None = Field(
        None,
        description=(
            "Article 9 condition; default UK GDPR 9(2)(a) with consent, "
            "DPA 2018 Sch 1 para 18 without."
        ),
    )
    no_consent_reason: NoConsentReason | None = Field(
        None, description="Why it is shared without consent; required unless status is given."
    )
    statutory_gateway: StatutoryGateway | None = Field(
        None, description="The statute permitting the sharing; required unless status is given."
    )


class DashAssessment(NativeModel):
    """A SafeLives DASH risk checklist completed by a domestic-abuse service."""

    model_config = published(
        "connectors/domestic_abuse/format.py", "docs/formats/domestic-abuse.md"
    )

    reference: Reference = Field(
        description="The service's assessment reference; a resend reuses it."
    )
    org_code: OrgCode = Field(description="The service's organisation code.")
    system: Name | None = Field(None, description="The service's case system.")
    assessed_at: Instant = Field(description="When the checklist was completed, with an offset.")
    incident_at: Instant | None = Field(
        None, description="When the latest incident happened; default assessed_at."
    )
    assessor: Name = Field(description="Who completed the checklist (name or staff id).")
    answers: DashAnswers = Field(description="The 24 answers.")
    service_grade: Grade | None = Field(
        None, description="The service's own grade, verbatim; default 'DASH <score>/24'."
    )
    professional_judgement: ProfessionalJudgement = Field(
        description="The assessor's professional judgement of the risk."
    )
    victim: Victim = Field(description="The victim.")
    person_causing_harm: PersonCausingHarm | None = Field(
        None, description="The person causing harm."
    )
    children: Annotated[tuple[Child, ...], Field(max_length=30)] = Field(
        (), description="Children in either household."
    )
    consent: ConsentRecord = Field(description="Consent to share and its legal facts.")
    concerns: Concerns = Field((), description="Further coded concern factors.")
    narrative: Annotated[str, Field(max_length=20_000)] = Field(
        "", description="The assessor's account and safety planning notes."
    )
