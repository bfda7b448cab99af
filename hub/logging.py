"""Structured JSON logging, configured once by the composition root.

Event names are stable snake_case. Per message, handlers bind ``message_id``,
``partner``, ``topic``, ``partition`` and ``offset`` with
:func:`structlog.contextvars.bind_contextvars`. The :func:`redact_personal_data`
processor runs on every line, so a stray field holding personal data never reaches
the output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from hub.settings import LoggingSettings

# Keys whose values are personal data or key material wherever they appear.
_SENSITIVE_KEYS = frozenset(
    {
        "name",
        "given_name",
        "family_name",
        "full_name",
        "date_of_birth",
        "dob",
        "birth_date",
        "nhs_number",
        "address",
        "postcode",
        "narrative",
        "summary",
        "payload",
        "body",
        "value",
        "password",
        "secret",
        "token",
        "credential",
        "key",
        "private_key",
        "api_key",
        "authorization",
        "school_urn",
        "phone",
        "email",
        # Who recorded consent or submitted a message (an officer's or a nurse's name),
        # and why an area decided what it did (free text about the family).
        "recorded_by",
        "consent_recorded_by",
        "submitted_by",
        "rationale",
        # What an Operation Encompass notice adds: the child's own words, where the
        # child was, where the incident happened.
        "voice",
        "child_voice",
        "location_during_incident",
        "incident_location",
    }
)
REDACTED = "[redacted]"

# Values that look like personal data wherever they appear in text: NHS numbers (ten
# digits, spaced or not), calendar dates (dates of birth) written the ISO way or the
# British way (dd/mm/yyyy, also with '.' or '-', and two-digit years), UK postcodes,
# e-mail addresses and phone numbers. Names cannot be recognised by shape, which is
# why payloads and content are never passed to a logger in the first place.
_PATTERNS = (
    re.compile(r"(?<![\w-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\w-])"),
    re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w:-])"),
    re.compile(r"(?<![\w/.-])\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2})(?![\w/-]|\.\d)"),
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.IGNORECASE),
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    re.compile(r"(?<![\w-])(?:\+44\s?|0)\d{2,4}\s?\d{3,4}\s?\d{3,4}(?![\w-])"),
)
_TRUSTED_KEYS = frozenset({"timestamp", "level", "event", "logger"})


def scrub_text(text: str) -> str:
    """Replace identifier-shaped substrings with the redaction marker."""
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in _SENSITIVE_KEYS else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace values of personal-data and secret keys, at any depth, with a marker."""
    for key in list(event_dict):
        if key in _TRUSTED_KEYS:
            continue
        if key.lower() in _SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(settings: LoggingSettings) -> None:
    """Configure structlog and the standard library once for this process."""
    level = logging.getLevelNamesMapping()[settings.level]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Third-party libraries log through the standard library. The hub translates their
    # errors and logs its own events, so their lines would only repeat them unstructured
    # (and at DEBUG some print payloads): silence them.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    for noisy in ("aiokafka", "kafka", "faststream", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
