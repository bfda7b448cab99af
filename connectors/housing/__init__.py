"""The housing connector: duty-to-refer referrals (Housing Act 1996 s213B) as JSON."""

from __future__ import annotations

from connectors.housing.parse import CONTENT_TYPES, KIND, parse
from connectors.native import JSON_MAX_BYTES
from connectors.protocol import Connector, PlainConnector
from schemas.common import Partner

__all__ = ["CONNECTOR", "HousingConnector"]


class HousingConnector(PlainConnector):
    """Duty-to-refer referrals, posted to ``/v1/housing/referrals``."""

    partner = Partner.HOUSING
    kinds = frozenset({KIND})
    http_path = "/v1/housing/referrals"
    content_types = CONTENT_TYPES
    max_body_bytes = JSON_MAX_BYTES
    parser = staticmethod(parse)


CONNECTOR: Connector = HousingConnector()
