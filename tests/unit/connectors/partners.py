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
from schemas.common import NhsNumberStatus, Partner
from schemas.envelope import Envelope
from tests.unit.connectors import documents

FORMATS = PROJECT_ROOT / "docs" / "formats"
HEALTH_DATA = PROJECT_ROOT / "tests" / "data" / "health"
RECEIVED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
CONTEXT = ParseContext(received_at=RECEIVED, subject_key_secret=b"synthetic-test-secret-0123456789")
MIB = 1024 * 1024
JSON = "application/json"

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
    required: Mapping[str, str]
    """The errors of an empty JSON object: every required field, with its message."""
    samples: tuple[Any, ...]
    """Values the format gives meaning to, mixed into the mutations."""
    bodies: Mapping[str, Body] = field(
        default_factory=lambda: {JSON: Body("the JSON document", MIB)}
    )
    """Every content type the connector takes, in its order, with its body's name and limit."""
    suffixes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {".json": (JSON,)})
    """Which content types an example file of each suffix is sent as."""
    identity: tuple[tuple[str, ...], ...] = (("reference",),)
    """Paths into a JSON document whose value is part of the message id."""
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

    def sent_examples(self) -> list[Example]:
        """Every example, as each content type it may be sent as."""
        return [
            Example(self, path, content_type)
            for path in self.examples()
            for content_type in self.suffixes[path.suffix]
        ]

    def example_of(self, content_type: str) -> bytes:
        """The bytes of an example that may be sent as ``content_type``."""
        return next(e for e in self.sent_examples() if e.content_type == content_type).raw

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

    def parse_all(self, doc: dict[str, Any], context: ParseContext = CONTEXT) -> list[Envelope]:
        """Parse a JSON document."""
        return self.connector.parse(json.dumps(doc).encode(), self.json_type, context)

    def parse_doc(self, doc: dict[str, Any], context: ParseContext = CONTEXT) -> Envelope:
        """Parse a JSON document that holds exactly one message."""
        (envelope,) = self.parse_all(doc, context)
        return envelope

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

    def assert_field_refused(self, doc: dict[str, Any], field: str, fragment: str) -> None:
        """The document is refused with an error at ``field`` whose message has ``fragment``."""
        errors = self.doc_failures(doc)
        assert field in errors, errors
        assert fragment in errors[field]


@dataclass(frozen=True)
class Example:
    """A documented example, sent as one of the content types it may be sent as."""

    case: PartnerCase
    path: Path
    content_type: str

    def __str__(self) -> str:
        return f"{self.case}-{self.path.name}-{self.content_type}"

    @property
    def raw(self) -> bytes:
        return self.path.read_bytes()

    def parse(self, context: ParseContext = CONTEXT, content_type: str = "") -> list[Envelope]:
        """Parse the example, as its own content type unless another is given."""
        return self.case.connector.parse(self.raw, content_type or self.content_type, context)


def _required(fields: str, **messages: str) -> dict[str, str]:
    """Field required for each of the space-separated ``fields``, and the other ``messages``."""
    return dict.fromkeys(fields.split(), "Field required") | messages


# fmt: off
POLICE = PartnerCase(
    partner=Partner.POLICE,
    connector_class=PoliceConnector,
    http_path="/v1/police/notifications",
    kinds=frozenset(
        f"police.notification.{t}"
        for t in ("domestic_abuse", "child_concern", "adult_at_risk", "missing_person",
                  "person_posing_risk", "other")
    ),
    required=_required(
        "force_code reference notification_type occurred_at risk_grade persons summary "
        "submitted_by"
    ),
    samples=("yes", "no", "child", "victim", "unborn_child", "High", "Purple", "DASH",
             "9990000000", "ZZ1 1AA", "2026-11-20", "2026-11-20T10:00:00",
             "2026-11-20T10:00:00Z", "9999-12-31T23:59:59-23:59"),
    bodies={JSON: Body("the JSON document", MIB), "text/csv": Body("the CSV batch", 20 * MIB)},
    suffixes={".json": (JSON,), ".csv": ("text/csv",)},
    seeds=(documents.notification(),),
    schema=("police.schema.json", PoliceNotification),
)
HEALTH = PartnerCase(
    partner=Partner.HEALTH,
    connector_class=HealthConnector,
    http_path="/v1/health/fhir",
    kinds=frozenset({"health.safeguarding_concern", "health.cpis_access"}),
    required={"resourceType": "missing: the document is not a FHIR resource"},
    samples=("Patient/child", "#p", "2026-13-01", "active", "message", "9990000027", "Bundle"),
    bodies=dict.fromkeys(
        ("application/fhir+json", JSON, "application/fhir+xml", "application/xml"),
        Body("the FHIR document", 5 * MIB),
    ),
    suffixes={
        ".json": ("application/fhir+json", JSON),
        ".xml": ("application/fhir+xml", "application/xml"),
    },
    identity=(("identifier", "value"),),
    seeds=(
        documents.bundle(
            documents.patient(), documents.flag(), documents.consent(), documents.related()
        ),
        documents.bundle(
            documents.patient(), documents.service_request(priority="asap"),
            documents.communication(), kind="batch",
        ),
        # NHS England's shapes: a CP-IS flag with its plan and team, a BaRS referral.
        json.loads((HEALTH_DATA / "cpis-flag-looked-after-child.json").read_text()),
        json.loads((HEALTH_DATA / "bars-referral-child.json").read_text()),
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
    required=_required(
        "reference referred_at referring_body applicant chosen_authority reason",
        consent_to_refer=CONSENT_TO_REFER,
        consent_to_share_contact_details=CONSENT_TO_SHARE,
    ),
    samples=("child", "homeless", "threatened_with_homelessness", "2026-11-20", "2009-11-26",
             "2026-11-25T10:30:00", "9990000000", "E07000999", "UK GDPR 6(1)(a)"),
    schema=("housing.schema.json", DutyToRefer),
)
DOMESTIC_ABUSE = PartnerCase(
    partner=Partner.DOMESTIC_ABUSE,
    connector_class=DomesticAbuseConnector,
    http_path="/v1/domestic-abuse/assessments",
    kinds=frozenset({"domestic_abuse.dash_assessment"}),
    required=_required(
        "reference org_code assessed_at assessor answers professional_judgement victim consent"
    ),
    samples=("yes", "no", "not_known", "given", "refused", "High", "2026-11-20",
             "2026-11-20T10:00:00", "2026-11-20T10:00:00Z", "9990000000", "ZZ1 1AA"),
    identity=(("reference",), ("org_code",)),
    seeds=(documents.assessment(judged_high=True),),
    schema=("domestic-abuse.schema.json", DashAssessment),
)
# fmt: on

CASES = (POLICE, HEALTH, HOUSING, DOMESTIC_ABUSE)
"""Every registered partner, in partner order."""


def assert_check_digit_kept(
    envelope: Envelope, number: str, demographics: tuple[str, ...], field: str
) -> None:
    """The first subject keeps ``number``, failing its check digit, but is not keyed on it.

    It is keyed on its ``demographics``, and the one finding names ``field`` as a warning.
    """
    subject = envelope.subjects[0]
    assert (subject.nhs_number, subject.nhs_number_status) == (
        number,
        NhsNumberStatus.INVALID_CHECK_DIGIT,
    )
    assert subject.subject_key == CONTEXT.subject_key("demographic", *demographics)
    assert [(f.code, f.field, f.severity) for f in envelope.quality.findings] == [
        ("nhs_number_check_digit", field, "warning")
    ]
