"""The composition root: settings, logging, keys and clients are built here and only here.

Commands call :func:`bootstrap` once at start-up and pass what it returns down to the
code that needs it. Nothing in the hub reads the environment or opens a connection at
import time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from hub.broker.local import LocalBroker
from hub.errors import ConfigurationError
from hub.logging import configure_logging
from hub.policy import Policy, load_policy
from hub.router.handler import RouterContext
from hub.security.keys import (
    SUBJECT_KEY,
    CurrentKeys,
    KeyIds,
    Keyring,
    SecretKey,
    inbound_kek,
    signing_key,
)
from hub.security.passwords import SecretStore, principal_settings
from hub.security.signing import Verifier
from hub.settings import HubSettings, KafkaSettings
from hub.sla import SlaCalendar
from schemas.common import Area, Partner


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Hub:
    """Everything a command needs, built once."""

    settings: HubSettings

    def local_broker(self) -> LocalBroker:
        """Return the manager of the local development broker."""
        return LocalBroker(self.settings.broker)

    def kafka_as(self, principal: str) -> KafkaSettings:
        """How the component ``principal`` reaches Kafka.

        With ``HUB_SECURITY__PER_COMPONENT`` each component logs in as its own principal
        (least privilege); otherwise every component uses the process's credentials.
        """
        security = self.settings.security
        if not security.per_component:
            return self.settings.kafka
        return principal_settings(self.settings.kafka, principal, SecretStore(security.secrets_dir))

    def keyring(self) -> Keyring:
        """The keyring of this process."""
        return Keyring(self.settings.crypto.keys_dir)

    def policy(self) -> Policy:
        """The routing policy in force."""
        return load_policy(self.settings.router.policy_file)

    def calendar(self) -> SlaCalendar:
        """The SLA working-time calendar."""
        return SlaCalendar(self.settings.sla)

    def router_context(
        self,
        clock: Callable[[], datetime] = utc_now,
        on_dead_letter: Callable[[str, str], None] | None = None,
    ) -> RouterContext:
        """The router's dependencies: policy, calendar, keys."""
        crypto = self.settings.crypto
        keys = self.keyring()

        def registry() -> dict[str, dict[str, Ed25519PublicKey]]:
            return {p.value: keys.public_keys(signing_key(p)) for p in Partner}

        verifier = Verifier(registry(), registry) if crypto.sign else None
        inbound: dict[str, Mapping[str, SecretKey]] = (
            {p.value: KeyIds(keys, inbound_kek(p)) for p in Partner} if crypto.encrypt else {}
        )
        areas: Mapping[Area, SecretKey] = CurrentKeys(keys) if crypto.encrypt else {}
        extra = {"on_dead_letter": on_dead_letter} if on_dead_letter else {}
        return RouterContext(
            policy=self.policy(),
            calendar=self.calendar(),
            verifier=verifier,
            inbound_keks=inbound,
            area_keks=areas,
            clock=clock,
            encrypt=crypto.encrypt,
            **extra,
        )


def subject_key_secret(keys: Keyring) -> bytes:
    """The secret of the keyed subject hash (never rotated casually: keys would change)."""
    return keys.secret(SUBJECT_KEY).material


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
