"""The domestic-abuse connector: SafeLives DASH risk checklists from DA services, as JSON."""

from __future__ import annotations

from connectors.domestic_abuse.parse import KIND, parse
from connectors.protocol import Connector, PlainConnector
from schemas.common import Partner

__all__ = ["CONNECTOR", "DomesticAbuseConnector"]


class DomesticAbuseConnector(PlainConnector):
    """DASH assessments, posted to ``/v1/domestic-abuse/assessments``."""

    partner = Partner.DOMESTIC_ABUSE
    kinds = frozenset({KIND})
    http_path = "/v1/domestic-abuse/assessments"
    parser = staticmethod(parse)


CONNECTOR: Connector = DomesticAbuseConnector()
