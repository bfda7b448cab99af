"""The police connector: notification JSON and CSV batch exports from police forces."""

from __future__ import annotations

from connectors.police._csv import CSV_MAX_BYTES
from connectors.police.format import NotificationType
from connectors.police.parse import CONTENT_TYPES, parse
from connectors.protocol import Connector, PlainConnector
from schemas.common import Partner

__all__ = ["CONNECTOR", "PoliceConnector"]


class PoliceConnector(PlainConnector):
    """Police notifications, posted to ``/v1/police/notifications``.

    The body limit is the CSV batch's (20 MiB); a JSON notification is refused by the
    parser above 1 MiB.
    """

    partner = Partner.POLICE
    kinds = frozenset(f"police.notification.{t.value}" for t in NotificationType)
    http_path = "/v1/police/notifications"
    content_types = CONTENT_TYPES
    max_body_bytes = CSV_MAX_BYTES
    parser = staticmethod(parse)


CONNECTOR: Connector = PoliceConnector()
