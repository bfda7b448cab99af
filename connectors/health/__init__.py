"""The health connector: FHIR R4 safeguarding concerns from NHS bodies.

A health partner posts a FHIR R4 Bundle (message, batch, transaction or collection)
or a single Flag, ServiceRequest, Communication, CP-IS CarePlan or CareTeam, or CP-IS
access AuditEvent, as JSON or XML, to ``/v1/health/fhir``;
:func:`~connectors.health.parse.parse` turns it into ``health.safeguarding_concern``
and ``health.cpis_access`` envelopes, or refuses it with every error, which
:meth:`HealthConnector.error_document` returns as an OperationOutcome in the caller's
syntax. :meth:`HealthConnector.capability_document` is the CapabilityStatement served
at ``/v1/health/fhir/metadata``. The format and its mapping are documented in
``docs/formats/health.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.errors import ParseFailed
from connectors.health._fhir.capability import capability_statement
from connectors.health._fhir.decode import CONTENT_TYPES, MAX_BODY_BYTES
from connectors.health._fhir.outcome import operation_outcome
from connectors.health._fhir.render import rendered
from connectors.health.format import ACCESS_KIND, KIND
from connectors.health.parse import parse
from connectors.protocol import Connector, ErrorDocument, ParseContext
from schemas.common import Partner
from schemas.envelope import Envelope

__all__ = ["CONNECTOR", "HealthConnector"]


class HealthConnector:
    """FHIR R4 in, health.safeguarding_concern envelopes out."""

    def __init__(self) -> None:
        self.partner: Partner = Partner.HEALTH
        self.kinds: frozenset[str] = frozenset({KIND, ACCESS_KIND})
        self.http_path: str = "/v1/health/fhir"
        self.content_types: tuple[str, ...] = CONTENT_TYPES
        self.max_body_bytes: int = MAX_BODY_BYTES

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse FHIR R4 JSON or XML into envelopes, or raise ParseFailed with every error."""
        return parse(raw, content_type, context)

    def error_document(self, error: ParseFailed, content_type: str) -> ErrorDocument:
        """The OperationOutcome that answers a refusal (422, or the transport's own 4xx/503).

        FHIR XML when ``content_type`` is an XML media type, FHIR JSON otherwise.
        """
        media, body = rendered(operation_outcome(error), content_type)
        return ErrorDocument(media, body)

    def capability_document(self, accept: str) -> ErrorDocument:
        """The CapabilityStatement of ``/v1/health/fhir``: XML if ``accept`` asks, else JSON."""
        media, body = rendered(capability_statement(), accept)
        return ErrorDocument(media, body)


CONNECTOR = HealthConnector()
"""The instance the registry finds (``connectors.registry``)."""

if TYPE_CHECKING:
    _CONFORMS: Connector = CONNECTOR  # mypy proves the class satisfies the Protocol
