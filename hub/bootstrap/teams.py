"""Building the team app's parts from settings (called by the composition root)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from hub.bootstrap import Hub, utc_now
from hub.bootstrap.checks import team_checks
from hub.errors import ConfigurationError, KeyMaterialError
from hub.security.keys import KeyIds, SecretKey, area_kek, outcome_mac, route_mac
from hub.security.mac import CurrentId, Link, RecordMac
from hub.settings import KafkaSettings, TeamSettings
from hub.teams.accounts import AccountStore
from hub.teams.consumer import TeamConsumer
from hub.teams.deps import TeamDeps
from hub.teams.intake import CopyCheck
from hub.teams.outcomes import AreaOutcomePublisher, KafkaOutcomePublisher
from hub.teams.sessions import SessionStore, load_or_create_key
from hub.teams.store import QueueStore
from schemas.common import Area


def accounts_file(settings: TeamSettings) -> Path:
    """Practitioners, API clients and sessions (shared by every instance on this host)."""
    return settings.state_dir / "accounts.sqlite"


def queue_file(settings: TeamSettings) -> Path:
    """The local queue of this instance."""
    return settings.state_dir / f"{settings.instance}.sqlite"


def served_areas(settings: TeamSettings) -> tuple[Area, ...]:
    """The areas this instance serves: those configured, or every area."""
    if not settings.areas:
        return tuple(Area)
    try:
        return tuple(dict.fromkeys(Area(a) for a in settings.areas))
    except ValueError as exc:
        known = ", ".join(a.value for a in Area)
        raise ConfigurationError(f"setting HUB_TEAMS__AREAS: {exc}; areas: {known}") from exc


def area_keys(hub: Hub, areas: tuple[Area, ...]) -> dict[Area, dict[str, SecretKey]]:
    """Every key id of each served area's key (older ids still open older messages).

    None with encryption off: a team that holds its area's key reads sealed content only.
    """
    keys = hub.keyring()
    if not hub.settings.crypto.encrypt:
        return {area: {} for area in areas}
    found = {area: keys.secrets(area_kek(area)) for area in areas}
    _require(hub, [area_kek(a) for a, k in found.items() if not k])
    return found


def _require(hub: Hub, missing: list[str]) -> None:
    if missing:
        raise KeyMaterialError(f"no keys for {', '.join(missing)} in {hub.keyring().root}")


def copy_check(hub: Hub, areas: tuple[Area, ...]) -> CopyCheck:
    """How the consumer authenticates routed copies: each area's ``route-mac`` key."""
    crypto = hub.settings.crypto
    if not crypto.sign:
        return CopyCheck(None, sealed_only=crypto.encrypt)
    keys = hub.keyring()
    macs = {a: KeyIds(keys, route_mac(a)) for a in areas}
    _require(hub, [route_mac(a) for a, k in macs.items() if not k])
    return CopyCheck(
        {a: RecordMac(Link.ROUTED, k) for a, k in macs.items()}, sealed_only=crypto.encrypt
    )


def outcome_macs(hub: Hub, areas: tuple[Area, ...]) -> dict[Area, RecordMac] | None:
    """The ``outcome-mac`` key of each served area, to authenticate its outcomes."""
    if not hub.settings.crypto.sign:
        return None
    keys = hub.keyring()
    found = {a: KeyIds(keys, outcome_mac(a)) for a in areas}
    _require(hub, [outcome_mac(a) for a, k in found.items() if not k])
    return {
        a: RecordMac(Link.OUTCOME, k, CurrentId(keys, outcome_mac(a))) for a, k in found.items()
    }


def identities(hub: Hub, areas: tuple[Area, ...]) -> list[tuple[KafkaSettings, list[Area]]]:
    """The Kafka identity of each area (``team-<area>``), areas sharing one grouped."""
    grouped: list[tuple[KafkaSettings, list[Area]]] = []
    for area in areas:
        kafka = hub.kafka_as(f"team-{area.value}")
        same = next((found for settings, found in grouped if settings == kafka), None)
        if same is None:
            grouped.append((kafka, [area]))
        else:
            same.append(area)
    return grouped


def outcome_publisher(
    grouped: list[tuple[KafkaSettings, list[Area]]],
    client_id: str,
    macs: dict[Area, RecordMac] | None = None,
) -> AreaOutcomePublisher:
    """One producer per Kafka identity, each writing its areas' outcomes (with their MACs)."""
    by_area: dict[Area, KafkaOutcomePublisher] = {}
    for kafka, areas in grouped:
        own = {a: macs[a] for a in areas} if macs is not None else None
        producer = KafkaOutcomePublisher(kafka, client_id, own)
        by_area.update(dict.fromkeys(areas, producer))
    return AreaOutcomePublisher(by_area)


def team_deps(hub: Hub, clock: Callable[[], datetime] = utc_now) -> TeamDeps:
    """Everything the team app needs, for the areas of ``hub.settings.teams``."""
    settings = hub.settings.teams
    areas = served_areas(settings)
    keks = area_keys(hub, areas)
    client_id = f"teams-{settings.instance}"
    grouped = identities(hub, areas)
    store = QueueStore(queue_file(settings))
    accounts = accounts_file(settings)
    publisher = outcome_publisher(grouped, client_id, outcome_macs(hub, areas))
    consumer = TeamConsumer(
        grouped,
        store,
        clock,
        check=copy_check(hub, areas),
        refusals=publisher,
        client_id=client_id,
    )
    return TeamDeps(
        store=store,
        accounts=AccountStore(accounts),
        sessions=SessionStore(
            accounts,
            load_or_create_key(settings.state_dir / "session.key"),
            timedelta(hours=settings.session_hours),
        ),
        publisher=publisher,
        consumer=consumer,
        keks=keks,
        calendar=hub.calendar(),
        areas=areas,
        clock=clock,
        # Behind HTTPS a session cookie is always Secure (and __Host- prefixed).
        secure_cookies=settings.secure_cookies or settings.tls_certfile is not None,
        ops_token=hub.settings.http.ops_token,
        checks=team_checks(hub, areas),
    )
