"""Reading a partner's native bytes: media types, sizes, UTF-8, JSON, plausibility.

Each helper turns one kind of bad input into a :class:`~connectors.errors.ParseFailed`
naming the field, so a parser never lets another exception escape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from connectors.errors import FieldError, ParseFailed
from schemas.envelope import age_on

MIB = 1024 * 1024
JSON_MAX_BYTES = MIB
"""The largest JSON document a connector parses (the transport answers 413 first)."""
JSON_TYPES: tuple[str, ...] = ("application/json",)
"""The media types of a native JSON format."""

_ModelT = TypeVar("_ModelT", bound=BaseModel)

_FIRST_YEAR, _LAST_YEAR = 1900, 2199
_FIRST_BIRTH_YEAR = 1890
_MAX_AGE = 130


def validation_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Turn a pydantic error into field errors with dotted paths."""
    errors = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        where = f"{prefix}.{path}" if prefix and path else (prefix or path or "body")
        errors.append(FieldError(where, err["msg"]))
    return errors


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


def parse_json_body(model: type[_ModelT], raw: bytes, content_type: str) -> _ModelT:
    """The body of a format that is one JSON document: its media type, then the model."""
    media_type(content_type, JSON_TYPES)
    return parse_json_model(model, raw)


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
