"""Building the team app from settings: areas, keys and one Kafka identity per area."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.bootstrap import Hub
from hub.bootstrap.teams import area_keys, identities, served_areas, team_deps
from hub.errors import ConfigurationError, KeyMaterialError
from hub.security.keys import init_keyring
from hub.security.passwords import SecretStore
from hub.settings import CryptoSettings, HubSettings, KafkaSettings, SecuritySettings, TeamSettings
from schemas.common import Area

SASL = KafkaSettings(
    security_protocol="SASL_PLAINTEXT", username="admin", password=SecretStr("synthetic")
)


def hub_with(tmp_path: Path, **settings: object) -> Hub:
    init_keyring(tmp_path / "keys")
    return Hub(
        HubSettings(
            crypto=CryptoSettings(keys_dir=tmp_path / "keys"),
            teams=TeamSettings(state_dir=tmp_path / "teams", areas=("mash", "early-help")),
            **settings,  # type: ignore[arg-type]
        )
    )


class TestCompose:
    def test_areas_default_to_all_and_unknown_ones_fail(self) -> None:
        """No areas means every area; an unknown area fails naming the setting."""
        assert served_areas(TeamSettings()) == tuple(Area)
        assert served_areas(TeamSettings(areas=("mash", "mash", "lado"))) == (
            Area.MASH,
            Area.LADO,
        )
        with pytest.raises(ConfigurationError, match="HUB_TEAMS__AREAS"):
            served_areas(TeamSettings(areas=("nowhere",)))

    def test_a_missing_area_key_fails_at_start(self, tmp_path: Path) -> None:
        """Without the area's KEK the app refuses to start."""
        hub = hub_with(tmp_path)
        for key in (tmp_path / "keys" / "area-mash").glob("*.key"):
            key.unlink()
        with pytest.raises(KeyMaterialError, match="area-mash"):
            area_keys(hub, (Area.MASH,))

    def test_one_identity_without_per_component_principals(self, tmp_path: Path) -> None:
        """Every area uses the process's credentials: one broker, one producer."""
        hub = hub_with(tmp_path, kafka=SASL)
        grouped = identities(hub, (Area.MASH, Area.EARLY_HELP))
        assert [(k.username, a) for k, a in grouped] == [("admin", [Area.MASH, Area.EARLY_HELP])]

    def test_each_area_logs_in_as_its_own_principal(self, tmp_path: Path) -> None:
        """With per-component principals each area has its own identity and broker."""
        store = SecretStore(tmp_path / "secrets")
        for name in ("team-mash", "team-early-help"):
            store.put(name, SecretStr(f"synthetic-{name}"))
        security = SecuritySettings(per_component=True, secrets_dir=tmp_path / "secrets")
        hub = hub_with(tmp_path, kafka=SASL, security=security)
        grouped = identities(hub, (Area.MASH, Area.EARLY_HELP))
        assert [(k.username, a) for k, a in grouped] == [
            ("team-mash", [Area.MASH]),
            ("team-early-help", [Area.EARLY_HELP]),
        ]
        deps = team_deps(hub)
        try:
            assert deps.consumer is not None
            assert len(deps.consumer.brokers) == 2  # type: ignore[attr-defined]
        finally:
            deps.close()

    def test_a_missing_principal_password_fails_at_start(self, tmp_path: Path) -> None:
        """Per-component without the area's password is a configuration error."""
        security = SecuritySettings(per_component=True, secrets_dir=tmp_path / "none")
        hub = hub_with(tmp_path, kafka=SASL, security=security)
        with pytest.raises(KeyMaterialError, match="team-mash"):
            team_deps(hub)
