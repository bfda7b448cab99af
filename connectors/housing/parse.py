"""Parse a housing duty-to-refer referral into an envelope.

The mapping is documented in ``docs/formats/housing.md``. In short: the kind is
``housing.duty_to_refer``; consent to the referral and to sharing contact details
are legal preconditions, so a referral without them is refused at the door; a
16- or 17-year-old is a child; the referring body's lawful basis is UK GDPR 6(1)(e)
unless it says 6(1)(a); the gateway is Housing Act 1996 s213B.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from connectors.errors import FieldError, ParseFailed
from connectors.housing.format import (
    Applicant,
    DutyToRefer,
    HouseholdMember,
    Reason,
    Relationship,
)
from connectors.message import Sender
from connectors.native import birth_date_errors, contract_errors, parse_json_body
from connectors.protocol import ParseContext
from connectors.subjects import build_subject, finding
from schemas.common import (
    CHILD_AGE_LIMIT,
    Concern,
    ConsentStatus,
    LawfulBasis,
    Partner,
    Rag,
    RiskLevel,
    RiskTool,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import (
    Consent,
    Envelope,
    QualityFinding,
    Risk,
    Subject,
    age_on,
)

KIND = "housing.duty_to_refer"
NOT_GRADED = "not graded"
"""The risk grade of every referral: the duty to refer carries no risk assessment."""

THREATENED_WITHIN = timedelta(days=56)
"""Threatened with homelessness: likely to become homeless within 56 days (s175(4))."""

_LEGAL: dict[str, str] = {
    "consent_to_refer": (
        "must be true: consent to refer is a legal requirement of the duty to refer "
        "(Housing Act 1996 s213B); the person must agree before a referral is made"
    ),
    "consent_to_share_contact_details": (
        "must be true: the duty to refer requires the person's agreement that their "
        "contact details go to the housing authority (Homelessness Code of Guidance, ch. 4)"
    ),
}
_MIN_APPLICANT_AGE = 16


def parse(raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
    """Parse one duty-to-refer referral into one envelope."""
    try:
        referral = parse_json_body(DutyToRefer, raw, content_type)
    except ParseFailed as exc:
        raise ParseFailed([_explain(error) for error in exc.errors]) from exc
    errors = referral_errors(referral)
    if errors:
        raise ParseFailed(errors)
    return [to_envelope(referral, context)]


def _explain(error: FieldError) -> FieldError:
    """Say why the consent fields are required, whatever pydantic found wrong."""
    legal = _LEGAL.get(error.field)
    return FieldError(error.field, legal) if legal else error


def referral_errors(referral: DutyToRefer) -> list[FieldError]:
    """The rules across fields that the format's models cannot state."""
    r = referral
    errors = birth_date_errors(r.applicant.date_of_birth, r.referred_at, "applicant.date_of_birth")
    for index, member in enumerate(r.household):
        where = f"household.{index}.date_of_birth"
        errors += birth_date_errors(member.date_of_birth, r.referred_at, where)
    if r.consent_recorded_at is not None and r.consent_recorded_at > r.referred_at:
        message = "is after referred_at: consent must be had before the referral is made"
        errors.append(FieldError("consent_recorded_at", message))
    contact = r.applicant.contact
    if not (contact.phone or contact.email or contact.correspondence_address):
        message = "give a phone, an email or a correspondence address: a referral must carry them"
        errors.append(FieldError("applicant.contact", message))
    if not (r.referring_body.contact.email or r.referring_body.contact.phone):
        message = "give an email or a phone so the housing authority can reply"
        errors.append(FieldError("referring_body.contact", message))
    return errors + _homeless_on_errors(r)


def _homeless_on_errors(r: DutyToRefer) -> list[FieldError]:
    on = r.expected_homeless_on
    if on is None:
        return []
    referred = r.referred_at.date()
    if r.reason is not Reason.THREATENED_WITH_HOMELESSNESS:
        message = "only for reason threatened_with_homelessness"
    elif on < referred:
        message = "is before referred_at: the person is homeless; use reason homeless"
    elif on - referred > THREATENED_WITHIN:
        message = (
            "is more than 56 days after referred_at, so the person is not threatened "
            "with homelessness (Housing Act 1996 s175(4))"
        )
    else:
        return []
    return [FieldError("expected_homeless_on", message)]


# ------------------------------------------------------------------------ mapping


def to_envelope(referral: DutyToRefer, context: ParseContext) -> Envelope:
    """Map a checked referral to its envelope."""
    r = referral
    with contract_errors():
        subjects, findings = _subjects(r, context)
        sender = Sender(Partner.HOUSING, r.referring_body.org_code, r.reference)
        return sender.envelope(
            context,
            system=r.system or "json",
            submitted_by=r.referring_body.contact.name,
            kind=KIND,
            occurred_at=r.referred_at,
            reported_at=r.referred_at,
            subjects=subjects,
            findings=findings,
            risk=Risk(
                tool=RiskTool.NONE,
                partner_grade=NOT_GRADED,
                level=RiskLevel.STANDARD,
                rag=Rag.GREEN,
            ),
            consent=Consent(
                status=ConsentStatus.GIVEN,
                recorded_by=r.referring_body.contact.name,
                recorded_at=(r.consent_recorded_at or r.referred_at).astimezone(UTC),
                lawful_basis=LawfulBasis(r.lawful_basis.value),
                special_category_condition=r.special_category_condition,
                statutory_gateway=StatutoryGateway.HA1996_S213B,
            ),
            concerns=tuple(dict.fromkeys((Concern.HOMELESSNESS, *r.safeguarding_concerns))),
            narrative=narrative(r),
        )


