"""Sending FHIR documents through the health connector, as the health tests do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.errors import ParseFailed
from connectors.health import CONNECTOR
from schemas.envelope import Envelope
from tests.unit.connectors.partners import CONTEXT

JSON = "application/fhir+json"
XML = "application/fhir+xml"


def parse(document: dict[str, Any] | bytes, content_type: str = JSON) -> list[Envelope]:
    """The envelopes of a FHIR document (a dict is sent as JSON)."""
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return CONNECTOR.parse(raw, content_type, CONTEXT)


def refusal(document: dict[str, Any] | bytes, content_type: str = JSON) -> ParseFailed:
    """The error that refuses a FHIR document."""
    with pytest.raises(ParseFailed) as caught:
        parse(document, content_type)
    return caught.value


def failures(document: dict[str, Any] | bytes, content_type: str = JSON) -> dict[str, str]:
    """The errors that refuse a FHIR document, field to message."""
    return {e.field: e.message for e in refusal(document, content_type).errors}
