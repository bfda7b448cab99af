"""The health connector: FHIR R4 safeguarding concerns from NHS bodies.

A health partner posts a FHIR R4 Bundle (message, batch, transaction or collection)
or a single Flag, ServiceRequest or Communication, as JSON or XML, to
``/v1/health/fhir``; :func:`~connectors.health.parse.parse` turns it into
``health.safeguarding_concern`` envelopes, or refuses it with every error, which
:meth:`HealthConnector.error_document` returns as an OperationOutcome. The format
and its mapping are documented in ``docs/formats/health.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.errors import ParseFailed
from connectors.health._fhir.decode import CONTENT_TYPES, MAX_BODY_BYTES, XML_TYPES
from connectors.health._fhir.outcome import outcome_json, outcome_xml
from connectors.health.format import KIND
from connectors.health.parse import parse
from connectors.protocol import Connector, ErrorDocument, ParseContext
from schemas.common import Partner
from schemas.envelope import Envelope

__all__ = ["CONNECTOR", "HealthConnector"]


class HealthConnector:
    """FHIR R4 in, health.safeguarding_concern envelopes out."""

    def __init__(self) -> None:
        self.partner: Partner = Partner.HEALTH
        self.kinds: frozenset[str] = frozenset({KIND})
        self.http_path: str = "/v1/health/fhir"
        self.content_types: tuple[str, ...] = CONTENT_TYPES
        self.max_body_bytes: int = MAX_BODY_BYTES

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse FHIR R4 JSON or XML into envelopes, or raise ParseFailed with every error."""
        return parse(raw, content_type, context)

    def error_document(self, error: ParseFailed, content_type: str) -> ErrorDocument:
        """The OperationOutcome that answers a refusal, in XML to a caller that sent XML."""
        if _sent_xml(content_type):
            return ErrorDocument("application/fhir+xml", outcome_xml(error))
        return ErrorDocument("application/fhir+json", outcome_json(error))


def _sent_xml(content_type: str) -> bool:
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    return media in XML_TYPES or media.endswith(("/xml", "+xml"))


CONNECTOR = HealthConnector()
"""The instance the registry finds (``connectors.registry``)."""

if TYPE_CHECKING:
    _CONFORMS: Connector = CONNECTOR  # mypy proves the class satisfies the Protocol
