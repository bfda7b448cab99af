"""The housing connector: duty-to-refer referrals (Housing Act 1996 s213B) as JSON."""

from __future__ import annotations

from connectors.housing.parse import KIND, parse
from connectors.protocol import Connector, PlainConnector
from schemas.common import Partner

__all__ = ["CONNECTOR", "HousingConnector"]


class HousingConnector(PlainConnector):
    """Duty-to-refer referrals, posted to ``/v1/housing/referrals``."""

    partner = Partner.HOUSING
    kinds = frozenset({KIND})
    http_path = "/v1/housing/referrals"
    parser = staticmethod(parse)


CONNECTOR: Connector = HousingConnector()
