"""The police CSV batch export: one row per person, grouped into notifications by reference.

The columns mirror the JSON format (:mod:`.format`): a notification's fields keep
their JSON names, the consent block's fields are prefixed ``consent_`` and a person's
fields ``person_``. Notification columns are repeated on every row of a reference, or
left blank after its first row; a different value is an error. Rows are numbered as
a spreadsheet shows them (the header is row 1), and every error names the row and
the column, e.g. ``row 3.person_date_of_birth``.

Each group of rows becomes a JSON document of the notification format and is
validated by the same models, so a CSV notification means exactly what the same
JSON notification means.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from pydantic import ValidationError

from connectors.errors import FieldError
from connectors.native import MIB, check_size, decode_text, validation_errors
from connectors.police.format import ConsentFacts, Person, PoliceNotification

CSV_MAX_BYTES = 20 * MIB
"""The largest CSV batch the police connector parses."""

Locator = Callable[[str], str]
"""Maps a field path of the JSON format to where it is in the partner's input."""

_PERSON, _CONSENT = "person_", "consent_"
NOTIFICATION_COLUMNS = tuple(
    n for n in PoliceNotification.model_fields if n not in {"persons", "consent"}
)
CONSENT_COLUMNS = tuple(_CONSENT + name for name in ConsentFacts.model_fields)
PERSON_COLUMNS = tuple(_PERSON + name for name in Person.model_fields)
COLUMNS = NOTIFICATION_COLUMNS + CONSENT_COLUMNS + PERSON_COLUMNS
"""Every column a batch may have, in the documented order."""

REQUIRED_COLUMNS = (
    "reference",
    "force_code",
    "notification_type",
    "occurred_at",
    "risk_grade",
    "summary",
    "submitted_by",
    "person_role",
)
"""Columns the header must have; any other column may be left out."""

BOOLEAN_COLUMNS = frozenset(
    {"professional_judgement_high"}
    | {
        _PERSON + name
        for name in (
            "present",
            "witnessed",
            "injured",
            "resides_at_address",
            "works_with_children",
            "pregnant",
            "elective_home_education",
        )
    }
)
"""Columns holding yes or no (any case), or blank for unknown."""

INTEGER_COLUMNS = frozenset({"risk_score"})
LIST_COLUMNS = frozenset({"concerns"})
"""Columns holding several values separated by semicolons."""

_SHARED_COLUMNS = NOTIFICATION_COLUMNS + CONSENT_COLUMNS
_MAX_DIGITS = 3
_Row = tuple[int, dict[str, str]]


def read_batch(raw: bytes) -> tuple[list[tuple[PoliceNotification, Locator]], list[FieldError]]:
    """Read a CSV batch into notifications, each with its locator, and every error found."""
    check_size(raw, CSV_MAX_BYTES, "the CSV batch")
    rows, errors = _read_rows(decode_text(raw))
    if errors:  # a misshapen file: its groups would only add knock-on errors
        return [], errors
    groups: dict[str, list[_Row]] = {}
    for number, cells in rows:
        reference = cells["reference"].strip()
        if reference:
            groups.setdefault(reference, []).append((number, cells))
        else:
            errors.append(FieldError(f"row {number}.reference", "required to group the rows"))
    if not rows:
        errors.append(FieldError("body", "the CSV batch has a header but no rows"))
    notifications = []
    for members in groups.values():
        notification, locate, found = _notification(members)
        errors.extend(found)
        if notification is not None:
            notifications.append((notification, locate))
    return notifications, errors


