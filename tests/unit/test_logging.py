"""The log processor removes personal data and key material from every line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog

from hub.logging import REDACTED, configure_logging, redact_personal_data, scrub_text
from hub.settings import LoggingSettings


def redact(**fields: Any) -> dict[str, Any]:
    return dict(redact_personal_data(None, "info", {"event": "e", **fields}))


class TestRedaction:
    @pytest.mark.parametrize(
        "key",
        [
            "given_name",
            "family_name",
            "date_of_birth",
            "nhs_number",
            "postcode",
            "narrative",
            "password",
            "private_key",
            "body",
            "payload",
            "address",
            "recorded_by",
            "consent_recorded_by",
            "submitted_by",
            "rationale",
            "child_voice",
            "voice",
            "location_during_incident",
            "incident_location",
        ],
    )
    def test_sensitive_keys_are_redacted(self, key: str) -> None:
        """Known personal-data and secret keys never keep their value."""
        assert redact(**{key: "Testchild Synthetic"})[key] == REDACTED

    def test_nested_values_are_redacted(self) -> None:
        """Personal data inside nested structures is removed too."""
        out = redact(
            subject={"given_name": "Mia", "role": "child"}, items=[{"postcode": "ZZ1 1AA"}]
        )
        assert out["subject"] == {"given_name": REDACTED, "role": "child"}
        assert out["items"] == [{"postcode": REDACTED}]

    @pytest.mark.parametrize(
        ("text", "secret"),
        [
            ("nhs 999 000 0026 seen", "999 000 0026"),
            ("born 2018-03-01", "2018-03-01"),
            ("lives at ZZ1 1AA now", "ZZ1 1AA"),
            ("mail jo.testvictim@example.org", "testvictim"),
            ("call 07700 900123", "900123"),
            ("id 9990000018", "9990000018"),
            ("born 01/03/2018, seen", "01/03/2018"),
            ("dob 1/3/2018", "1/3/2018"),
            ("dob 01.03.2018.", "01.03.2018"),
            ("dob 01-03-2018", "01-03-2018"),
            ("dob 01/03/18", "01/03/18"),
        ],
    )
    def test_identifier_shaped_text_is_redacted(self, text: str, secret: str) -> None:
        """Free text loses NHS numbers, dates, postcodes, e-mails and phone numbers."""
        scrubbed = scrub_text(text)
        assert REDACTED in scrubbed
        assert secret not in scrubbed

    def test_recorders_and_rationale_nested_in_records(self) -> None:
        """Consent's recorder, the submitter and a rationale are removed wherever they sit."""
        out = redact(
            consent={"status": "given", "recorded_by": "PC Testofficer 4471"},
            source={"system": "Niche RMS", "submitted_by": "Nurse Testnurse"},
            outcome={"outcome": "no_further_action", "rationale": "Mum is coping; see notes"},
        )
        assert out["consent"] == {"status": "given", "recorded_by": REDACTED}
        assert out["source"] == {"system": "Niche RMS", "submitted_by": REDACTED}
        assert out["outcome"]["rationale"] == REDACTED

    @pytest.mark.parametrize(
        "text",
        [
            "police reference 47/2026/120010",
            "client 127.0.0.12 and 203.0.113.66",
            "uvicorn 0.54.0",
            "took 12.5 ms of 1/2",
        ],
    )
    def test_things_that_are_not_dates_survive(self, text: str) -> None:
        """References, addresses, versions and fractions are not mistaken for dates."""
        assert scrub_text(text) == text

    def test_operational_fields_survive(self) -> None:
        """Ids, counts, topics and timestamps stay readable."""
        out = redact(
            message_id="3f2b7c1e-0000-4000-8000-000000000001",
            partition=3,
            offset=12345,
            topic="partner.police.inbound",
            timestamp="2026-11-27T05:00:00Z",
        )
        assert out["message_id"] == "3f2b7c1e-0000-4000-8000-000000000001"
        assert out["partition"] == 3
        assert out["timestamp"] == "2026-11-27T05:00:00Z"

    def test_configured_logger_writes_redacted_json(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A real log line through the configured pipeline is JSON without the data."""
        configure_logging(LoggingSettings(level="INFO"))
        structlog.get_logger("t").info(
            "person_seen", family_name="Synthetic", note="dob 2018-03-01"
        )
        line = capsys.readouterr().err.strip().splitlines()[-1]
        data = json.loads(line)
        assert data["event"] == "person_seen"
        assert "Synthetic" not in line
        assert "2018-03-01" not in line
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
