"""The hub's one settings object.

Built once, in the composition root (:mod:`hub.bootstrap`), from the environment
(prefix ``HUB_``, nested fields joined by ``__``, for example
``HUB_KAFKA__BOOTSTRAP_SERVERS``) and an optional ``.env`` file, then passed down.
Nothing reads the environment at import time.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.sla import CheckDeadlines, SlaSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout the hub runs from (an editable install)."""
_MAX_PORT = 65535


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    """How every component reaches the Kafka cluster."""

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated host:port list of brokers."
    )
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-256", description="SASL mechanism when SASL is on."
    )
    username: str | None = Field(None, description="SASL principal of this component.")
    password: SecretStr | None = Field(None, description="SASL password of this component.")
    password_file: Path | None = Field(
        None, description="A file holding the SASL password (a container secret), if no password."
    )

    def secret(self) -> SecretStr | None:
        """The SASL password: ``password``, else the first line of ``password_file``."""
        if self.password is not None:
            return self.password
        if self.password_file is not None:
            return SecretStr(self.password_file.read_text().strip())
        return None

    topic_prefix: str = Field(
        "",
        description="Prefix added to every topic and group name; tests use it to isolate runs.",
        pattern=r"^[A-Za-z0-9._-]*$",
    )
    request_timeout_ms: int = Field(15_000, ge=1_000, description="Client request timeout.")

    def topic(self, name: str) -> str:
        """Return the physical name of the logical topic ``name``."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """Return the physical name of the logical consumer group ``name``."""
        return f"{self.topic_prefix}{name}"


class BrokerSettings(_Section):
    """The local development broker (``hub broker ...``): one node, or a three-node cluster.

    Node ``i`` (from 1) of a cluster listens on ``port + 2(i-1)`` and its controller on
    ``controller_port + 2(i-1)``: 9092/9093, 9094/9095 and 9096/9097 by default, so node 1
    has the single node's ports.
    """

    nodes: int = Field(
        1,
        description=(
            "KRaft nodes, each broker and controller in one JVM: 1, or 3 (a cluster with "
            "replication factor 3 and min.insync.replicas 2 for its internal topics)."
        ),
    )
    port: int = Field(9092, ge=1, le=65535, description="Client listener port (of node 1).")
    controller_port: int = Field(
        9093, ge=1, le=65535, description="KRaft controller port (of node 1)."
    )
    host: str = Field("127.0.0.1", description="Loopback address the broker binds.")
    state_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "broker",
        description=(
            "Holds the broker's data, log, pid file and generated config; node i of a "
            "cluster has its own in node-<i>/ under it."
        ),
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "safeguarding-hub",
        description="Download cache for the Kafka jars (never inside git).",
    )
    pom_file: Path = Field(
        PROJECT_ROOT / "deploy" / "kafka" / "pom.xml",
        description="Maven file listing the broker's jars.",
    )
    heap: str = Field(
        "1g", pattern=r"^\d+[mg]$", description="JVM heap (-Xmx and -Xms) of the single node."
    )
    cluster_heap: str = Field(
        "512m", pattern=r"^\d+[mg]$", description="JVM heap of each node of a cluster."
    )
    start_timeout_s: float = Field(90.0, gt=0, description="How long start waits for ready.")
    sasl: bool = Field(default=False, description="Run with SASL/SCRAM and ACLs.")

    def node_ports(self, nodes: int | None = None) -> list[tuple[int, int]]:
        """The (client, controller) ports of each node, node 1 first."""
        count = self.nodes if nodes is None else nodes
        return [(self.port + 2 * i, self.controller_port + 2 * i) for i in range(count)]

    @field_validator("nodes")
    @classmethod
    def _one_or_three(cls, value: int) -> int:
        if value not in {1, 3}:
            msg = "nodes must be 1 (one node) or 3 (a cluster)"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _distinct_ports(self) -> BrokerSettings:
        if self.port == self.controller_port:
            msg = "broker port and controller_port must differ"
            raise ValueError(msg)
        ports = [p for pair in self.node_ports() for p in pair]
        if len(set(ports)) != len(ports):
            msg = (
                f"the {self.nodes} nodes' ports overlap ({sorted(ports)}): node i uses "
                "port + 2(i-1) and controller_port + 2(i-1); choose controller_port = port + 1"
            )
            raise ValueError(msg)
        if max(ports) > _MAX_PORT:
            msg = f"the {self.nodes} nodes' ports run past 65535"
            raise ValueError(msg)
        return self


class TopicsSettings(_Section):
    """The declarative topics file and which profile of it applies here."""

    file: Path = Field(
        PROJECT_ROOT / "deploy" / "topics.yaml", description="The declarative topics file."
    )
    profile: str = Field("local", description="Profile of the topics file (local, production).")


class LoggingSettings(_Section):
    """Structured logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    json_output: bool = Field(default=True, description="JSON lines (True) or a console layout.")


