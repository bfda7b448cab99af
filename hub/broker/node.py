"""One JVM of the local Kafka broker: a KRaft node that is broker and controller at once.

A :class:`BrokerNode` owns one node's state directory (its rendered
``server.properties``, its KRaft storage ``data/``, pid file and log) and its process:
it formats the storage, starts the JVM detached in its own process group, says whether
the node is ready, and stops or kills it. :class:`hub.broker.local.LocalBroker` runs one
node, or three that form a cluster.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import string
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.errors import BrokerError
from hub.security.passwords import write_secret

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
"""The templates and logging configuration of the broker (``deploy/kafka``)."""
MAIN_CLASS = "kafka.Kafka"
_STARTED_MARKER = "Kafka Server started"
"""Logged once the node's broker is registered with the active controller and unfenced
(``KafkaBroker.STARTED_MESSAGE``), so a quorum leader exists."""


@dataclass(frozen=True)
class NodeSpec:
    """Where one node listens and keeps its state."""

    node_id: int
    host: str
    port: int
    controller_port: int
    state_dir: Path

    @property
    def address(self) -> str:
        """The client listener, ``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def voter(self) -> str:
        """This node as an entry of ``controller.quorum.voters``."""
        return f"{self.node_id}@{self.host}:{self.controller_port}"


@dataclass(frozen=True)
class NodeStatus:
    """One node as ``hub broker status`` reports it."""

    node_id: int
    running: bool
    pid: int | None
    address: str
    controller_address: str
    log_file: Path

    def describe(self) -> str:
        """Return a one-line human description."""
        state = f"running pid={self.pid}" if self.running else "stopped"
        return (
            f"node {self.node_id} {state} address={self.address} "
            f"controller={self.controller_address} log={self.log_file}"
        )