def _read_rows(text: str) -> tuple[list[_Row], list[FieldError]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    errors: list[FieldError] = []
    last = 0  # the last row read whole; a CSV error is in the next one
    try:
        columns, errors = _header(next(reader, []))
        if errors:
            return [], errors
        last = 1
        for number, cells in enumerate(reader, start=2):
            last = number
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                message = f"has {len(cells)} cells; the header has {len(columns)}"
                errors.append(FieldError(f"row {number}", message))
                continue
            rows.append((number, dict(zip(columns, cells, strict=True))))
    except csv.Error as exc:
        errors.append(FieldError(f"row {last + 1}", f"is not readable as CSV: {exc}"))
    return rows, errors


def _header(cells: list[str]) -> tuple[list[str], list[FieldError]]:
    if not cells:
        return [], [FieldError("header", "the CSV batch has no header row")]
    names = [cell.strip().lower() for cell in cells]
    errors = [
        FieldError(f"header.{name[:60] or index}", "unknown column")
        for index, name in enumerate(names, start=1)
        if name not in COLUMNS
    ]
    errors += [
        FieldError(f"header.{name}", "column appears more than once")
        for name in dict.fromkeys(names)
        if name in COLUMNS and names.count(name) > 1
    ]
    errors += [
        FieldError(f"header.{name}", "required column is missing")
        for name in REQUIRED_COLUMNS
        if name not in names
    ]
    return names, errors


def _notification(
    members: list[_Row],
) -> tuple[PoliceNotification | None, Locator, list[FieldError]]:
    """Validate one reference's rows as a notification of the JSON format."""
    values, origin, errors = _shared_values(members)
    locate = _locator([number for number, _ in members], origin)
    document: dict[str, object] = {}
    consent: dict[str, object] = {}
    for column, value in values.items():
        converted = _convert(column, value, f"row {origin[column]}.{column}", errors)
        if column.startswith(_CONSENT):
            consent[column.removeprefix(_CONSENT)] = converted
        else:
            document[column] = converted
    if consent:
        document["consent"] = consent
    document["persons"] = [_person(number, cells, errors) for number, cells in members]
    try:
        notification = PoliceNotification.model_validate_json(json.dumps(document))
    except ValidationError as exc:
        seen = {error.field for error in errors}
        for error in validation_errors(exc):
            where = locate(error.field)
            if where not in seen:
                errors.append(FieldError(where, error.message))
        return None, locate, errors
    return (None if errors else notification), locate, errors


def _shared_values(members: list[_Row]) -> tuple[dict[str, str], dict[str, int], list[FieldError]]:
    """Notification columns: the first non-blank value, and rows that disagree with it."""
    values: dict[str, str] = {}
    origin: dict[str, int] = {}
    errors: list[FieldError] = []
    for number, cells in members:
        for column in _SHARED_COLUMNS:
            value = cells.get(column, "").strip()
            if not value:
                continue
            if column not in values:
                values[column], origin[column] = value, number
            elif values[column] != value:
                message = f"differs from row {origin[column]} of the same reference"
                errors.append(FieldError(f"row {number}.{column}", message))
    return values, origin, errors


def _person(number: int, cells: dict[str, str], errors: list[FieldError]) -> dict[str, object]:
    person: dict[str, object] = {}
    for column in PERSON_COLUMNS:
        value = cells.get(column, "").strip()
        if value:
            where = f"row {number}.{column}"
            person[column.removeprefix(_PERSON)] = _convert(column, value, where, errors)
    return person


def _convert(column: str, value: str, where: str, errors: list[FieldError]) -> object:
    """A cell's JSON value; a cell that does not convert stays text, with an error."""
    if column in BOOLEAN_COLUMNS:
        answer = {"yes": True, "no": False}.get(value.lower())
        if answer is None:
            errors.append(FieldError(where, "must be yes, no or blank"))
            return value
        return answer
    if column in INTEGER_COLUMNS:
        if not value.isascii() or not value.isdigit() or len(value) > _MAX_DIGITS:
            errors.append(FieldError(where, "must be a whole number from 0 to 999"))
            return value
        return int(value)
    if column in LIST_COLUMNS:
        return [item.strip() for item in value.split(";") if item.strip()]
    return value


def _locator(rows: list[int], origin: dict[str, int]) -> Locator:
    """Map JSON field paths of one notification to its rows and columns."""
    first = rows[0]

    def locate(path: str) -> str:
        head, _, rest = path.partition(".")
        if head == "persons":
            index, _, field = rest.partition(".")
            if not (index.isascii() and index.isdigit()) or int(index) >= len(rows):
                return f"row {first}"
            row = rows[int(index)]
            return f"row {row}.{_PERSON}{field}" if field else f"row {row}"
        if head in {"", "body"}:
            return f"row {first}"
        column = f"{_CONSENT}{rest.partition('.')[0]}" if head == "consent" and rest else head
        return f"row {origin.get(column, first)}.{column}"

    return locate
