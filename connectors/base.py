"""The shape every connector shares, and the helpers they all use.

A connector is a pure :meth:`Connector.parse` from the partner's native bytes to
:class:`~schemas.envelope.Envelope` objects, raising :class:`ParseFailed` with every
error by field, plus a thin description of its HTTP transport. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from pydantic import ValidationError

from hub.errors import SchemaViolationError
from schemas.common import Partner, Rag, RiskLevel, SubjectRole
from schemas.envelope import Envelope, QualityFinding, Subject, age_on

MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c1d1e-8f35-4c7b-9a51-2d0e5b7f3a10")
"""Namespace of the deterministic message ids (a resend gets the same id)."""


@dataclass(frozen=True)
class FieldError:
    """One problem with the partner's input: where, and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ParseFailed(SchemaViolationError):
    """The input cannot be accepted; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in errors[:5]) or "invalid input")


@dataclass(frozen=True)
class ParseContext:
    """What a parse needs from outside: the clock reading and the subject-key secret."""

    received_at: datetime
    subject_key_secret: bytes = field(repr=False)

    def subject_key(self, *parts: str) -> str:
        """Return the keyed hash (HMAC-SHA256, hex) of normalised identifying parts."""
        message = "|".join(parts).encode()
        return hmac.new(self.subject_key_secret, message, hashlib.sha256).hexdigest()


class Connector(Protocol):
    """What the hub knows about a connector: a partner, a parser, a transport."""

    partner: Partner
    kinds: frozenset[str]
    http_path: str
    content_types: tuple[str, ...]
    max_body_bytes: int

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse native bytes into envelopes, or raise :class:`ParseFailed`."""
        ...


# --------------------------------------------------------------------- identifiers


def nhs_number_is_valid(number: str) -> bool:
    """Return whether ten digits pass the NHS modulus-11 check."""
    if not re.fullmatch(r"\d{10}", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:  # noqa: PLR2004
        check = 0
    return check != 10 and check == int(number[9])  # noqa: PLR2004


def normalise_nhs_number(raw: str) -> str | None:
    """Strip spaces and dashes; return ten digits or None when it is not ten digits."""
    digits = re.sub(r"[\s-]", "", raw)
    return digits if re.fullmatch(r"\d{10}", digits) else None


def normalise_name(raw: str) -> str:
    """Upper-case letters only, accents removed, for matching."""
    text = unicodedata.normalize("NFKD", raw)
    return "".join(ch for ch in text.upper() if "A" <= ch <= "Z")


def normalise_postcode(raw: str) -> str:
    """Upper-case, no spaces."""
    return re.sub(r"\s", "", raw).upper()


@dataclass
class PersonIdentity:
    """Identifying facts of one person, for deriving the subject key."""

    nhs_number: str | None = None
    nhs_valid: bool = False
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    postcode: str | None = None


def derive_subject_key(context: ParseContext, person: PersonIdentity, fallback: str) -> str:
    """Key a person by verified NHS number, else name + date of birth + postcode.

    Without enough to match safely, the key is unique to this message (``fallback``),
    so a poorly identified person is never merged with someone else's history.
    """
    if person.nhs_number and person.nhs_valid:
        return context.subject_key("nhs", person.nhs_number)
    if person.given_name and person.family_name and person.date_of_birth and person.postcode:
        return context.subject_key(
            "demographic",
            normalise_name(person.given_name),
            normalise_name(person.family_name),
            person.date_of_birth.isoformat(),
            normalise_postcode(person.postcode),
        )
    return context.subject_key("unmatched", fallback)


def message_id_for(partner: Partner, org_code: str, reference: str, index: int = 0) -> uuid.UUID:
    """The deterministic id of the ``index``-th message of a partner reference."""
    return uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{partner.value}|{org_code}|{reference}|{index}")


def primary_subject_key(subjects: list[Subject]) -> str:
    """The message key: the first child's key, else the victim's, else the first subject's."""
    for subject in subjects:
        if subject.is_child:
            return subject.subject_key
    for subject in subjects:
        if subject.role is SubjectRole.VICTIM:
            return subject.subject_key
    return subjects[0].subject_key


def age_at(born: date | None, when: datetime) -> int | None:
    """Age in whole years at ``when``, or None when the date of birth is unknown."""
    if born is None or born > when.date():
        return None
    return age_on(born, when)


# --------------------------------------------------------------------- risk grades

_GRADES: dict[str, tuple[RiskLevel, Rag]] = {
    "high": (RiskLevel.HIGH, Rag.RED),
    "red": (RiskLevel.HIGH, Rag.RED),
    "l4": (RiskLevel.HIGH, Rag.RED),
    "medium": (RiskLevel.MEDIUM, Rag.AMBER),
    "amber": (RiskLevel.MEDIUM, Rag.AMBER),
    "l3": (RiskLevel.MEDIUM, Rag.AMBER),
    "standard": (RiskLevel.STANDARD, Rag.GREEN),
    "low": (RiskLevel.STANDARD, Rag.GREEN),
    "green": (RiskLevel.STANDARD, Rag.GREEN),
    "l2": (RiskLevel.STANDARD, Rag.GREEN),
    "blue": (RiskLevel.STANDARD, Rag.BLUE),
    "l1": (RiskLevel.STANDARD, Rag.BLUE),
}
KNOWN_GRADES = ("High", "Medium", "Low", "Standard", "Red", "Amber", "Green", "Blue")


def map_grade(grade: str) -> tuple[RiskLevel, Rag] | None:
    """Map a partner's verbatim grade to the canonical level and RAG, or None."""
    return _GRADES.get(grade.strip().lower())


def validation_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Turn a pydantic error into field errors with dotted paths."""
    errors = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        where = f"{prefix}.{path}" if prefix and path else (prefix or path or "body")
        errors.append(FieldError(where, err["msg"]))
    return errors


def finding(code: str, where: str, message: str, *, warning: bool = True) -> QualityFinding:
    """Build a data-quality finding."""
    return QualityFinding(
        code=code, field=where, message=message, severity="warning" if warning else "info"
    )
