"""Police notifications as a force sends them: JSON documents and CSV batch exports.

The shapes follow ``docs/formats/police.md``. A notification is built as the JSON
document; :func:`csv_batch` writes several of them as the batch export, one row per
person, with the notification's columns filled on each reference's first row only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.demo.people import Person

LONDON = ZoneInfo("Europe/London")

CSV_COLUMNS = (
    "reference",
    "force_code",
    "notification_type",
    "occurred_at",
    "reported_at",
    "risk_grade",
    "risk_tool",
    "risk_score",
    "summary",
    "submitted_by",
    "system",
    "concerns",
    "incident_location",
    "consent_no_consent_reason",
    "consent_statutory_gateway",
    "person_role",
    "person_given_name",
    "person_family_name",
    "person_date_of_birth",
    "person_nhs_number",
    "person_postcode",
    "person_address",
    "person_school_urn",
    "person_present",
    "person_witnessed",
    "person_injured",
    "person_resides_at_address",
    "person_works_with_children",
    "person_consent_to_share",
    "person_location_during_incident",
    "person_child_voice",
)
"""The columns of the demo force's export (a subset of the documented ones)."""


def local_time(instant: datetime) -> str:
    """An instant as the force writes it: UK local time with its UTC offset."""
    return instant.astimezone(LONDON).isoformat(timespec="seconds")


def person_entry(person: Person, role: str, **facts: Any) -> dict[str, Any]:
    """One ``persons`` entry: the person's identity, then facts such as ``present``.

    A fact whose value is None is left out, as a force leaves out what it does not know.
    """
    entry: dict[str, Any] = {
        "role": role,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": _day(person.date_of_birth),
        "nhs_number": person.nhs_number,
        "postcode": person.postcode,
        "address": person.address,
        "school_urn": person.school_urn if role == "child" else None,
    }
    entry.update(facts)
    return {name: value for name, value in entry.items() if value is not None}


def notification(
    *,
    force_code: str,
    reference: str,
    notification_type: str,
    occurred_at: datetime,
    reported_at: datetime,
    risk_grade: str,
    persons: list[dict[str, Any]],
    summary: str,
    submitted_by: str,
    system: str,
    risk_tool: str | None = None,
    risk_score: int | None = None,
    concerns: Iterable[str] = (),
    consent: dict[str, str] | None = None,
    incident_location: str | None = None,
) -> dict[str, Any]:
    """A notification document, optional fields left out when not given."""
    document: dict[str, Any] = {
        "force_code": force_code,
        "reference": reference,
        "notification_type": notification_type,
        "occurred_at": local_time(occurred_at),
        "reported_at": local_time(reported_at),
        "risk_grade": risk_grade,
        "risk_tool": risk_tool,
        "risk_score": risk_score,
        "persons": persons,
        "summary": summary,
        "submitted_by": submitted_by,
        "system": system,
        "concerns": list(concerns) or None,
        "consent": consent,
        "incident_location": incident_location,
    }
    return {name: value for name, value in document.items() if value is not None}


def csv_batch(documents: Iterable[dict[str, Any]]) -> bytes:
    """Several notifications as one CSV export: one row per person.

    Raises:
        ValueError: a document has a field the export has no column for.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for document in documents:
        shared = _notification_cells(document)
        for index, person in enumerate(document["persons"]):
            cells = {"reference": document["reference"]}
            cells |= {f"person_{name}": _cell(value) for name, value in person.items()}
            if index == 0:
                cells |= shared
            unknown = set(cells) - set(CSV_COLUMNS)
            if unknown:
                raise ValueError(f"no CSV column for {sorted(unknown)}")
            writer.writerow(cells.get(column, "") for column in CSV_COLUMNS)
    return buffer.getvalue().encode()


def _notification_cells(document: dict[str, Any]) -> dict[str, str]:
    cells = {
        name: _cell(value) for name, value in document.items() if name not in {"persons", "consent"}
    }
    consent: dict[str, str] = document.get("consent") or {}
    cells |= {f"consent_{name}": value for name, value in consent.items()}
    return cells


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None
