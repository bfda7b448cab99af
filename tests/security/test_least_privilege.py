"""Deployment least privilege: each service holds only its own keys and password (item 9).

Today's weakness: compose mounted every key (partner keys, every area's key-encryption
key, the subject-key secret) and the shared secrets volume into the router, the ingest
and the internet-facing team app. Now each service mounts a key directory exported for
its component alone (``hub keys export``; :mod:`hub.security.layout`) and only its own
principals' Kafka passwords. This test reads compose.yaml against that layout and
deploy/principals.yaml.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.broker.topics import load_topics_file
from hub.errors import ConfigurationError
from hub.security.keys import ROUTER_SIGNING, SUBJECT_KEY, init_keyring
from hub.security.layout import COMPONENTS, export_keys, grants
from hub.security.principals import load_principals_file
from hub.settings import PROJECT_ROOT
from schemas.checks import CheckPartner
from schemas.common import Area, Partner

COMPOSE = PROJECT_ROOT / "compose.yaml"
KEYS_TARGET = "/run/secrets/hub-keys"
PASSWORDS_DIR = "/run/secrets/kafka"
OPS_TOKEN = "ops_token"
TEAMS = {f"teams-{a.value}": a for a in Area}

PRINCIPALS: dict[str, set[str]] = {
    "router": {"router"},
    "connectors": {f"connector-{p.value}" for p in Partner} | {"connectors-status"},
    "monitor": {"monitor"},
    **{name: {f"team-{a.value}"} for name, a in TEAMS.items()},
}
"""Who each long-running component logs in to Kafka as (hub.bootstrap: Hub.kafka_as)."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def component(service: dict[str, Any]) -> str | None:
    """The component a hub service runs, from its command (None for one-shot admin jobs)."""
    command = service.get("command", [])
    match command[:2]:
        case ["router", "run"]:
            return "router"
        case ["connectors", "serve"]:
            return "connectors"
        case ["monitor", "run"]:
            return "monitor"
        case ["teams", "serve"]:
            areas = json.loads(service["environment"]["HUB_TEAMS__AREAS"])
            assert len(areas) == 1, "a team service serves one area"
            return f"teams-{areas[0]}"
    return None


