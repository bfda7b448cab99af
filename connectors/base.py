"""The shape every connector shares, and the helpers they all use.

A connector is a pure :meth:`Connector.parse` from the partner's native bytes to
:class:`~schemas.envelope.Envelope` objects, raising :class:`ParseFailed` with every
error by field, plus a thin description of its HTTP transport. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from hub.errors import SchemaViolationError
from schemas.common import ConsentStatus, NhsNumberStatus, Partner, Rag, RiskLevel, SubjectRole
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


class ParseFailed(SchemaViolationError):  # noqa: N818 - the registry's public name
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
    """The message key: a child's key, else the victim's, else the first subject's.

    Among several children (or victims) the smallest key is taken, not the first
    listed: two partners reporting one family list the children in different orders,
    and must still key the message by the same child so that the router sees both
    reports in that child's history (and can link them).
    """
    children = sorted(s.subject_key for s in subjects if s.is_child)
    if children:
        return children[0]
    victims = sorted(s.subject_key for s in subjects if s.role is SubjectRole.VICTIM)
    if victims:
        return victims[0]
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


# --------------------------------------------------------------------- native input
# Helpers the JSON and CSV connectors share: each turns one kind of bad input into a
# ParseFailed naming the field, so a parser never lets another exception escape.

MIB = 1024 * 1024
JSON_MAX_BYTES = MIB
"""The largest JSON document a connector parses (the transport answers 413 first)."""

_ModelT = TypeVar("_ModelT", bound=BaseModel)

_FIRST_YEAR, _LAST_YEAR = 1900, 2199
_FIRST_BIRTH_YEAR = 1890
_MAX_AGE = 130


def media_type(content_type: str, supported: tuple[str, ...]) -> str:
    """Return the media type of a Content-Type header, or raise for one not supported.

    A ``charset`` parameter other than UTF-8 is refused: every native format is UTF-8.
    """
    kind, *params = (part.strip() for part in content_type.split(";"))
    kind = kind.lower()
    if kind not in supported:
        shown = kind[:60] or "an empty content type"
        raise ParseFailed(
            [FieldError("content-type", f"{shown} is not supported; send {' or '.join(supported)}")]
        )
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise ParseFailed([FieldError("content-type", "only charset=utf-8 is supported")])
    return kind


def check_size(raw: bytes, limit: int, what: str) -> None:
    """Refuse a body larger than ``limit`` bytes, or an empty one."""
    if len(raw) > limit:
        raise ParseFailed([FieldError("body", f"{what} is larger than {limit} bytes")])
    if not raw.strip():
        raise ParseFailed([FieldError("body", f"{what} is empty")])


def decode_text(raw: bytes) -> str:
    """Decode strict UTF-8, dropping a leading byte-order mark, or name the bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseFailed([FieldError("body", f"not valid UTF-8 at byte {exc.start}")]) from exc


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen.add(key)


def duplicate_key_errors(text: str | bytes) -> list[FieldError]:
    """An error for a key repeated in one JSON object (JSON parsers disagree on which wins).

    Only duplicates are looked for here; every other defect is left to the validating
    parser, which names it precisely.
    """
    try:
        json.loads(text, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as exc:
        key = str(exc.args[0])[:60]
        return [FieldError("body", f"the key {key!r} appears twice in one object")]
    except (ValueError, RecursionError):
        return []
    return []


def parse_json_model(model: type[_ModelT], raw: bytes, limit: int = JSON_MAX_BYTES) -> _ModelT:
    """Validate a JSON document against a native-format model, or raise every error.

    Pydantic's JSON parser refuses what :mod:`json` would crash on or accept silently:
    nesting deeper than its recursion limit, numbers too large to represent, NaN,
    lone surrogates, trailing data. All of it arrives here as a ValidationError.
    """
    check_size(raw, limit, "the JSON document")
    text = decode_text(raw)
    duplicates = duplicate_key_errors(text)
    if duplicates:
        raise ParseFailed(duplicates)
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise ParseFailed(validation_errors(exc)) from exc


@contextmanager
def contract_errors(where: str = "envelope") -> Iterator[None]:
    """Turn a ValidationError of the hub's own contracts into ParseFailed.

    Native formats are at least as strict as the envelope, so this is a safety net: a
    value a format let through but the envelope refuses is still a field error.
    """
    try:
        yield
    except ValidationError as exc:
        raise ParseFailed(validation_errors(exc, where)) from exc


def plausible_instant(value: datetime) -> datetime:
    """Refuse instants outside 1900 to 2199 (pydantic ``AfterValidator``)."""
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise PydanticCustomError("implausible_datetime", "must be between 1900 and 2199")
    return value


def plausible_birth_date(value: date) -> date:
    """Refuse dates of birth before 1890 or after 2199 (pydantic ``AfterValidator``)."""
    if not _FIRST_BIRTH_YEAR <= value.year <= _LAST_YEAR:
        raise PydanticCustomError("implausible_date", "must be between 1890 and 2199")
    return value


def birth_date_errors(born: date | None, occurred_at: datetime, where: str) -> list[FieldError]:
    """Errors for a date of birth after the event, or more than 130 years before it."""
    if born is None:
        return []
    if born > occurred_at.date():
        return [FieldError(where, "is after the date of the event")]
    if age_on(born, occurred_at) > _MAX_AGE:
        return [FieldError(where, f"gives an age over {_MAX_AGE} at the date of the event")]
    return []


# --------------------------------------------------------------------- envelope parts


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
        nhs_number=number,
        nhs_number_status=status,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        expected_date_of_birth=expected_date_of_birth,
        address=address,
        postcode=postcode,
        school_urn=school_urn,
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


LEVEL_RAG: dict[RiskLevel, Rag] = {
    RiskLevel.HIGH: Rag.RED,
    RiskLevel.MEDIUM: Rag.AMBER,
    RiskLevel.STANDARD: Rag.GREEN,
}
"""The RAG rating of a canonical level that was not graded in colours."""


def with_judgement(level: RiskLevel, rag: Rag, *, judged_high: bool) -> tuple[RiskLevel, Rag]:
    """Professional judgement of high risk raises the level to high; it never lowers it."""
    return (RiskLevel.HIGH, Rag.RED) if judged_high else (level, rag)
