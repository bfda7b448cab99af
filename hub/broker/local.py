"""The local Kafka broker: installed from Maven Central, run on the JDK, one node or three.

``hub broker start`` downloads the jars listed in ``deploy/kafka/pom.xml`` into a cache
outside git (once per pom content), renders ``server.properties`` into each node's state
directory, formats the KRaft storage on first start, starts the JVMs detached in their
own process groups and waits until every node logs that it started (registered with the
active controller, so the controller quorum is up) and accepts connections. Start is
idempotent (running nodes are left alone, stopped ones are started); stop leaves no JVM
behind.

Every node is broker and controller in one JVM (KRaft combined mode). One node keeps its
state in ``HUB_BROKER__STATE_DIR`` itself; a cluster (``--nodes 3``) keeps node ``i``'s in
``node-<i>/`` under it, on ports ``port + 2(i-1)`` and ``controller_port + 2(i-1)``, with
all three nodes as the controller quorum and replication factor 3 and
``min.insync.replicas`` 2 for the internal topics (docs/local-broker.md says why).

With ``HUB_BROKER__SASL=true`` the nodes are rendered from ``server-sasl.properties``
instead: SCRAM-SHA-256 on the client listener (which also carries replication between
nodes), PLAIN on the controller listener, the StandardAuthorizer with no access by
default, and a super user ``admin`` whose password is generated once into the state
directory and created in every node's storage at format time (``StorageTool
--add-scram``). Start then also writes ``admin.env`` (``HUB_KAFKA__*`` lines) and
``admin.properties`` (for Kafka's own tools) there, both mode 0600; docs/security.md says
how they are used.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from hub.broker.node import DEPLOY, BrokerNode, NodeSpec, NodeStatus
from hub.errors import BrokerError, PortInUseError
from hub.security.passwords import new_password, read_secret, write_secret
from hub.settings import BrokerSettings, KafkaSettings

_PLAINTEXT = "PLAINTEXT"
_SASL = "SASL_PLAINTEXT"
_MECHANISM = "SCRAM-SHA-256"
_LAYOUTS = (1, 3)
"""The node counts ``hub broker`` runs; stop and status look for either in the state dir."""
_REPLICATION = {1: (1, 1), 3: (3, 2)}
"""Replication factor and min.insync.replicas of the internal topics, by node count: the
topics file's local and production profiles."""
ADMIN_USER = "admin"
"""The local broker's super user (``super.users``), created when the storage is formatted."""


@dataclass(frozen=True)
class BrokerStatus:
    """What ``hub broker status`` reports."""

    running: bool
    pid: int | None
    address: str
    log_file: Path
    data_dir: Path
    security_protocol: str = _PLAINTEXT
    admin_env: Path | None = None
    nodes: tuple[NodeStatus, ...] = field(default=())

    def describe(self) -> str:
        """Return a human description: one line, and one more per node of a cluster."""
        if len(self.nodes) > 1:
            up = sum(n.running for n in self.nodes)
            state = "running" if self.running else ("degraded" if up else "stopped")
            head = f"{state} nodes={up}/{len(self.nodes)} bootstrap={self.address}"
            head += self._security()
            return "\n".join([head, *(f"  {n.describe()}" for n in self.nodes)])
        where = f"address={self.address} log={self.log_file}" + self._security()
        if self.running:
            return f"running pid={self.pid} {where}"
        return f"stopped {where}"

    def _security(self) -> str:
        if self.security_protocol == _PLAINTEXT:
            return ""
        return f" security={self.security_protocol} admin_env={self.admin_env}"


