"""Turning a refused :class:`~schemas.outcome.RecordOutcome` into clear errors by field.

The page shows them next to the form fields; the API lists them in a ``422``
problem. Both say the same thing, in words a practitioner understands, and never
repeat what was typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

RATIONALE_REQUIRED = "Enter a rationale: say why this outcome was chosen."
RATIONALE_TOO_LONG = "The rationale must be at most 5000 characters."
OUTCOME_REQUIRED = "Choose an outcome from the list."


def _field(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(field: str, kind: str, fallback: str) -> str:
    if field == "rationale":
        return RATIONALE_TOO_LONG if kind == "string_too_long" else RATIONALE_REQUIRED
    if field == "outcome":
        return OUTCOME_REQUIRED
    return fallback


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The first error of each field, by dotted field name (``body.`` removed)."""
    found: dict[str, str] = {}
    for error in errors:
        field = _field(error.get("loc", ()))
        found.setdefault(field, _message(field, str(error.get("type", "")), str(error.get("msg"))))
    return found
