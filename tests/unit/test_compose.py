"""compose.yaml cannot run here (no Docker engine), so its consistency is tested instead."""

from __future__ import annotations

import json
import re
from pathlib import Path
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


def long_running(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every service that is not a one-shot job."""
    return {n: s for n, s in compose["services"].items() if s.get("restart") != "no"}


def served_ports(compose: dict[str, Any]) -> dict[str, int]:
    """Each long-running hub service and the port of its /metrics and /health."""
    found = {}
    for name, service in hub_services(compose).items():
        command = service["command"]
        if name not in long_running(compose):
            continue
        if "--port" in command:
            found[name] = int(command[command.index("--port") + 1])
        else:
            found[name] = int(service["environment"]["HUB_ROUTER__METRICS_PORT"])
    return found


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
        assert {"topics", "router-1", "router-2", "connectors", "monitor"} | teams <= set(services)
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
        self, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Every HUB_ variable of every service is a known, valid setting."""
        broker_hosts = {f"{n}:9092" for n in brokers(compose)}
        token = tmp_path / "ops_token"
        token.write_text("a-token\n")
        for service in hub_services(compose).values():
            for key, value in service.get("environment", {}).items():
                # The container's secret is here, in the test, at a path of its own.
                here = str(token) if key == "HUB_HTTP__OPS_TOKEN_FILE" else str(value)
                monkeypatch.setenv(key, here)
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
    def test_prometheus_scrapes_every_hub_process_with_the_ops_token(
        self, compose: dict[str, Any]
    ) -> None:
        """Each long-running hub service is a target on the port it serves, with the token."""
        config = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus.yml").read_text())
        targets = {
            t
            for job in config["scrape_configs"]
            for sc in job["static_configs"]
            for t in sc["targets"]
        }
        assert targets == {f"{name}:{port}" for name, port in served_ports(compose).items()}
        prometheus = compose["services"]["prometheus"]
        token_at = {s["target"] for s in prometheus["secrets"] if s["source"] == "ops_token"}
        for job in config["scrape_configs"]:
            assert {job["authorization"]["credentials_file"]} == token_at, job["job_name"]
        mounts = prometheus["volumes"]
        assert any(m.startswith("./deploy/prometheus.yml:") for m in mounts)
        for name in served_ports(compose):
            service = compose["services"][name]
            token = service["environment"]["HUB_HTTP__OPS_TOKEN_FILE"]
            assert {"source": "ops_token", "target": token} in service["secrets"], name

    def test_alerts_go_to_alertmanager(self, compose: dict[str, Any]) -> None:
        """Prometheus loads deploy/alerts.yml and sends to the Alertmanager service."""
        config = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus.yml").read_text())
        prometheus = compose["services"]["prometheus"]
        mounted = dict(v.split(":")[:2][::-1] for v in prometheus["volumes"] if ":" in v)
        assert mounted[config["rule_files"][0]] == "./deploy/alerts.yml"
        (am,) = [
            t
            for a in config["alerting"]["alertmanagers"]
            for t in a["static_configs"][0]["targets"]
        ]
        host, port = am.split(":")
        alertmanager = compose["services"][host]
        assert f"{port}:{port}" in alertmanager["ports"]
        routing = yaml.safe_load((PROJECT_ROOT / "deploy" / "alertmanager.yml").read_text())
        receivers = {r["name"] for r in routing["receivers"]}
        used = {routing["route"]["receiver"]} | {r["receiver"] for r in routing["route"]["routes"]}
        assert used <= receivers
        severities = set()
        alerts = yaml.safe_load((PROJECT_ROOT / "deploy" / "alerts.yml").read_text())
        for group in alerts["groups"]:
            severities |= {rule["labels"]["severity"] for rule in group["rules"]}
        assert "page" in severities
        assert 'severity="page"' in str(routing["route"]["routes"])

    def test_grafana_dashboard_is_provisioned_on_documented_metrics(
        self, compose: dict[str, Any]
    ) -> None:
        """The data source is the Prometheus service; each panel's metrics are documented."""
        grafana = compose["services"]["grafana"]
        mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
        assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
        source = yaml.safe_load(
            (PROJECT_ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
        )["datasources"][0]
        assert source["url"] == "http://prometheus:9090"
        provider = yaml.safe_load(
            (PROJECT_ROOT / "deploy/grafana/provisioning/dashboards/hub.yml").read_text()
        )["providers"][0]
        assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
        dashboard = json.loads((PROJECT_ROOT / "deploy/grafana/dashboards/hub.json").read_text())
        documented = (PROJECT_ROOT / "docs" / "operations.md").read_text()
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        for expr in exprs:
            for metric in re.findall(r"hub_[a-z_]+", expr):
                name = re.sub(r"_(bucket|count|sum)$", "", metric)
                assert name in documented, metric
        uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
        assert uids == {source["uid"]}
        text = " ".join(exprs)
        for needed in (
            "hub_consumer_topic_lag_messages",
            "hub_consumer_lag_seconds",
            "hub_sla_breaches_total",
            "hub_decisions_by_rule_total",
            "hub_dlq_messages_by_error_class",
            "hub_checks_overdue",
            "hub_awaiting_authorisation_messages",
        ):
            assert needed in text, needed

    def test_alerts_use_metrics_the_monitor_exports(self) -> None:
        """Every metric an alert uses is documented in docs/operations.md."""
        alerts = yaml.safe_load((PROJECT_ROOT / "deploy" / "alerts.yml").read_text())
        documented = (PROJECT_ROOT / "docs" / "operations.md").read_text()
        for group in alerts["groups"]:
            for rule in group["rules"]:
                for metric in re.findall(r"hub_[a-z_]+", rule["expr"]):
                    assert metric in documented, metric


class TestWouldStart:
    """What made the old compose.yaml fail to start, or lie about being up."""

    def test_every_long_running_service_has_a_readiness_healthcheck(
        self, compose: dict[str, Any]
    ) -> None:
        """Hub services probe the /health (router: /health/ready) of the port they serve."""
        for name, service in long_running(compose).items():
            assert "healthcheck" in service, name
        for name, port in served_ports(compose).items():
            probe = " ".join(compose["services"][name]["healthcheck"]["test"])
            path = "/health/ready" if name.startswith("router") else "/health"
            assert f"http://127.0.0.1:{port}{path}'" in probe, name
            assert ".status != 200" in probe, name

    def test_hub_services_run_unprivileged_on_volumes_the_image_prepares(
        self, compose: dict[str, Any]
    ) -> None:
        """Uid 10001 everywhere; each named volume under /var/lib/hub, created with that owner."""
        dockerfile = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text()
        assert "useradd --system --uid 10001" in dockerfile
        assert "chown -R hub:hub /var/lib/hub" in dockerfile
        prepared = set(re.findall(r"/var/lib/hub/[a-z]+", dockerfile))
        named = set(compose["volumes"])
        for name, service in hub_services(compose).items():
            if name in long_running(compose):
                assert service["user"] == "10001:10001", name
            for volume in service.get("volumes", []):
                source, target = volume.split(":")[:2]
                if source in named:
                    assert target in prepared, (name, target)

    def test_a_volume_per_replica(self, compose: dict[str, Any]) -> None:
        """No two long-running services share a named volume (two routers, one state each)."""
        owners: dict[str, list[str]] = {}
        for name, service in long_running(compose).items():
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source in compose["volumes"]:
                    owners.setdefault(source, []).append(name)
        shared = {v: who for v, who in owners.items() if len(who) > 1}
        assert shared == {}
        routers = [
            n for n, s in hub_services(compose).items() if s["command"][:2] == ["router", "run"]
        ]
        instances = {compose["services"][n]["environment"]["HUB_ROUTER__INSTANCE"] for n in routers}
        assert len(routers) == len(instances) == 2

    def test_open_files_and_the_image(self, compose: dict[str, Any]) -> None:
        """Nofile raised for brokers and hub services; the image installs the package, not -e."""
        for name, service in {**brokers(compose), **hub_services(compose)}.items():
            if name in long_running(compose):
                assert service["ulimits"]["nofile"]["soft"] >= 65536, name
        dockerfile = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text()
        assert " -e " not in dockerfile
        assert "--editable" not in dockerfile
        env = dict(re.findall(r"(HUB_[A-Z_]+)=(\S+)", dockerfile))
        assert env["HUB_TOPICS__FILE"] == "/app/deploy/topics.yaml"
        assert env["HUB_SECURITY__PRINCIPALS_FILE"] == "/app/deploy/principals.yaml"
        assert "COPY deploy/topics.yaml deploy/principals.yaml ./deploy/" in dockerfile


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
        for name in ("router-1", "router-2", "connectors", "monitor", *teams):
            service = compose["services"][name]
            env = service["environment"]
            assert env["HUB_SECURITY__PER_COMPONENT"] == "true"
            assert "HUB_KAFKA__USERNAME" not in env, name
            assert service["secrets"], name
            assert (
                service["depends_on"]["security"]["condition"] == "service_completed_successfully"
            )
