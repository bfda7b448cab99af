"""The domestic-abuse connector: SafeLives DASH risk checklists from DA services, as JSON."""

from __future__ import annotations

from connectors.domestic_abuse.parse import CONTENT_TYPES, KIND, parse
from connectors.errors import ParseFailed
from connectors.native import JSON_MAX_BYTES
from connectors.protocol import Connector, ParseContext
from schemas.common import Partner
from schemas.envelope import Envelope

__all__ = ["CONNECTOR", "DomesticAbuseConnector"]


class DomesticAbuseConnector:
    """DASH assessments, posted to ``/v1/domestic-abuse/assessments``."""

    partner: Partner = Partner.DOMESTIC_ABUSE
    kinds: frozenset[str] = frozenset({KIND})
    http_path: str = "/v1/domestic-abuse/assessments"
    content_types: tuple[str, ...] = CONTENT_TYPES
    max_body_bytes: int = JSON_MAX_BYTES

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse one assessment, or raise ParseFailed."""
        return parse(raw, content_type, context)

    def error_document(self, error: ParseFailed, content_type: str) -> None:
        """None: refusals are the transport's problem details."""
        del error, content_type


CONNECTOR: Connector = DomesticAbuseConnector()
