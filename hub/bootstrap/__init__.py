"""The composition root: settings, logging, keys and clients are built here and only here.

Commands call :func:`bootstrap` once at start-up and pass what it returns down to the
code that needs it. Nothing in the hub reads the environment or opens a connection at
import time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from hub.audit import CHECKPOINT_CONTEXT
from hub.broker.local import LocalBroker
from hub.broker.topics import load_topics_file
from hub.errors import ConfigurationError
from hub.logging import configure_logging
from hub.policy import Policy, load_policy
from hub.router.handler import RouterContext, RouterMacs
from hub.security.keys import (
    ROUTER_SIGNING,
    SUBJECT_KEY,
    CurrentKeys,
    KeyIds,
    Keyring,
    SecretKey,
    inbound_kek,
    inbound_mac,
    outcome_mac,
    route_mac,
)
from hub.security.mac import CurrentId, Link, RecordMac
from hub.security.passwords import SecretStore, principal_settings
from hub.security.signing import Signer
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

    def partitions(self, topic: str) -> int:
        """The partition count of a (logical) topic, as the topics file declares it."""
        topics = self.settings.topics
        for spec in load_topics_file(topics.file, topics.profile):
            if spec.name == topic:
                return spec.partitions
        raise ConfigurationError(f"topic {topic} is not in {topics.file}")

    def router_macs(self) -> RouterMacs:
        """The router's MAC keys: inbound and outcomes it verifies, routed copies it signs."""
        keys = self.keyring()
        return RouterMacs(
            inbound={p: RecordMac(Link.INBOUND, KeyIds(keys, inbound_mac(p))) for p in Partner},
            routed={
                a: RecordMac(Link.ROUTED, KeyIds(keys, route_mac(a)), CurrentId(keys, route_mac(a)))
                for a in Area
            },
            outcome={a: RecordMac(Link.OUTCOME, KeyIds(keys, outcome_mac(a))) for a in Area},
        )

    def checkpoint_signer(self) -> Signer:
        """The router's signer of audit checkpoints (``signing-router``)."""
        key_id, private = self.keyring().private_key(ROUTER_SIGNING)
        return Signer(CHECKPOINT_CONTEXT, key_id, private)

    def router_context(
        self,
        clock: Callable[[], datetime] = utc_now,
        on_dead_letter: Callable[[str, str], None] | None = None,
    ) -> RouterContext:
        """The router's dependencies: policy, calendar, keys."""
        crypto = self.settings.crypto
        keys = self.keyring()
        inbound: dict[str, Mapping[str, SecretKey]] = (
            {p.value: KeyIds(keys, inbound_kek(p)) for p in Partner} if crypto.encrypt else {}
        )
        areas: Mapping[Area, SecretKey] = CurrentKeys(keys) if crypto.encrypt else {}
        extra = {"on_dead_letter": on_dead_letter} if on_dead_letter else {}
        return RouterContext(
            policy=self.policy(),
            calendar=self.calendar(),
            macs=self.router_macs() if crypto.sign else None,
            checkpoints=self.checkpoint_signer() if crypto.sign else None,
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
