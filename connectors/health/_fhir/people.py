"""People in a health message, as envelope subjects: Patients and RelatedPersons.

A Patient's age at the event, from ``birthDate``, decides whether it is a child. A
partial birthDate (a year, or a year and month) is read as its latest possible day,
so a person who may still be under 18 counts as a child. A Patient without a
birthDate is a child only when the message otherwise marks it as one (see
:func:`connectors.health.parse`); the Patient a concern is about must be one or the
other, or the hub could not tell whether to treat the concern as about a child.

A person a safeguarding concern names by reference only (an :class:`~.message.Absent`
person) has no age: it is read as a child, fail-safe, unless the concern is an adult's
(coded adult at risk); the reference's ``display`` is kept whole as the family name,
since FHIR does not say which part of it is which.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from fhir.resources.R4B.address import Address
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from pydantic import ValidationError

from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Absent, Located
from connectors.health.format import (
    EXPECTED_DELIVERY_URL,
    NHS_NUMBER_SYSTEM,
    PARENT_CODES,
    RELATED_ROLES,
    ROLE_SYSTEM,
)
from connectors.identity import PersonIdentity, age_at, derive_household_key, derive_subject_key
from connectors.native import birth_date_errors
from connectors.protocol import ParseContext
from connectors.subjects import check_nhs_number
from schemas.common import CHILD_AGE_LIMIT, NhsNumberStatus, SubjectRole
from schemas.envelope import Subject

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?")
_ELEMENT = {
    "given_name": "name.given",
    "family_name": "name.family",
    "postcode": "address.postalCode",
    "address": "address",
    "nhs_number": "identifier",
    "date_of_birth": "birthDate",
    "age_years": "birthDate",
}
"""The FHIR element behind each Subject field, to name it in an error."""

_POSTCODE_MAX = 10
_ADDRESS_MAX = 500


@dataclass(frozen=True)
class Keys:
    """Derives subject keys: the parse context, and what makes a fallback unique."""

    context: ParseContext
    message: str


@dataclass(frozen=True)
class _Details:
    nhs_number: str | None
    nhs_status: NhsNumberStatus | None
    given: str | None
    family: str | None
    born: date | None
    age: int | None
    address: str | None
    postcode: str | None
    birth_date_refused: bool = False


def patient_subject(
    patient: Located, *, about: bool, child_hint: bool, event: datetime, keys: Keys, ledger: Ledger
) -> Subject | None:
    """The subject of a Patient.

    ``about``: a concern is about this Patient; ``child_hint``: the message marks it a child.
    """
    assert isinstance(patient.resource, Patient)
    details = _details(patient.resource, patient.path, event, ledger)
    where = f"{patient.path}.birthDate"
    if details.birth_date_refused:
        return None
    if details.age is not None:
        adult = SubjectRole.VICTIM if about else SubjectRole.HOUSEHOLD_MEMBER
        role = SubjectRole.CHILD if details.age < CHILD_AGE_LIMIT else adult
    elif child_hint:
        role = SubjectRole.CHILD
        message = "a child without a birthDate: age unknown, and not matched by demographics"
        ledger.warn("child_without_date_of_birth", where, message)
    elif about:
        message = (
            "missing: without it the hub cannot tell whether the concern is about a child; "
            "send birthDate, or code the concern as a child's (see docs/formats/health.md)"
        )
        ledger.required(where, message)
        return None
    else:
        role = SubjectRole.HOUSEHOLD_MEMBER
        ledger.warn("date_of_birth_missing", where, "no birthDate: age unknown")
    return _subject(role, details, patient.path, keys, ledger)


def related_subject(
    related: Located, *, event: datetime, keys: Keys, ledger: Ledger
) -> Subject | None:
    """The subject of a RelatedPerson, in the role its relationship gives it."""
    assert isinstance(related.resource, RelatedPerson)
    role = related_role(related.resource)
    if role is SubjectRole.UNBORN_CHILD:
        return _unborn(related, event=event, keys=keys, ledger=ledger)
    details = _details(related.resource, related.path, event, ledger)
    return _subject(role, details, related.path, keys, ledger)


def _unborn(related: Located, *, event: datetime, keys: Keys, ledger: Ledger) -> Subject | None:
    """An unborn child: a RelatedPerson of the mother, with an expected date of delivery."""
    person = related.resource
    assert isinstance(person, RelatedPerson)
    if person.birthDate is not None:
        message = (
            "an unborn child has no birthDate: send the expected date of delivery in the "
            f"extension {EXPECTED_DELIVERY_URL}"
        )
        ledger.invalid(f"{related.path}.birthDate", message)
        return None
    due = next(
        (
            e.valueDate
            for e in person.extension or []
            if e.url == EXPECTED_DELIVERY_URL and e.valueDate is not None
        ),
        None,
    )
    if due is None:
        message = "an unborn child without an expected date of delivery"
        ledger.note("expected_date_of_delivery_missing", f"{related.path}.extension", message)
    details = _details(person, related.path, event, ledger)
    subject = _subject(SubjectRole.UNBORN_CHILD, details, related.path, keys, ledger)
    if subject is None or not isinstance(due, date):
        return subject
    return subject.model_copy(update={"expected_date_of_birth": due})


def absent_subject(
    person: Absent, *, role: SubjectRole, keys: Keys, ledger: Ledger
) -> Subject | None:
    """The subject of a person named by reference only: what the reference says."""
    number, status = None, None
    if person.nhs_number:
        where = f"{person.path}.identifier.value"
        number, status, findings = check_nhs_number(person.nhs_number, where)
        ledger.findings.extend(findings)
    read_as = "a child (fail-safe)" if role is SubjectRole.CHILD else f"a {role.value}"
    if person.reference or number is None:
        named = f"reference {person.reference[:120]}" if person.reference else "the subject"
        message = (
            f"{named} is not in the message: the person is only what the reference says; "
            f"age unknown, read as {read_as}"
        )
        ledger.warn("patient_not_in_message", person.path, message)
    else:
        message = f"the Patient is named by NHS number only: age unknown, read as {read_as}"
        ledger.note("patient_by_identifier", person.path, message)
    details = _Details(
        nhs_number=number,
        nhs_status=status,
        given=None,
        family=person.display,
        born=None,
        age=None,
        address=None,
        postcode=None,
    )
    return _subject(role, details, person.path, keys, ledger)


def related_role(person: RelatedPerson) -> SubjectRole:
    """A hub role code if sent; a parent or guardian; otherwise a household member."""
    codings = [coding for concept in person.relationship or [] for coding in concept.coding or []]
    for coding in codings:
        if coding.system == ROLE_SYSTEM and coding.code in {r.value for r in RELATED_ROLES}:
            return SubjectRole(coding.code)
    if any(coding.code in PARENT_CODES for coding in codings):
        return SubjectRole.PARENT_CARER
    return SubjectRole.HOUSEHOLD_MEMBER


def has_parent_contact(patient: Patient) -> bool:
    """The Patient's contacts include a parent or guardian."""
    return any(
        coding.code in PARENT_CODES
        for contact in patient.contact or []
        for concept in contact.relationship or []
        for coding in concept.coding or []
    )


