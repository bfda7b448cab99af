"""The police connector: notification JSON and CSV batch exports from police forces."""

from __future__ import annotations

from connectors.errors import ParseFailed
from connectors.police._csv import CSV_MAX_BYTES
from connectors.police.format import NotificationType
from connectors.police.parse import CONTENT_TYPES, parse
from connectors.protocol import Connector, ParseContext
from schemas.common import Partner
from schemas.envelope import Envelope

__all__ = ["CONNECTOR", "PoliceConnector"]


class PoliceConnector:
    """Police notifications, posted to ``/v1/police/notifications``.

    The body limit is the CSV batch's (20 MiB); a JSON notification is refused by the
    parser above 1 MiB.
    """

    partner: Partner = Partner.POLICE
    kinds: frozenset[str] = frozenset(f"police.notification.{t.value}" for t in NotificationType)
    http_path: str = "/v1/police/notifications"
    content_types: tuple[str, ...] = CONTENT_TYPES
    max_body_bytes: int = CSV_MAX_BYTES

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse a JSON notification or a CSV batch, or raise ParseFailed."""
        return parse(raw, content_type, context)

    def error_document(self, error: ParseFailed, content_type: str) -> None:
        """None: refusals are the transport's problem details."""
        del error, content_type


CONNECTOR: Connector = PoliceConnector()
