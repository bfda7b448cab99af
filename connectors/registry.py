"""Partner name to connector. The hub finds connectors here and never by module name."""

from __future__ import annotations

import importlib
from functools import cache

from connectors.protocol import Connector
from hub.errors import ConfigurationError
from schemas.common import Partner

_MODULES: dict[Partner, str] = {
    Partner.POLICE: "connectors.police",
    Partner.HEALTH: "connectors.health",
    Partner.HOUSING: "connectors.housing",
    Partner.DOMESTIC_ABUSE: "connectors.domestic_abuse",
}


@cache
def connector_for(partner: Partner | str) -> Connector:
    """Return the connector of ``partner``."""
    try:
        key = Partner(partner)
    except ValueError:
        raise ConfigurationError(f"unknown partner {partner!r}") from None
    module = importlib.import_module(_MODULES[key])
    found: Connector = module.CONNECTOR
    return found


def all_connectors() -> list[Connector]:
    """Every registered connector, in partner order."""
    return [connector_for(p) for p in Partner]