# ---------------------------------------------------------------------------- details


def _details(
    person: Patient | RelatedPerson, path: str, event: datetime, ledger: Ledger
) -> _Details:
    number, status = _nhs_number(person, path, ledger)
    given, family = _name(person.name or [])
    born, youngest = _birth_date(person.birthDate, event.date(), f"{path}.birthDate", ledger)
    errors = birth_date_errors(youngest, event, f"{path}.birthDate")
    ledger.errors.extend(errors)
    address, postcode = _address(person.address or [], f"{path}.address", ledger)
    return _Details(
        nhs_number=number,
        nhs_status=status,
        given=given,
        family=family,
        born=born,
        age=None if errors else age_at(youngest, event),
        address=address,
        postcode=postcode,
        birth_date_refused=bool(errors),
    )


def _nhs_number(
    person: Patient | RelatedPerson, path: str, ledger: Ledger
) -> tuple[str | None, NhsNumberStatus | None]:
    found = [
        (index, identifier.value)
        for index, identifier in enumerate(person.identifier or [])
        if identifier.system == NHS_NUMBER_SYSTEM
    ]
    if not found:
        return None, None
    index, value = found[0]
    where = f"{path}.identifier[{index}].value"
    if not value:
        ledger.warn("nhs_number_format", where, "the NHS number identifier has no value")
        return None, None
    number, status, findings = check_nhs_number(value, where)
    ledger.findings.extend(findings)
    if len({other for _, other in found}) > 1:
        ledger.note("nhs_number_multiple", where, "several NHS numbers: the first is used")
    return number, status


