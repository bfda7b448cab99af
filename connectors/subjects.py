"""Building envelope parts every connector shares: subjects, findings, consent gaps."""

from __future__ import annotations

from datetime import date, datetime

from connectors.errors import FieldError
from connectors.identity import (
    PersonIdentity,
    age_at,
    derive_household_key,
    derive_subject_key,
    normalise_nhs_number,
)
from connectors.protocol import ParseContext
from schemas.common import ConsentStatus, NhsNumberStatus, SubjectRole, nhs_number_is_valid
from schemas.envelope import QualityFinding, Subject


def finding(code: str, where: str, message: str, *, warning: bool = True) -> QualityFinding:
    """Build a data-quality finding."""
    return QualityFinding(
        code=code, field=where, message=message, severity="warning" if warning else "info"
    )


def check_nhs_number(
    raw: str | None, where: str
) -> tuple[str | None, NhsNumberStatus | None, list[QualityFinding]]:
    """Normalise an NHS number and check its modulus-11 digit.

    A number that fails the check is kept (real systems hold such numbers) with status
    ``invalid_check_digit`` and a finding, and is never used to match the person.
    """
    if raw is None:
        return None, None, []
    number = normalise_nhs_number(raw)
    if number is None:
        return None, None, [finding("nhs_number_format", where, "NHS number is not ten digits")]
    if nhs_number_is_valid(number):
        return number, NhsNumberStatus.VALID, []
    message = (
        "NHS number fails the modulus-11 check digit (invalid_check_digit): kept, "
        "but not used to match the person"
    )
    return (
        number,
        NhsNumberStatus.INVALID_CHECK_DIGIT,
        [finding("nhs_number_check_digit", where, message)],
    )


def build_subject(
    context: ParseContext,
    *,
    where: str,
    fallback: str,
    role: SubjectRole,
    occurred_at: datetime,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: date | None = None,
    nhs_number: str | None = None,
    postcode: str | None = None,
    address: str | None = None,
    school_urn: str | None = None,
    expected_date_of_birth: date | None = None,
    present: bool | None = None,
    witnessed: bool | None = None,
    injured: bool | None = None,
    resides_at_address: bool | None = None,
    works_with_children: bool | None = None,
    elective_home_education: bool | None = None,
    location_during_incident: str | None = None,
    voice: str | None = None,
) -> tuple[Subject, list[QualityFinding]]:
    """Build one subject with its key, age and data-quality findings.

    ``where`` is the person's path in the partner's input (for findings); ``fallback``
    keys a person who cannot be matched safely, and must be unique to the message.
    The age is taken at ``occurred_at`` in the partner's own offset, so an event just
    after midnight on a birthday counts the birthday.
    """
    number, status, findings = check_nhs_number(nhs_number, f"{where}.nhs_number")
    identity = PersonIdentity(
        nhs_number=number,
        nhs_valid=status is NhsNumberStatus.VALID,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        postcode=postcode,
    )
    if role is SubjectRole.CHILD and date_of_birth is None:
        message = "a child without a date of birth: age unknown, and not matched by demographics"
        findings.append(finding("child_without_date_of_birth", f"{where}.date_of_birth", message))
    subject = Subject(
        role=role,
        subject_key=derive_subject_key(context, identity, fallback),
        age_years=age_at(date_of_birth, occurred_at),
        present=present,
        witnessed=witnessed,
        injured=injured,
        resides_at_address=resides_at_address,
        works_with_children=works_with_children,
        elective_home_education=elective_home_education,
        household_key=derive_household_key(context, address, postcode),
        nhs_number=number,
        nhs_number_status=status,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        expected_date_of_birth=expected_date_of_birth,
        address=address,
        postcode=postcode,
        school_urn=school_urn,
        location_during_incident=location_during_incident,
        voice=voice,
    )
    return subject, findings


def consent_gaps(
    status: ConsentStatus,
    *,
    no_consent_reason: object,
    statutory_gateway: object,
    prefix: str,
    because: str,
) -> list[FieldError]:
    """Errors for legal fields that a consent status needs, or forbids, as sent.

    The envelope's :class:`~schemas.envelope.Consent` refuses a status other than
    ``given`` without a reason and a gateway; this names the partner's own fields and
    says why (``because``), before the envelope would refuse it less helpfully.
    """
    if status is ConsentStatus.GIVEN:
        if no_consent_reason is None:
            return []
        return [FieldError(f"{prefix}.no_consent_reason", f"must be empty because {because}")]
    return [
        FieldError(f"{prefix}.{name}", f"required because {because}")
        for name, value in (
            ("no_consent_reason", no_consent_reason),
            ("statutory_gateway", statutory_gateway),
        )
        if value is None
    ]
