"""compose.yaml cannot run here (no Docker engine), so its consistency is tested instead."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
import typer.main
import yaml

from hub.broker.topics import load_topics_file
from hub.cli import app
from hub.settings import PROJECT_ROOT, HubSettings
from schemas.common import Area

COMPOSE = PROJECT_ROOT / "compose.yaml"
HUB_IMAGE = "safeguarding-hub:latest"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def hub_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == HUB_IMAGE}


def brokers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        n: s
        for n, s in compose["services"].items()
        if str(s.get("image", "")).startswith("apache/kafka:")
        and "KAFKA_NODE_ID" in s.get("environment", {})
    }


def parse_hub_command(argv: list[str]) -> click.Context:
    """Resolve `hub <argv>` to a command and parse its options, without running it."""
    command: click.Command = typer.main.get_command(app)
    args = list(argv)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = command.get_command(click.Context(command), args[0])
        assert sub is not None, f"hub has no command {args[0]!r} (from {argv})"
        command, args = sub, args[1:]
    return command.make_context("hub", args)


class TestCompose:
    def test_three_kraft_brokers_from_the_official_image(self, compose: dict[str, Any]) -> None:
        """Three brokers, each broker and controller, all voters."""
        found = brokers(compose)
        assert len(found) == 3
        ids = set()
        for service in found.values():
            env = service["environment"]
            assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
            assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3
            ids.add(env["KAFKA_NODE_ID"])
        assert ids == {"1", "2", "3"}

    def test_production_profile_fits_the_cluster(self, compose: dict[str, Any]) -> None:
        """The production topics profile matches the brokers' replication settings."""
        specs = load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "production")
        env = next(iter(brokers(compose).values()))["environment"]
        for spec in specs:
            assert spec.replication_factor <= len(brokers(compose))
            assert spec.configs["min.insync.replicas"] == env["KAFKA_MIN_INSYNC_REPLICAS"]

    def test_every_hub_service_runs_an_existing_command(self, compose: dict[str, Any]) -> None:
        """Each hub service's command resolves to a real `hub` subcommand and options."""
        services = hub_services(compose)
        teams = {f"teams-{a.value}" for a in Area}
        assert {"topics", "router", "connectors", "monitor"} | teams <= set(services)
        assert services["router"]["deploy"]["replicas"] == 2
        for name, service in services.items():
            ctx = parse_hub_command(service["command"])
            assert ctx.command is not None, name

    def test_topics_job_applies_the_production_profile(self, compose: dict[str, Any]) -> None:
        """The topics job is the declarative file applied with the production profile."""
        job = compose["services"]["topics"]
        assert job["command"][:2] == ["topics", "apply"]
        assert job["command"][job["command"].index("--profile") + 1] == "production"
        assert job["environment"]["HUB_TOPICS__PROFILE"] == "production"

    def test_hub_environment_is_valid_settings(
        self, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every HUB_ variable of every service is a known, valid setting."""
        broker_hosts = {f"{n}:9092" for n in brokers(compose)}
        for service in hub_services(compose).values():
            for key, value in service.get("environment", {}).items():
                monkeypatch.setenv(key, str(value))
            settings = HubSettings()
            assert set(settings.kafka.bootstrap_servers.split(",")) == broker_hosts
            for key in service.get("environment", {}):
                monkeypatch.delenv(key)

    def test_image_build_context_holds_the_packages(self, compose: dict[str, Any]) -> None:
        """The Dockerfile copies what the hub imports and the deploy files it reads."""
        dockerfile = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text()
        for part in ("hub", "connectors", "schemas", "deploy", "constraints.txt"):
            assert f"COPY {part}" in dockerfile or f" {part} " in dockerfile
        assert compose["services"]["topics"]["build"]["dockerfile"] == "deploy/Dockerfile"


class TestPrometheus:
    def test_prometheus_scrapes_the_monitor(self, compose: dict[str, Any]) -> None:
        """The scrape target is the monitor service on the port it serves."""
        config = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus.yml").read_text())
        targets = [
            t
            for job in config["scrape_configs"]
            for sc in job["static_configs"]
            for t in sc["targets"]
        ]
        monitor = compose["services"]["monitor"]
        port = monitor["command"][monitor["command"].index("--port") + 1]
        assert targets == [f"monitor:{port}"]
        mounts = compose["services"]["prometheus"]["volumes"]
        assert any(m.startswith("./deploy/prometheus.yml:") for m in mounts)

    def test_alerts_use_metrics_the_monitor_exports(self) -> None:
        """Every metric an alert uses is documented in docs/operations.md."""
        alerts = yaml.safe_load((PROJECT_ROOT / "deploy" / "alerts.yml").read_text())
        documented = (PROJECT_ROOT / "docs" / "operations.md").read_text()
        for group in alerts["groups"]:
            for rule in group["rules"]:
                for metric in re.findall(r"hub_[a-z_]+", rule["expr"]):
                    assert metric in documented, metric


class TestSecuredCluster:
    def test_brokers_authenticate_and_deny_by_default(self, compose: dict[str, Any]) -> None:
        """SASL/SCRAM for clients, PLAIN on the controller, admin-only super user, deny."""
        for service in brokers(compose).values():
            env = service["environment"]
            assert env["KAFKA_LISTENERS"].startswith("SASL_PLAINTEXT://")
            assert env["KAFKA_ADVERTISED_LISTENERS"].startswith("SASL_PLAINTEXT://")
            assert env["KAFKA_SUPER_USERS"] == "User:admin"
            assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
            assert env["KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL"] == "PLAIN"
            assert "kafka_jaas" in service["secrets"]
            init = service["depends_on"]
            assert all(v["condition"] == "service_completed_successfully" for v in init.values())

    def test_every_broker_is_formatted_with_the_admin_user(self, compose: dict[str, Any]) -> None:
        """Each broker's volume is formatted with --add-scram for admin before it starts."""
        for name, service in brokers(compose).items():
            init_name = next(iter(service["depends_on"]))
            init = compose["services"][init_name]
            assert "--add-scram" in init["command"][0]
            assert init["volumes"] == service["volumes"], name

    def test_components_log_in_as_their_own_principals(self, compose: dict[str, Any]) -> None:
        """Long-running hub services use per-component principals from the security job.

        Which principals and keys each one holds is tests/security/test_least_privilege.py.
        """
        security = compose["services"]["security"]
        assert security["command"] == ["security", "apply"]
        teams = [f"teams-{a.value}" for a in Area]
        for name in ("router", "connectors", "monitor", *teams):
            service = compose["services"][name]
            env = service["environment"]
            assert env["HUB_SECURITY__PER_COMPONENT"] == "true"
            assert "HUB_KAFKA__USERNAME" not in env, name
            assert service["secrets"], name
            assert (
                service["depends_on"]["security"]["condition"] == "service_completed_successfully"
            )
