"""Who a message is about: NHS numbers, names, subject keys and message ids.

Raw identifiers are normalised here and never leave the connector in clear in a key:
the subject key is a keyed hash (DESIGN.md section 4).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from connectors.protocol import ParseContext
from schemas.common import Partner, SubjectRole
from schemas.envelope import Subject, age_on

MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c1d1e-8f35-4c7b-9a51-2d0e5b7f3a10")
"""Namespace of the deterministic message ids (a resend gets the same id)."""


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


def normalise_address_line(raw: str) -> str:
    """The first line of an address (before the first comma), letters and digits only."""
    first = raw.split(",", 1)[0]
    text = unicodedata.normalize("NFKD", first)
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def derive_household_key(
    context: ParseContext, address: str | None, postcode: str | None
) -> str | None:
    """Key a household by its normalised first address line and postcode, or None.

    Both are needed: a postcode alone covers a street, not a home. The key is a keyed
    hash like a subject key, so the address never travels in clear in routing metadata.
    """
    if not address or not postcode:
        return None
    line = normalise_address_line(address)
    if not line:
        return None
    return context.subject_key("household", line, normalise_postcode(postcode))


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
