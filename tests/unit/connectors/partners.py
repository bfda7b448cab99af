"""Each registered partner as the connector tests see it: what to send, what to expect.

The conformance suite (``test_conformance.py``) runs every shared behaviour over
:data:`CASES`; the per-partner suites use a case's helpers for their own tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.domestic_abuse import DomesticAbuseConnector
from connectors.domestic_abuse.format import DashAssessment
from connectors.errors import ParseFailed
from connectors.health import HealthConnector
from connectors.housing import HousingConnector
from connectors.housing.format import DutyToRefer
from connectors.police import PoliceConnector
from connectors.police.format import PoliceNotification
from connectors.protocol import Connector, ParseContext
from connectors.registry import connector_for
from hub.settings import PROJECT_ROOT
from schemas.common import Partner
from schemas.envelope import Envelope
from tests.unit.connectors import documents

FORMATS = PROJECT_ROOT / "docs" / "formats"
RECEIVED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
CONTEXT = ParseContext(received_at=RECEIVED, subject_key_secret=b"synthetic-test-secret-0123456789")
MIB = 1024 * 1024

CONSENT_TO_REFER = (
    "must be true: consent to refer is a legal requirement of the duty to refer "
    "(Housing Act 1996 s213B); the person must agree before a referral is made"
)
CONSENT_TO_SHARE = (
    "must be true: the duty to refer requires the person's agreement that their contact "
    "details go to the housing authority (Homelessness Code of Guidance, ch. 4)"
)

_NATIVE_JSON = {
    "not_utf8": "not valid UTF-8 at byte 0",
    "invalid": "Invalid JSON: ",
    "not_object": "Input should be an object",
}
_FHIR_JSON = {
    "not_utf8": "not valid JSON: ",
    "invalid": "not valid JSON: ",
    "not_object": "a FHIR resource is a JSON object",
}


@dataclass(frozen=True)
class Body:
    """How the connector names a document of one content type in errors, and its size limit."""

    what: str
    limit: int


@dataclass(frozen=True)
class PartnerCase:
    """One partner: the connector's expected description and its documents under test."""

    partner: Partner
    connector_class: type
    http_path: str
    kinds: frozenset[str]
    bodies: Mapping[str, Body]
    """Every content type the connector takes, in its order, with its body's name and limit."""
    suffixes: Mapping[str, tuple[str, ...]]
    """Which content types an example file of each suffix is sent as."""
    required: Mapping[str, str]
    """The errors of an empty JSON object: every required field, with its message."""
    identity: tuple[tuple[str, ...], ...]
    """Paths into a JSON document whose value is part of the message id."""
    samples: tuple[Any, ...]
    """Values the format gives meaning to, mixed into the mutations."""
    seeds: tuple[dict[str, Any], ...] = ()
    """Valid JSON documents besides the examples."""
    schema: tuple[str, type[BaseModel]] | None = None
    """The committed JSON Schema file and the model it is generated from."""
    root: str = ""
    """How an error names a top-level field of a JSON example (FHIR: ``Bundle.``)."""
    body_errors: Mapping[str, str] = field(default_factory=lambda: _NATIVE_JSON)
    """The words of the body errors that differ between native JSON and FHIR."""
    error_media_type: str | None = None
    """The media type of the format's own error document; None for problem details."""

    def __str__(self) -> str:
        return self.partner.value

    @property
    def connector(self) -> Connector:
        return connector_for(self.partner)

    @property
    def json_type(self) -> str:
        return next(t for t in self.bodies if "json" in t)

    def examples(self) -> list[Path]:
        return sorted((FORMATS / "examples" / self.partner.value).iterdir())

    def load(self, name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(
            (FORMATS / "examples" / self.partner.value / name).read_text()
        )
        return loaded

    @cached_property
    def json_documents(self) -> list[dict[str, Any]]:
        """Every valid JSON document: the JSON examples, then the seeds."""
        return [self.load(p.name) for p in self.examples() if p.suffix == ".json"] + list(
            self.seeds
        )

    def parse_doc(self, doc: dict[str, Any], context: ParseContext = CONTEXT) -> Envelope:
        """Parse a JSON document that holds exactly one message."""
        envelopes = self.connector.parse(json.dumps(doc).encode(), self.json_type, context)
        assert len(envelopes) == 1
        return envelopes[0]

    def refusal(self, raw: bytes, content_type: str | None = None) -> ParseFailed:
        with pytest.raises(ParseFailed) as info:
            self.connector.parse(
                raw, self.json_type if content_type is None else content_type, CONTEXT
            )
        return info.value

    def failures(self, raw: bytes, content_type: str | None = None) -> dict[str, str]:
        """The errors that refuse ``raw``, field to message."""
        return {e.field: e.message for e in self.refusal(raw, content_type).errors}

    def doc_failures(self, doc: dict[str, Any]) -> dict[str, str]:
        return self.failures(json.dumps(doc).encode())


def _required(*fields: str, **messages: str) -> dict[str, str]:
    return dict.fromkeys(fields, "Field required") | messages


POLICE = PartnerCase(
    partner=Partner.POLICE,
    connector_class=PoliceConnector,
    http_path="/v1/police/notifications",
    kinds=frozenset(
        f"police.notification.{t}"
        for t in (
            "domestic_abuse",
            "child_concern",
            "adult_at_risk",
            "missing_person",
            "person_posing_risk",
            "other",
        )
    ),
    bodies={
        "application/json": Body("the JSON document", MIB),
        "text/csv": Body("the CSV batch", 20 * MIB),
    },
    suffixes={".json": ("application/json",), ".csv": ("text/csv",)},
    required=_required(
        "force_code",
        "reference",
        "notification_type",
        "occurred_at",
        "risk_grade",
        "persons",
        "summary",
        "submitted_by",
    ),
    identity=(("reference",),),
    samples=(
        "yes",
        "no",
        "child",
        "victim",
        "unborn_child",
        "High",
        "Purple",
        "DASH",
        "9990000000",
        "ZZ1 1AA",
        "2026-11-20",
        "2026-11-20T10:00:00",
        "2026-11-20T10:00:00Z",
        "9999-12-31T23:59:59-23:59",
    ),
    seeds=(documents.notification(),),
    schema=("police.schema.json", PoliceNotification),
)
HEALTH = PartnerCase(
    partner=Partner.HEALTH,
    connector_class=HealthConnector,
    http_path="/v1/health/fhir",
    kinds=frozenset({"health.safeguarding_concern"}),
    bodies=dict.fromkeys(
        ("application/fhir+json", "application/json", "application/fhir+xml", "application/xml"),
        Body("the FHIR document", 5 * MIB),
    ),
    suffixes={
        ".json": ("application/fhir+json", "application/json"),
        ".xml": ("application/fhir+xml", "application/xml"),
    },
    required={"resourceType": "missing: the document is not a FHIR resource"},
    identity=(("identifier", "value"),),
    samples=("Patient/child", "#p", "2026-13-01", "active", "message", "9990000027", "Bundle"),
    seeds=(
        documents.bundle(
            documents.patient(), documents.flag(), documents.consent(), documents.related()
        ),
        documents.bundle(
            documents.patient(),
            documents.service_request(priority="asap"),
            documents.communication(),
            kind="batch",
        ),
    ),
    root="Bundle.",
    body_errors=_FHIR_JSON,
    error_media_type="application/fhir+json",
)
HOUSING = PartnerCase(
    partner=Partner.HOUSING,
    connector_class=HousingConnector,
    http_path="/v1/housing/referrals",
    kinds=frozenset({"housing.duty_to_refer"}),
    bodies={"application/json": Body("the JSON document", MIB)},
    suffixes={".json": ("application/json",)},
    required=_required(
        "reference",
        "referred_at",
        "referring_body",
        "applicant",
        "chosen_authority",
        "reason",
        consent_to_refer=CONSENT_TO_REFER,
        consent_to_share_contact_details=CONSENT_TO_SHARE,
    ),
    identity=(("reference",),),
    samples=(
        "child",
        "homeless",
        "threatened_with_homelessness",
        "2026-11-20",
        "2009-11-26",
        "2026-11-25T10:30:00",
        "9990000000",
        "E07000999",
        "UK GDPR 6(1)(a)",
    ),
    schema=("housing.schema.json", DutyToRefer),
)
DOMESTIC_ABUSE = PartnerCase(
    partner=Partner.DOMESTIC_ABUSE,
    connector_class=DomesticAbuseConnector,
    http_path="/v1/domestic-abuse/assessments",
    kinds=frozenset({"domestic_abuse.dash_assessment"}),
    bodies={"application/json": Body("the JSON document", MIB)},
    suffixes={".json": ("application/json",)},
    required=_required(
        "reference",
        "org_code",
        "assessed_at",
        "assessor",
        "answers",
        "professional_judgement",
        "victim",
        "consent",
    ),
    identity=(("reference",), ("org_code",)),
    samples=(
        "yes",
        "no",
        "not_known",
        "given",
        "refused",
        "High",
        "2026-11-20",
        "2026-11-20T10:00:00",
        "2026-11-20T10:00:00Z",
        "9990000000",
        "ZZ1 1AA",
    ),
    seeds=(documents.assessment(judged_high=True),),
    schema=("domestic-abuse.schema.json", DashAssessment),
)

CASES = (POLICE, HEALTH, HOUSING, DOMESTIC_ABUSE)
"""Every registered partner, in partner order."""
