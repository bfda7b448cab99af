"""FHIR values read the way the hub needs them: instants, labels, texts, extensions.

fhir.resources types a ``dateTime`` as ``datetime`` but hands back a ``date`` or a
string for partial values ("2019", "2019-12"), so these readers take ``object``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.reference import Reference

from connectors.health._fhir.issues import Ledger

_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")
_FIRST_YEAR, _LAST_YEAR = 1900, 2199
_SHORT = 200


def instant(value: object, where: str, ledger: Ledger) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware datetime in the sender's own offset.

    A date is read as its midnight UTC, a year or month as its first day.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str) and (match := _PARTIAL.fullmatch(value)):
        moment = datetime(int(match.group(1)), int(match.group(2) or 1), 1, tzinfo=UTC)
    else:
        ledger.invalid(where, "is not a FHIR date or dateTime")
        return None
    if not _FIRST_YEAR <= moment.year <= _LAST_YEAR:
        ledger.invalid(where, f"must be between {_FIRST_YEAR} and {_LAST_YEAR}")
        return None
    return moment


def short(text: str | None) -> str | None:
    """Stripped text cut to the envelope's short-text limit, or None when empty."""
    text = (text or "").strip()
    return text[:_SHORT] if text else None


def label(reference: Reference | None) -> str | None:
    """How a reference names its target: display, else the reference, else an identifier."""
    if reference is None:
        return None
    identifier = reference.identifier.value if reference.identifier else None
    return short(reference.display) or short(reference.reference) or short(identifier)


def concept_text(concept: CodeableConcept | None) -> str | None:
    """The text of a concept, else the display of its first coding that has one."""
    if concept is None:
        return None
    displays = (coding.display for coding in concept.coding or [] if coding.display)
    return (concept.text or "").strip() or next(displays, None)