class BrokerNode:
    """One node's files and process."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self.data_dir = spec.state_dir / "data"
        self.log_file = spec.state_dir / "broker.log"
        self.pid_file = spec.state_dir / "broker.pid"
        self.config_file = spec.state_dir / "server.properties"
        # Which listener the storage was formatted for: SASL needs the admin user in it.
        self.storage_mode_file = spec.state_dir / "storage.security"
        # The JVM when this object started it; kept so it is reaped, not left a zombie.
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ state
    def status(self) -> NodeStatus:
        """Report whether this node runs."""
        pid = self.live_pid()
        return NodeStatus(
            node_id=self.spec.node_id,
            running=pid is not None,
            pid=pid,
            address=self.spec.address,
            controller_address=f"{self.spec.host}:{self.spec.controller_port}",
            log_file=self.log_file,
        )

    def live_pid(self) -> int | None:
        """The pid of this node's running JVM, if one runs.

        The JVM this object started is known by its process; any other by the pid file,
        if that process runs ``kafka.Kafka`` (a reused pid does not count). The command
        line is not checked for an own child: just after the fork it is still Python's.
        """
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc.pid
            self._proc = None  # exited, and now reaped
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if MAIN_CLASS.encode() in cmdline else None

    @property
    def formatted(self) -> bool:
        """Whether the KRaft storage has been formatted."""
        return (self.data_dir / "meta.properties").exists()

    def cluster_id(self) -> str | None:
        """The cluster id the storage was formatted with, if it was."""
        try:
            lines = (self.data_dir / "meta.properties").read_text().splitlines()
        except FileNotFoundError:
            return None
        for line in lines:
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
        return None

    def storage_protocol(self) -> str | None:
        """The listener protocol the storage was formatted for (None: before SASL existed)."""
        try:
            return self.storage_mode_file.read_text().strip()
        except FileNotFoundError:
            return None

    def configured_sasl(self) -> bool | None:
        """Whether the rendered config has a SASL client listener (None: no config yet)."""
        try:
            return "SASL_PLAINTEXT://" in self.config_file.read_text()
        except FileNotFoundError:
            return None

    # ------------------------------------------------------------------ set-up
    def render(self, template: Path, values: Mapping[str, object]) -> None:
        """Write ``server.properties`` from ``template``, readable by this user only."""
        spec = self.spec
        text = string.Template(template.read_text()).substitute(
            {
                "node_id": spec.node_id,
                "host": spec.host,
                "port": spec.port,
                "controller_port": spec.controller_port,
                "data_dir": self.data_dir,
                **values,
            }
        )
        # The SASL config holds the admin password.
        write_secret(self.config_file, text)

    def start_format(
        self, classpath: str, cluster_id: str, extra: Sequence[str] = ()
    ) -> subprocess.Popen[str]:
        """Start ``StorageTool format`` for this node; :meth:`finish_format` waits for it."""
        args = ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config_file)]
        # The arguments go through a private argument file (java @file) so that a password
        # among them never appears in a process listing.
        write_secret(self._format_args, "".join(_argfile_quote(a) + "\n" for a in [*args, *extra]))
        cmd = [
            "java",
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={DEPLOY / 'tools-log4j2.properties'}",
            "-cp",
            classpath,
            f"@{self._format_args}",
        ]
        return subprocess.Popen(  # noqa: S603
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish_format(self, proc: subprocess.Popen[str], protocol: str) -> None:
        """Wait for the format started by :meth:`start_format`; raise if it failed."""
        try:
            output, _ = proc.communicate()
        finally:
            self._format_args.unlink(missing_ok=True)
        if proc.returncode != 0:
            tail = output.strip().splitlines()[-3:]
            raise BrokerError("formatting the broker storage failed: " + " | ".join(tail))
        self.storage_mode_file.write_text(f"{protocol}\n")

    @property
    def _format_args(self) -> Path:
        return self.spec.state_dir / "format.args"

    # ------------------------------------------------------------------ process
    def spawn(self, classpath: str, heap: str) -> int:
        """Start the JVM detached, in its own process group; return its pid."""
        if self.log_file.exists():
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        cmd = [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.spec.state_dir / 'logs'}",
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.config_file),
        ]
        with self.log_file.open("wb") as log:
            proc = subprocess.Popen(  # noqa: S603
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        self._proc = proc
        return proc.pid

    def is_ready(self) -> bool:
        """Whether the node logged that it started and its client port accepts connections."""
        try:
            started = _STARTED_MARKER in self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return False
        if not started:
            return False
        try:
            with socket.create_connection((self.spec.host, self.spec.port), timeout=1):
                return True
        except OSError:
            return False

    def log_reason(self) -> str:
        """The last error line of the log (why the node did not start)."""
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "no log written"
        errors = [ln for ln in lines if " ERROR " in ln or "Exception" in ln]
        return (errors or lines or ["empty log"])[-1][:300]

    def send(self, sig: signal.Signals) -> int | None:
        """Send ``sig`` to the node's process group; return the pid it ran as."""
        pid = self.live_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
        return pid

    def wait_exit(self, pid: int, timeout_s: float) -> bool:
        """Wait until ``pid`` has exited; return whether it did in time."""
        deadline = time.monotonic() + timeout_s
        while alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        self.forget()
        return True

    def kill(self) -> None:
        """Kill the node at once, as a crash would."""
        pid = self.send(signal.SIGKILL)
        if pid is not None:
            self.wait_exit(pid, timeout_s=60)
        self.forget()

    def forget(self) -> None:
        """Remove the pid file of a JVM that has exited (reaping it if this started it)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                return  # still running: never block here, and keep its pid file
            self._proc = None
        self.pid_file.unlink(missing_ok=True)


def _argfile_quote(arg: str) -> str:
    """Quote one argument for a java @argfile (paths may hold spaces)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not).

    A JVM's main thread may exit while its shutdown still runs on other threads; the
    process then shows the zombie state with more than one thread, and is alive.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    zombie = fields.get("State", "").startswith("Z")
    return not zombie or int(fields.get("Threads", "1")) > 1
