"""Shared JSON handling of the connectors: duplicate keys are refused everywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.errors import ParseFailed
from connectors.native import duplicate_key_errors
from connectors.protocol import ParseContext
from connectors.registry import connector_for
from schemas.common import Partner

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "formats" / "examples"
CONTEXT = ParseContext(
    received_at=datetime(2026, 11, 25, 15, tzinfo=UTC), subject_key_secret=b"k" * 32
)
SAMPLES = {
    Partner.POLICE: (EXAMPLES / "police" / "notification-domestic-abuse.json", "application/json"),
    Partner.HEALTH: (EXAMPLES / "health" / "message-bundle.json", "application/fhir+json"),
    Partner.HOUSING: (EXAMPLES / "housing" / "referral-family.json", "application/json"),
    Partner.DOMESTIC_ABUSE: (
        EXAMPLES / "domestic-abuse" / "assessment-high-risk.json",
        "application/json",
    ),
}


def with_duplicate(raw: bytes) -> bytes:
    """The document with its first top-level key repeated with another value."""
    text = raw.decode()
    first = next(iter(json.loads(text)))
    return text.replace("{", '{"' + first + '": "decoy", ', 1).encode()


class TestDuplicateKeys:
    @pytest.mark.parametrize("partner", list(Partner))
    def test_a_repeated_key_is_refused_by_every_connector(self, partner: Partner) -> None:
        """Parsers disagree on which duplicate wins, so none is accepted."""
        path, content_type = SAMPLES[partner]
        raw = path.read_bytes()
        assert connector_for(partner).parse(raw, content_type, CONTEXT)
        with pytest.raises(ParseFailed, match="appears twice"):
            connector_for(partner).parse(with_duplicate(raw), content_type, CONTEXT)

    def test_nested_duplicates_and_clean_documents(self) -> None:
        """Duplicates at any depth are found; distinct keys and invalid JSON are not errors here."""
        assert duplicate_key_errors('{"a": {"b": 1, "b": 2}}')
        assert duplicate_key_errors('{"a": 1, "b": [{"a": 1}, {"a": 2}]}') == []
        assert duplicate_key_errors("{not json") == []
