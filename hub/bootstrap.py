"""The composition root: settings, logging and clients are built here and only here.

Commands call :func:`bootstrap` once at start-up and pass what it returns down to the
code that needs it. Nothing in the hub reads the environment or opens a connection at
import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from hub.errors import ConfigurationError
from hub.local_broker import LocalBroker
from hub.logging import configure_logging
from hub.settings import HubSettings


@dataclass(frozen=True)
class Hub:
    """Everything a command needs, built once."""

    settings: HubSettings

    def local_broker(self) -> LocalBroker:
        """Return the manager of the local development broker."""
        return LocalBroker(self.settings.broker)


def load_settings() -> HubSettings:
    """Read the settings from the environment, failing with a one-line reason."""
    try:
        return HubSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "HUB_" + "__".join(str(p).upper() for p in first["loc"])
        raise ConfigurationError(f"setting {where}: {first['msg']}") from exc


def bootstrap(settings: HubSettings | None = None) -> Hub:
    """Build the hub's shared parts once for this process."""
    settings = settings or load_settings()
    configure_logging(settings.logging)
    return Hub(settings=settings)