class LocalBroker:
    """Install, start, stop and inspect the local development broker (one node or three)."""

    def __init__(self, settings: BrokerSettings) -> None:
        self._s = settings
        self._state = settings.state_dir
        self.nodes = self._layout(settings.nodes)
        """The configured nodes, node 1 first."""
        self.admin_password_file = self._state / "admin.password"
        self.admin_env_file = self._state / "admin.env"
        self.admin_properties_file = self._state / "admin.properties"

    @property
    def data_dir(self) -> Path:
        """The data directory of node 1 (the only node, by default)."""
        return self.nodes[0].data_dir

    @property
    def log_file(self) -> Path:
        """The log of node 1 (the only node, by default)."""
        return self.nodes[0].log_file

    def node(self, node_id: int) -> BrokerNode:
        """The configured node ``node_id`` (from 1)."""
        return self.nodes[node_id - 1]

    # ------------------------------------------------------------------ install
    def libs_dir(self) -> Path:
        """Return the cache directory for the jars of the current pom."""
        digest = hashlib.sha256(self._s.pom_file.read_bytes()).hexdigest()[:12]
        return self._s.cache_dir / f"kafka-{digest}" / "libs"

    def install(self) -> Path:
        """Download the broker's jars with Maven unless the cache already has them."""
        libs = self.libs_dir()
        marker = libs.parent / "complete"
        if marker.exists():
            return libs
        if shutil.which("mvn") is None:
            raise BrokerError("Maven (mvn) is not on PATH; install Maven 3.8+ to fetch Kafka")
        if shutil.which("java") is None:
            raise BrokerError("java is not on PATH; install a JDK 17+ to run Kafka")
        libs.mkdir(parents=True, exist_ok=True)
        cmd = [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(self._s.pom_file),
            "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise BrokerError("Maven could not fetch the Kafka jars: " + " | ".join(tail))
        marker.write_text("ok\n")
        return libs

    def classpath(self) -> str:
        """Return the JVM class path of the installed jars."""
        return str(self.install() / "*")

    # ------------------------------------------------------------------ lifecycle
    def status(self) -> BrokerStatus:
        """Report the nodes running in the state dir (the configured ones if none runs)."""
        nodes = self._running_layout()
        states = tuple(n.status() for n in nodes)
        return BrokerStatus(
            running=all(s.running for s in states),
            pid=states[0].pid,
            address=_bootstrap(nodes),
            log_file=nodes[0].log_file,
            data_dir=nodes[0].data_dir,
            security_protocol=self.security_protocol,
            admin_env=self.admin_env_file if self._s.sasl else None,
            nodes=states,
        )

    @property
    def security_protocol(self) -> str:
        """The protocol clients must use on the client port."""
        return _SASL if self._s.sasl else _PLAINTEXT

    def start(self, *, wipe: bool = False) -> BrokerStatus:
        """Start the stopped nodes and wait until all are ready; running ones are left alone."""
        self._refuse_other_layout()
        down = [n for n in self.nodes if n.live_pid() is None]
        if wipe and len(down) < len(self.nodes):
            raise BrokerError("the broker is running; stop it before wiping its data")
        for node in self.nodes:
            if node not in down:
                self._check_running_protocol(node)
        if down:
            self._ensure_ports_free(down)
            classpath = self.classpath()
            self._prepare(down, classpath, wipe=wipe)
            if self._s.sasl:
                self._write_admin_files()
            heap = self._s.heap if len(self.nodes) == 1 else self._s.cluster_heap
            for node in down:
                node.spawn(classpath, heap)
        try:
            self._wait_ready()
        except BrokerError:
            # A node that failed leaves the others waiting for it: stop what this started.
            self._stop_nodes(down, timeout_s=30)
            raise
        return self.status()

    def admin_kafka_settings(self, base: KafkaSettings | None = None) -> KafkaSettings:
        """Client settings of the super user on this broker (``base`` supplies the rest)."""
        if not self._s.sasl:
            raise BrokerError("the local broker runs without SASL (HUB_BROKER__SASL is false)")
        fields = (base or KafkaSettings()).model_dump()
        fields.update(
            bootstrap_servers=_bootstrap(self._running_layout()),
            security_protocol=_SASL,
            sasl_mechanism=_MECHANISM,
            username=ADMIN_USER,
            password=SecretStr(self._admin_password()),
        )
        return KafkaSettings.model_validate(fields)

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop every node running in the state dir, one node or three, whichever was started.

        SIGTERM to every node at once (a clean shutdown each), then SIGKILL to any left after
        ``timeout_s``; return whether any ran.
        """
        nodes = [
            *self.nodes,
            *(n for c in _LAYOUTS if c != len(self.nodes) for n in self._layout(c)),
        ]
        return self._stop_nodes(nodes, timeout_s)

    def kill(self, node_id: int | None = None) -> None:
        """Kill one node (or every node) at once, as a crash would (used by fault tests)."""
        for node in self.nodes:
            if node_id is None or node.spec.node_id == node_id:
                node.kill()

    # ------------------------------------------------------------------ internals
    def _layout(self, count: int) -> list[BrokerNode]:
        if count == 1:
            spec = NodeSpec(1, self._s.host, self._s.port, self._s.controller_port, self._state)
            return [BrokerNode(spec)]
        return [
            BrokerNode(NodeSpec(i, self._s.host, port, controller, self._state / f"node-{i}"))
            for i, (port, controller) in enumerate(self._s.node_ports(count), start=1)
        ]

    def _running_layout(self) -> list[BrokerNode]:
        """The nodes of whatever runs in the state dir; the configured ones if nothing does."""
        for count in _LAYOUTS:
            if count == len(self.nodes):
                continue
            other = self._layout(count)
            if not any(n.live_pid() for n in self.nodes) and any(n.live_pid() for n in other):
                return other
        return self.nodes

    def _refuse_other_layout(self) -> None:
        running = self._running_layout()
        if running is not self.nodes:
            what = "one node" if len(running) == 1 else f"a {len(running)}-node cluster"
            raise BrokerError(
                f"{what} runs in {self._state}; stop it (hub broker stop) before starting "
                f"{len(self.nodes)} node(s), or start with --nodes {len(running)}"
            )

    def _stop_nodes(self, nodes: list[BrokerNode], timeout_s: float) -> bool:
        pids = {}
        for node in nodes:
            pid = node.send(signal.SIGTERM)
            if pid is None:
                node.forget()
            else:
                pids[node.spec.state_dir] = (node, pid)
        deadline = time.monotonic() + timeout_s
        for node, pid in pids.values():
            if not node.wait_exit(pid, max(0.0, deadline - time.monotonic())):
                node.send(signal.SIGKILL)
                node.wait_exit(pid, timeout_s=60)
        return bool(pids)

    def _ensure_ports_free(self, nodes: list[BrokerNode]) -> None:
        for node in nodes:
            for port in (node.spec.port, node.spec.controller_port):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        sock.bind((self._s.host, port))
                    except OSError:
                        raise PortInUseError(
                            f"port {port} on {self._s.host} is already in use by another "
                            "process; stop it or choose another with HUB_BROKER__PORT / "
                            "HUB_BROKER__CONTROLLER_PORT"
                        ) from None

    def _prepare(self, nodes: list[BrokerNode], classpath: str, *, wipe: bool) -> None:
        """Render the nodes' configs and format the storage of those that need it."""
        for node in nodes:
            node.spec.state_dir.mkdir(parents=True, exist_ok=True)
            if wipe and node.data_dir.exists():
                shutil.rmtree(node.data_dir)
        formatted = [n for n in nodes if n.formatted]
        self._check_storage_protocol(formatted)
        self._render_config(nodes)
        fresh = [n for n in nodes if not n.formatted]
        if not fresh:
            return
        # Every node of a cluster carries the same cluster id: a restarted node whose
        # storage was lost joins the cluster the others still hold.
        cluster_id = next(
            (cid for n in self.nodes if (cid := n.cluster_id()) is not None), _new_cluster_id()
        )
        extra: list[str] = []
        if self._s.sasl:
            extra = [
                "--add-scram",
                f"{_MECHANISM}=[name={ADMIN_USER},password={self._admin_password()}]",
            ]
        # The JVMs format in parallel: start-up is most of the time each one takes.
        running = [(n, n.start_format(classpath, cluster_id, extra)) for n in fresh]
        for node, proc in running:
            node.finish_format(proc, self.security_protocol)

    def _render_config(self, nodes: list[BrokerNode] | None = None) -> None:
        replication_factor, min_isr = _REPLICATION[len(self.nodes)]
        values: dict[str, object] = {
            "voters": ",".join(n.spec.voter for n in self.nodes),
            "replication_factor": replication_factor,
            "min_isr": min_isr,
            "controlled_shutdown": str(len(self.nodes) == 1).lower(),
        }
        if self._s.sasl:
            template = DEPLOY / "server-sasl.properties"
            values.update(admin_user=ADMIN_USER, admin_password=self._admin_password())
        else:
            template = DEPLOY / "server.properties"
        for node in self.nodes if nodes is None else nodes:
            node.render(template, values)

    def _admin_password(self) -> str:
        """The super user's password, generated on first use and kept in the state dir."""
        if not self.admin_password_file.exists():
            write_secret(self.admin_password_file, new_password() + "\n")
        return read_secret(self.admin_password_file)

    def _write_admin_files(self) -> None:
        password = self._admin_password()
        write_secret(
            self.admin_env_file,
            f"HUB_KAFKA__BOOTSTRAP_SERVERS={_bootstrap(self.nodes)}\n"
            f"HUB_KAFKA__SECURITY_PROTOCOL={_SASL}\n"
            f"HUB_KAFKA__SASL_MECHANISM={_MECHANISM}\n"
            f"HUB_KAFKA__USERNAME={ADMIN_USER}\n"
            f"HUB_KAFKA__PASSWORD={password}\n",
        )
        write_secret(
            self.admin_properties_file,
            f"security.protocol={_SASL}\n"
            f"sasl.mechanism={_MECHANISM}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
            f'required username="{ADMIN_USER}" password="{password}";\n',
        )

    def _check_storage_protocol(self, nodes: list[BrokerNode] | None = None) -> None:
        if not self._s.sasl:
            return
        for node in self.nodes if nodes is None else nodes:
            # No record: the storage was formatted before SASL existed.
            if node.storage_protocol() != _SASL:
                raise BrokerError(
                    f"the storage in {node.data_dir} was formatted without SASL users; "
                    "start once with --wipe to recreate it for SASL"
                )

    def _check_running_protocol(self, node: BrokerNode | None = None) -> None:
        running_sasl = (node or self.nodes[0]).configured_sasl()
        if running_sasl is None or running_sasl == self._s.sasl:
            return
        running = _SASL if running_sasl else _PLAINTEXT
        raise BrokerError(
            f"the running broker uses {running}, not {self.security_protocol}; "
            "stop it (hub broker stop) and start it again"
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._s.start_timeout_s
        waiting = list(self.nodes)
        while waiting:
            for node in list(waiting):
                if node.live_pid() is None:
                    raise BrokerError(
                        f"{self._name(node)} exited during start-up: {node.log_reason()}"
                    )
                if node.is_ready():
                    waiting.remove(node)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"{self._name(waiting[0])} was not ready within "
                    f"{self._s.start_timeout_s:.0f}s; see {waiting[0].log_file}"
                )
            time.sleep(0.25)

    def _name(self, node: BrokerNode) -> str:
        return "the broker" if len(self.nodes) == 1 else f"broker node {node.spec.node_id}"


def _bootstrap(nodes: list[BrokerNode]) -> str:
    return ",".join(n.spec.address for n in nodes)


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