class CryptoSettings(_Section):
    """Signing and encryption of messages, and where the keys are."""

    keys_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "keys",
        description="Keyring directory (hub/security/keys.py); give each process only its keys.",
    )
    encrypt: bool = Field(default=True, description="Seal sensitive content in transit.")
    sign: bool = Field(
        default=True,
        description=(
            "Authenticate records between components (MACs on inbound records, routed "
            "copies and outcomes) and sign audit checkpoints; off only for benchmarks."
        ),
    )


DEFAULT_BATCH_WINDOW_MS = 10
"""The router's batch window by default (see ``RouterSettings.batch_window_ms``)."""


class RouterSettings(_Section):
    """The router service."""

    policy_file: Path | None = Field(
        None, description="Routing policy YAML; the shipped default when unset."
    )
    state_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "router",
        description="Local history stores (rebuilt from the changelog on assignment).",
    )
    instance: str = Field(
        "router", pattern=r"^[A-Za-z0-9_-]+$", description="Name of this router process."
    )
    max_batch: int = Field(
        2000, ge=1, le=20_000, description="Records fetched per poll, at most (all tasks)."
    )
    batch_window_ms: int = Field(
        DEFAULT_BATCH_WINDOW_MS,
        ge=0,
        le=100,
        description=(
            "Milliseconds a poll that found records goes on gathering (up to max_batch) "
            "before the tasks commit; 0 routes what the first fetch brought."
        ),
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the router's /metrics and /health/ready; off when unset.",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="Address of that port (0.0.0.0 in a container; set HUB_HTTP__OPS_TOKEN).",
    )
    checkpoint_interval_s: float = Field(
        60.0,
        ge=1.0,
        le=60.0,
        description="Seconds between signed audit checkpoints of a growing chain (at most 60).",
    )


class HttpSettings(_Section):
    """What every web front door (ingest, team app, monitor) shares: receipt limits, proxies."""

    header_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds a client has to send a request line and headers."
    )
    body_grace_s: float = Field(
        10.0, gt=0, le=300, description="Seconds a request body may take, plus the rate below."
    )
    body_min_bytes_per_s: int = Field(
        16 * 1024, ge=1, description="A body gets one more second per this many bytes received."
    )
    max_connections_per_client: int = Field(
        256, ge=0, description="Open connections per client address (0: no cap; proxies exempt)."
    )
    max_connections: int = Field(
        0,
        ge=0,
        description=(
            "Above this many open connections the oldest still receiving a request is shed "
            "(0: sized from the open-file limit)."
        ),
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description=(
            "Addresses or CIDR networks of reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed (default none: the peer is the client)."
        ),
    )
    ops_token: SecretStr | None = Field(
        None,
        description=(
            "Bearer token (or HTTP Basic password) for /metrics, detailed /health and the "
            "monitor; unset: those are served to loopback clients only."
        ),
    )
    ops_token_file: Path | None = Field(
        None, description="A file holding the ops token (a container secret), if no ops_token."
    )

    @model_validator(mode="before")
    @classmethod
    def _token_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("ops_token") or not data.get("ops_token_file"):
            return data
        path = Path(data["ops_token_file"])
        try:
            token = path.read_text().strip()
        except OSError as exc:
            msg = f"ops_token_file {path}: {exc.strerror}"
            raise ValueError(msg) from None
        if not token:
            msg = f"ops_token_file {path} is empty"
            raise ValueError(msg)
        return {**data, "ops_token": token}

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                msg = f"{entry!r} is not an IP address or network (a wildcard is never trusted)"
                raise ValueError(msg) from None
        return tuple(entry.strip() for entry in value)