def _name(names: list[HumanName]) -> tuple[str | None, str | None]:
    chosen = next((n for n in names if n.use in {"official", "usual"}), names[0] if names else None)
    if chosen is None:
        return None, None
    given = " ".join(part for part in chosen.given or [] if part) or None
    return given, chosen.family or None


def _birth_date(
    value: object, event: date, where: str, ledger: Ledger
) -> tuple[date | None, date | None]:
    """The full date of birth, and the latest day it can be (for a partial date)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value, value
    if isinstance(value, str) and (match := _PARTIAL_DATE.fullmatch(value)):
        year, month = int(match.group(1)), match.group(2)
        first = date(year, int(month or 1), 1)
        last_month = int(month or 12)
        latest = date(year, last_month, calendar.monthrange(year, last_month)[1])
        message = "only the year or month of birth: age is taken from its latest possible day"
        ledger.note("date_of_birth_partial", where, message)
        return None, (min(latest, event) if first <= event else latest)
    return None, None


def _address(addresses: list[Address], where: str, ledger: Ledger) -> tuple[str | None, str | None]:
    current = [a for a in addresses if a.use != "old"] or addresses
    chosen = next((a for a in current if a.use == "home"), current[0] if current else None)
    if chosen is None:
        return None, None
    parts = [*(chosen.line or []), chosen.city, chosen.district, chosen.postalCode]
    text = ", ".join(part.strip() for part in parts if part and part.strip()) or chosen.text
    postcode = (chosen.postalCode or "").strip() or None
    if postcode is not None and len(postcode) > _POSTCODE_MAX:
        ledger.warn(
            "postcode_format", f"{where}.postalCode", "too long for a UK postcode: not used"
        )
        postcode = None
    return (text[:_ADDRESS_MAX] if text else None), postcode


def _subject(
    role: SubjectRole, details: _Details, path: str, keys: Keys, ledger: Ledger
) -> Subject | None:
    identity = PersonIdentity(
        nhs_number=details.nhs_number,
        nhs_valid=details.nhs_status is NhsNumberStatus.VALID,
        given_name=details.given,
        family_name=details.family,
        date_of_birth=details.born,
        postcode=details.postcode,
    )
    try:
        return Subject(
            role=role,
            subject_key=derive_subject_key(keys.context, identity, f"{keys.message}|{path}"),
            age_years=details.age,
            nhs_number=details.nhs_number,
            nhs_number_status=details.nhs_status,
            given_name=details.given,
            family_name=details.family,
            date_of_birth=details.born,
            address=details.address,
            postcode=details.postcode,
            household_key=derive_household_key(keys.context, details.address, details.postcode),
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            field = str(err["loc"][0]) if err["loc"] else ""
            ledger.invalid(f"{path}.{_ELEMENT.get(field, field)}".rstrip("."), err["msg"])
        return None
