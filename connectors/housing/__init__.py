"""The housing connector: duty-to-refer referrals (Housing Act 1996 s213B) as JSON."""

from __future__ import annotations

from connectors.errors import ParseFailed
from connectors.housing.parse import CONTENT_TYPES, KIND, parse
from connectors.native import JSON_MAX_BYTES
from connectors.protocol import Connector, ParseContext
from schemas.common import Partner
from schemas.envelope import Envelope

__all__ = ["CONNECTOR", "HousingConnector"]


class HousingConnector:
    """Duty-to-refer referrals, posted to ``/v1/housing/referrals``."""

    partner: Partner = Partner.HOUSING
    kinds: frozenset[str] = frozenset({KIND})
    http_path: str = "/v1/housing/referrals"
    content_types: tuple[str, ...] = CONTENT_TYPES
    max_body_bytes: int = JSON_MAX_BYTES

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse one referral, or raise ParseFailed."""
        return parse(raw, content_type, context)

    def error_document(self, error: ParseFailed, content_type: str) -> None:
        """None: refusals are the transport's problem details."""
        del error, content_type


CONNECTOR: Connector = HousingConnector()