class _WebApp(_Section):
    """A web app's section: where it listens, and HTTPS when a certificate is set."""

    host: str = Field("127.0.0.1", description="Address the app binds.")
    tls_certfile: Path | None = Field(None, description="TLS certificate (PEM); HTTPS when set.")
    tls_keyfile: Path | None = Field(None, description="TLS private key (PEM).")


class ConnectorSettings(_WebApp):
    """The partners' HTTP ingest app and file import."""

    port: int = Field(8080, ge=1, le=65535, description="Port of the HTTP app.")
    state_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "connectors",
        description="Holds the hashed partner credentials.",
    )
    instance: str = Field(
        "connectors", pattern=r"^[A-Za-z0-9_-]+$", description="Name of this app instance."
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After of a 503.")
    publish_timeout_s: float = Field(10.0, gt=0, description="How long a write may take.")
    rate_per_s: float = Field(50.0, gt=0, description="Requests a second per partner.")
    rate_burst: float = Field(200.0, ge=1, description="Burst of requests per partner.")

    @property
    def credentials_file(self) -> Path:
        """Where hashed partner credentials are stored."""
        return self.state_dir / "credentials.json"


class TeamSettings(_WebApp):
    """The team queue web app and API (``hub teams serve``)."""

    port: int = Field(8090, ge=1, le=65535, description="Port of the team app.")
    state_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "teams",
        description="Practitioner accounts, API clients and the local queue cache.",
    )
    areas: tuple[str, ...] = Field(
        (),
        description="Areas this instance serves (empty: every area). Each reads only its topic.",
    )
    instance: str = Field(
        "teams", pattern=r"^[A-Za-z0-9_-]+$", description="Name of this app instance."
    )
    session_hours: float = Field(8.0, gt=0, description="How long a sign-in lasts.")
    secure_cookies: bool = Field(
        default=False,
        description="Mark session cookies Secure (always, when a TLS certificate is set).",
    )


class MonitorSettings(_WebApp):
    """The monitor (``hub monitor run``, ``hub status``)."""

    port: int = Field(9108, ge=1, le=65535, description="Port of /metrics and the scorecard.")
    interval_s: float = Field(10.0, gt=0, description="Seconds between lag samples.")
    window: int = Field(
        10, ge=2, le=100, description="Samples per partition Burrow-style status uses."
    )
    state_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "monitor", description="The monitor's local caches."
    )


class SecuritySettings(_Section):
    """Kafka principals: who each component authenticates as (docs/security.md)."""

    principals_file: Path = Field(
        PROJECT_ROOT / "deploy" / "principals.yaml", description="The declarative principals."
    )
    secrets_dir: Path = Field(
        PROJECT_ROOT / ".hub" / "secrets" / "kafka",
        description="One password file per principal (mode 0600), from `hub security apply`.",
    )
    per_component: bool = Field(
        default=False,
        description=(
            "Each component authenticates as its own principal with the password in "
            "secrets_dir (router, connector-<partner>, team-<area>, monitor); off: every "
            "component uses HUB_KAFKA__USERNAME/PASSWORD."
        ),
    )


class HubSettings(BaseSettings):
    """Every setting of every hub component, read from ``HUB_*`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    topics: TopicsSettings = Field(default_factory=TopicsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    crypto: CryptoSettings = Field(default_factory=CryptoSettings)
    router: RouterSettings = Field(default_factory=RouterSettings)
    connectors: ConnectorSettings = Field(default_factory=ConnectorSettings)
    teams: TeamSettings = Field(default_factory=TeamSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    checks: CheckDeadlines = Field(
        default_factory=CheckDeadlines, description="Agency checks' deadlines by urgency."
    )