def _subjects(r: DutyToRefer, context: ParseContext) -> tuple[list[Subject], list[QualityFinding]]:
    """The person referred first, then the household, who share their postcode."""
    subject, findings = _applicant(r, context)
    subjects = [subject]
    for index, member in enumerate(r.household):
        role = _member_role(member, r)
        # A household member lives with the person referred, so a child in the
        # household is affected by what the household is fleeing (domestic abuse).
        resides = True if role is SubjectRole.CHILD else None
        subject, found = _person(
            r, member, f"household.{index}", role, context, resides_at_address=resides
        )
        subjects.append(subject)
        findings += found
    return subjects, findings


def _person(
    r: DutyToRefer,
    person: Applicant | HouseholdMember,
    where: str,
    role: SubjectRole,
    context: ParseContext,
    *,
    address: str | None = None,
    resides_at_address: bool | None = None,
) -> tuple[Subject, list[QualityFinding]]:
    """A subject of the referral; the household shares the applicant's postcode."""
    return build_subject(
        context,
        where=where,
        fallback=f"housing|{r.referring_body.org_code}|{r.reference}|{where}",
        role=role,
        occurred_at=r.referred_at,
        given_name=person.given_name,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
        nhs_number=person.nhs_number,
        postcode=r.applicant.postcode,
        address=address,
        resides_at_address=resides_at_address,
    )


def _applicant(r: DutyToRefer, context: ParseContext) -> tuple[Subject, list[QualityFinding]]:
    applicant = r.applicant
    age = age_on(applicant.date_of_birth, r.referred_at)
    role = _applicant_role(r, age)
    subject, findings = _person(r, applicant, "applicant", role, context, address=applicant.address)
    if age < _MIN_APPLICANT_AGE:
        message = (
            "the person is under 16 and cannot apply as homeless in their own right; "
            "children's services are responsible (Children Act 1989 s20)"
        )
        findings.insert(0, finding("applicant_under_16", "applicant.date_of_birth", message))
    return subject, findings


def _applicant_role(r: DutyToRefer, age: int) -> SubjectRole:
    """A child under 18; else the parent or carer of a child in the household; else a member."""
    if age < CHILD_AGE_LIMIT:
        return SubjectRole.CHILD
    if any(
        m.relationship is Relationship.CHILD and _member_role(m, r) is SubjectRole.CHILD
        for m in r.household
    ):
        return SubjectRole.PARENT_CARER
    return SubjectRole.HOUSEHOLD_MEMBER


def _member_role(member: HouseholdMember, r: DutyToRefer) -> SubjectRole:
    """A child by age; a son or daughter of unknown age is taken to be a child."""
    if member.date_of_birth is None:
        is_child = member.relationship is Relationship.CHILD
    else:
        is_child = age_on(member.date_of_birth, r.referred_at) < CHILD_AGE_LIMIT
    return SubjectRole.CHILD if is_child else SubjectRole.HOUSEHOLD_MEMBER


def narrative(r: DutyToRefer) -> str:
    """The referral's free text: the notes, then what the envelope has no field for.

    The chosen authority and the contact details the person agreed to share travel
    here, in the encrypted narrative, until the envelope has fields for them.
    """
    reason = "homeless" if r.reason is Reason.HOMELESS else "threatened with homelessness"
    if r.expected_homeless_on is not None:
        reason += f", likely to become homeless on {r.expected_homeless_on.isoformat()}"
    contact = r.applicant.contact
    person = [
        f"phone {contact.phone}" if contact.phone else "",
        f"email {contact.email}" if contact.email else "",
        f"correspondence address {contact.correspondence_address}"
        if contact.correspondence_address
        else "",
    ]
    if contact.safe_to_leave_message is not None:
        person.append(
            f"safe to leave a message: {'yes' if contact.safe_to_leave_message else 'no'}"
        )
    body, worker = r.referring_body, r.referring_body.contact
    referrer = [worker.name, worker.role or "", body.name, worker.email or "", worker.phone or ""]
    lines = [
        r.notes or "",
        f"Reason: {reason}.",
        f"Chosen housing authority: {r.chosen_authority.name} ({r.chosen_authority.code}).",
        f"Contact (agreed to share): {'; '.join(p for p in person if p)}.",
        f"Referred by: {', '.join(p for p in referrer if p)} ({body.authority_type.value}).",
    ]
    return "\n".join(line for line in lines if line)