def services(compose: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for name, service in compose["services"].items():
        if service.get("image") == "safeguarding-hub:latest" and (c := component(service)):
            found[name] = (c, service)
    return found


def key_mounts(service: dict[str, Any]) -> list[str]:
    return [v.split(":")[0] for v in service.get("volumes", []) if f":{KEYS_TARGET}" in v]


class TestComposeHoldsOnlyEachServicesOwn:
    def test_every_component_runs_as_a_service(self, compose: dict[str, Any]) -> None:
        """The router, the ingest, the monitor and one team service per area."""
        assert {c for c, _s in services(compose).values()} == set(PRINCIPALS)

    def test_each_service_mounts_only_its_components_key_directory(
        self, compose: dict[str, Any]
    ) -> None:
        """The router gets the router's keys, a team its area's; the monitor none."""
        for name, (comp, service) in services(compose).items():
            mounts = key_mounts(service)
            if COMPONENTS[comp]:
                assert mounts == [f"./.hub/component-keys/{comp}"], name
                assert service["environment"]["HUB_CRYPTO__KEYS_DIR"] == KEYS_TARGET
                assert all(v.endswith(":ro") for v in service["volumes"] if KEYS_TARGET in v)
            else:
                assert mounts == [], name

    def test_no_service_mounts_the_whole_keyring_or_every_password(
        self, compose: dict[str, Any]
    ) -> None:
        """Only the security job sees every password (it issues them); nobody the keyring."""
        for name, service in compose["services"].items():
            sources = [str(v).split(":")[0] for v in service.get("volumes", [])]
            assert "./.hub/keys" not in sources, name
            assert "hub-secrets" not in sources, name
            if name != "security":
                assert not any(s.startswith("./.hub/secrets") for s in sources), name

    def test_each_service_holds_only_its_own_kafka_passwords(self, compose: dict[str, Any]) -> None:
        """One compose secret per principal the component logs in as, and no other."""
        declared = compose["secrets"]
        for name, (comp, service) in services(compose).items():
            env = service["environment"]
            assert env["HUB_SECURITY__PER_COMPONENT"] == "true"
            assert env["HUB_SECURITY__SECRETS_DIR"] == PASSWORDS_DIR
            held = {}
            for secret in service.get("secrets", []):
                assert isinstance(secret, dict), f"{name}: {secret} has no target"
                if secret["source"] == OPS_TOKEN:  # not a Kafka password: /metrics only
                    assert not secret["target"].startswith(PASSWORDS_DIR), name
                    continue
                held[secret["target"].removeprefix(PASSWORDS_DIR + "/")] = secret["source"]
            assert set(held) == PRINCIPALS[comp], name
            for principal, source in held.items():
                assert declared[source]["file"] == f"./.hub/secrets/kafka/{principal}"

    def test_every_password_held_is_a_principal_with_acls(self, compose: dict[str, Any]) -> None:
        """Each principal a service logs in as is declared in deploy/principals.yaml."""
        topics = [
            s.name for s in load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")
        ]
        declared = {
            p.name
            for p in load_principals_file(PROJECT_ROOT / "deploy" / "principals.yaml", topics)
        }
        for comp, _service in services(compose).values():
            assert PRINCIPALS[comp] <= declared


class TestKeyLayout:
    def test_the_router_holds_no_subject_key_and_the_ingest_no_area_key(self) -> None:
        """DESIGN.md section 14: each process only what its links need."""
        router = {g.name for g in grants(["router"])}
        assert SUBJECT_KEY not in router
        assert {f"inbound-mac-{p.value}" for p in Partner} <= router
        assert {f"route-mac-{a.value}" for a in Area} | {
            f"outcome-mac-{a.value}" for a in Area
        } <= router
        ingest = {g.name for g in grants(["connectors"])}
        assert ingest == (
            {SUBJECT_KEY}
            | {f"{kind}-{p.value}" for kind in ("inbound", "inbound-mac") for p in Partner}
            | {f"{kind}-{p.value}" for kind in ("check", "check-mac") for p in CheckPartner}
        )
        assert not any(name.startswith("check") for name in router)

    @pytest.mark.parametrize("partner", list(CheckPartner))
    def test_a_partners_ingest_holds_only_its_own_check_keys(self, partner: CheckPartner) -> None:
        """Agency checks: a partner's ingest opens its own checks, no other partner's."""
        held = {g.name for g in grants([f"connectors-{partner.value}"])}
        checks = {name for name in held if name.startswith("check")}
        assert checks == {f"check-{partner.value}", f"check-mac-{partner.value}"}

    @pytest.mark.parametrize("area", list(Area))
    def test_a_team_holds_only_its_own_areas_keys(self, area: Area) -> None:
        """No other area's key, no partner key, no subject key, no signing key."""
        held = {g.name for g in grants([f"teams-{area.value}"])}
        # The MASH also asks every partner agency checks, so it holds their check keys.
        checks = {f"{kind}-{p.value}" for kind in ("check", "check-mac") for p in CheckPartner}
        assert held == {
            f"area-{area.value}",
            f"route-mac-{area.value}",
            f"outcome-mac-{area.value}",
        } | (checks if area is Area.MASH else set())

    def test_only_the_router_holds_the_checkpoint_signing_key(self) -> None:
        """Auditors get the public key alone; the monitor nothing at all."""
        private = [
            c
            for c, g in COMPONENTS.items()
            if any(x.name == ROUTER_SIGNING and not x.public_only for x in g)
        ]
        assert private == ["router"]
        assert grants(["audit"])[0].public_only
        assert grants(["monitor"]) == []


class TestExport:
    def test_export_copies_exactly_the_components_keys_privately(self, tmp_path: Path) -> None:
        """`hub keys export --for teams-mash DIR`: its folders (checks too), 0700, files 0600."""
        root = tmp_path / "keyring"
        init_keyring(root)
        dest = tmp_path / "teams-mash"
        export_keys(root, ["teams-mash"], dest)
        checks = [f"{kind}-{p.value}" for kind in ("check", "check-mac") for p in CheckPartner]
        assert sorted(p.name for p in dest.iterdir()) == sorted(
            ["area-mash", "outcome-mac-mash", "route-mac-mash", *checks]
        )
        assert stat.S_IMODE(dest.stat().st_mode) == 0o700
        for path in dest.rglob("*"):
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), path

    def test_the_audit_export_has_no_private_key(self, tmp_path: Path) -> None:
        """`--for audit` copies signing-router's public keys only."""
        root = tmp_path / "keyring"
        init_keyring(root)
        export_keys(root, ["audit"], tmp_path / "audit")
        files = sorted(p.name for p in (tmp_path / "audit" / ROUTER_SIGNING).iterdir())
        assert files == ["current", "k1.public"]

    def test_a_directory_holding_other_keys_is_refused(self, tmp_path: Path) -> None:
        """Exporting a narrower set over a wider one would leave keys behind: refused."""
        root = tmp_path / "keyring"
        init_keyring(root)
        export_keys(root, ["router"], tmp_path / "out")
        with pytest.raises(ConfigurationError, match="must not hold"):
            export_keys(root, ["teams-mash"], tmp_path / "out")
