"""What every benchmark shares: an isolated rig, the hub's processes, and the figures.

A :func:`rig` is one bench run's own world on the broker: a topic prefix of its own
(``bench-<name>-<hex>.``, so topics, consumer groups and transactional ids are all
private), every hub topic applied under it, a keyring and state directories in a
temporary folder. On leaving, it stops every process it started (by pid), deletes its
topics and removes the folder.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hub.bootstrap import Hub
from hub.broker.local import LocalBroker
from hub.broker.topics import apply_topics, load_topics_file
from hub.demo.orgs import PARTNER_ORGS
from hub.demo.run import answers_ready
from hub.ingest.credentials import CredentialStore
from hub.kafka import KafkaAdmin
from hub.logging import configure_logging
from hub.security.keys import init_keyring
from hub.settings import (
    PROJECT_ROOT,
    BrokerSettings,
    ConnectorSettings,
    CryptoSettings,
    HubSettings,
    KafkaSettings,
    LoggingSettings,
    RouterSettings,
)
from schemas.common import Partner

KAFKA_CLIENT_ENV = (
    "HUB_KAFKA__BOOTSTRAP_SERVERS",
    "HUB_KAFKA__SECURITY_PROTOCOL",
    "HUB_KAFKA__SASL_MECHANISM",
    "HUB_KAFKA__USERNAME",
    "HUB_KAFKA__PASSWORD",
    "HUB_KAFKA__TOPIC_PREFIX",
)
"""How to reach Kafka; ``./dev`` exports the local broker's admin credentials with SASL."""
TOPICS_FILE = PROJECT_ROOT / "deploy" / "topics.yaml"
UNLIMITED_RATE = "1000000"
"""The connectors' per-partner rate limit is lifted: the benches measure the app itself."""


@functools.cache
def _devnull() -> TextIO:
    """/dev/null, opened on first use and kept open: structlog holds it."""
    return open(os.devnull, "w")  # noqa: PTH123


def quiet_logging() -> None:
    """The hub's logging as deployed (INFO, JSON, redaction), written to /dev/null.

    Hub code the benches call in-process logs like the services do (the handler
    profile must pay for it), but its lines would bury the figures.
    """
    saved, sys.stderr = sys.stderr, _devnull()
    try:
        configure_logging(LoggingSettings(level="INFO"))
    finally:
        sys.stderr = saved


# ---------------------------------------------------------------------- processes


def rss_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in {"VmHWM", "VmRSS"}:
            found[name] = int(rest.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def kafka_from_env(prefix: str | None = None) -> KafkaSettings:
    """The Kafka client settings in ``HUB_KAFKA__*`` (default: 127.0.0.1:9092 in the clear)."""
    fields: dict[str, str] = {
        name.removeprefix("HUB_KAFKA__").lower(): os.environ[name]
        for name in KAFKA_CLIENT_ENV
        if os.environ.get(name)
    }
    if prefix is not None:
        fields["topic_prefix"] = prefix
    return KafkaSettings.model_validate(fields)


def shared_broker_pid() -> int | None:
    """The pid of the shared local broker, for reading its CPU time (never to signal it)."""
    state = os.environ.get("HUB_BROKER__STATE_DIR")
    settings = BrokerSettings(state_dir=Path(state)) if state else BrokerSettings()
    return LocalBroker(settings).status().pid


class Usage:
    """CPU used over a window: by named processes, by the broker, by the whole machine."""

    def __init__(self, pids: dict[str, int]) -> None:
        broker = shared_broker_pid()
        self._pids = {**pids, **({"broker": broker} if broker else {})}
        self._began = time.monotonic()
        self._machine = _machine_ticks()
        self._cpu = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def cores(self) -> dict[str, float]:
        """Average cores used since the window opened (read before the processes exit)."""
        wall = time.monotonic() - self._began
        busy, total = _machine_ticks()
        ncpu = os.cpu_count() or 1
        out = {
            name: round((cpu_seconds(pid) - self._cpu[name]) / wall, 2)
            for name, pid in self._pids.items()
        }
        out["machine"] = round(
            (busy - self._machine[0]) / max(1, total - self._machine[1]) * ncpu, 2
        )
        return out


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 60) -> int:
    """SIGTERM, wait, then SIGKILL: the exit status (negative: killed by that signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def router_stats(log: Path) -> dict[str, Any]:
    """The counters of a router's last ``router_stopped`` log line (after a SIGTERM)."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if '"router_stopped"' in line:
            event = json.loads(line)
            return {k: event.get(k) for k in ("routed", "dead_lettered", "transactions", "aborted")}
    return {}


def wait_http_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Wait until ``url`` answers ``{"ready": true}``; fail with the log's tail."""
    if answers_ready(url, proc, timeout_s, probe_s=2.0):
        return
    if proc.poll() is not None:
        raise RuntimeError(f"process exited {proc.returncode}: {tail(log)}")
    raise RuntimeError(f"{url} not ready after {timeout_s:.0f}s: {tail(log)}")


def tail(log: Path, chars: int = 1500) -> str:
    """The end of a log file."""
    try:
        return log.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------- the rig


@dataclass
class Rig:
    """One bench run's topics, keys, state and processes."""

    name: str
    kafka: KafkaSettings
    tmp: Path
    encrypt: bool = True
    sign: bool = True
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def hub(self) -> Hub:
        """The hub, in this process, with the rig's settings."""
        return Hub(
            HubSettings(
                kafka=self.kafka,
                crypto=CryptoSettings(
                    keys_dir=self.tmp / "keys", encrypt=self.encrypt, sign=self.sign
                ),
                router=RouterSettings(state_dir=self.tmp / "router"),
                connectors=ConnectorSettings(state_dir=self.tmp / "connectors"),
            )
        )

    def log(self, name: str) -> Path:
        """The log file of a process of this rig."""
        return self.tmp / "logs" / f"{name}.log"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a hub process of this rig (no developer HUB_* settings)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        kafka = self.kafka
        env.update(
            HUB_KAFKA__BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
            HUB_KAFKA__TOPIC_PREFIX=kafka.topic_prefix,
            HUB_KAFKA__SECURITY_PROTOCOL=kafka.security_protocol,
            HUB_KAFKA__SASL_MECHANISM=kafka.sasl_mechanism,
            HUB_CRYPTO__KEYS_DIR=str(self.tmp / "keys"),
            HUB_CRYPTO__ENCRYPT=str(self.encrypt).lower(),
            HUB_CRYPTO__SIGN=str(self.sign).lower(),
            HUB_ROUTER__STATE_DIR=str(self.tmp / "router"),
            HUB_CONNECTORS__STATE_DIR=str(self.tmp / "connectors"),
            HUB_CONNECTORS__RATE_PER_S=UNLIMITED_RATE,
            HUB_CONNECTORS__RATE_BURST=UNLIMITED_RATE,
            HUB_LOGGING__LEVEL="INFO",
        )
        if kafka.username and kafka.password:
            env["HUB_KAFKA__USERNAME"] = kafka.username
            env["HUB_KAFKA__PASSWORD"] = kafka.password.get_secret_value()
        # cwd is the rig's folder (no stray .env): bench helpers import from the project.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        env.update(extra)
        return env

    def start(self, args: list[str], name: str, **extra_env: str) -> subprocess.Popen[bytes]:
        """Start ``python -m <args>`` (a hub command or a bench helper) with its own log."""
        log = self.log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 -- our own modules, fixed arguments
                [sys.executable, "-m", *args],
                env=self.env(**extra_env),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )
        self.procs.append(proc)
        return proc

    def start_router(self, instance: str = "router", **extra_env: str) -> subprocess.Popen[bytes]:
        """``hub router run`` as instance ``instance``.

        ``BENCH_ROUTER_WINDOW_MS``, when set, is the router's batch window (an A/B of
        ``HUB_ROUTER__BATCH_WINDOW_MS`` in any bench; developer ``HUB_*`` settings are
        not passed on).
        """
        window = os.environ.get("BENCH_ROUTER_WINDOW_MS")
        if window is not None:
            extra_env.setdefault("HUB_ROUTER__BATCH_WINDOW_MS", window)
        return self.start(
            ["hub", "router", "run"], instance, HUB_ROUTER__INSTANCE=instance, **extra_env
        )

    def start_connectors(self, port: int, **extra_env: str) -> subprocess.Popen[bytes]:
        """``hub connectors serve`` on ``port``; returns once it reports ready."""
        proc = self.start(
            ["hub", "connectors", "serve", "--port", str(port)], "connectors", **extra_env
        )
        wait_http_ready(
            f"http://127.0.0.1:{port}/health", proc, self.log("connectors"), timeout_s=120
        )
        return proc

    def partner_token(self, partner: Partner) -> str:
        """A credential for ``partner`` (what ``hub partners add`` issues)."""
        store = CredentialStore(self.tmp / "connectors" / "credentials.json")
        return store.add(partner, PARTNER_ORGS[partner])


def hub_with_keys(keys: Path, *, encrypt: bool = True, sign: bool = True) -> Hub:
    """A hub in this process that only needs a keyring (to seal and sign records)."""
    return Hub(HubSettings(crypto=CryptoSettings(keys_dir=keys, encrypt=encrypt, sign=sign)))


@contextlib.asynccontextmanager
async def rig(
    name: str,
    *,
    kafka: KafkaSettings | None = None,
    encrypt: bool = True,
    sign: bool = True,
    keys: Path | None = None,
) -> AsyncIterator[Rig]:
    """A private set of hub topics, keys and state, cleaned up on the way out.

    ``kafka`` says how to reach another broker than the shared one (``HUB_KAFKA__*``);
    ``keys`` is a keyring to copy (so records sealed for one rig verify in another);
    by default the rig makes a new one.
    """
    prefix = f"bench-{name}-{uuid.uuid4().hex[:8]}."
    base = (kafka or kafka_from_env()).model_dump()
    kafka = KafkaSettings.model_validate({**base, "topic_prefix": prefix})
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    if keys is None:
        init_keyring(tmp / "keys")
    else:
        shutil.copytree(keys, tmp / "keys")
    the_rig = Rig(name, kafka, tmp, encrypt=encrypt, sign=sign)
    try:
        await apply_topics(load_topics_file(TOPICS_FILE, "local"), kafka)
        yield the_rig
    finally:
        for proc in the_rig.procs:
            stop_process(proc, timeout_s=30)
        with contextlib.suppress(Exception):
            await delete_prefixed_topics(kafka)
        shutil.rmtree(tmp, ignore_errors=True)


async def delete_prefixed_topics(kafka: KafkaSettings) -> None:
    """Delete every topic under the settings' prefix."""
    async with KafkaAdmin(kafka, "bench-admin") as admin:
        names = [n for n in await admin.list_topics() if n.startswith(kafka.topic_prefix)]
        if names:
            await admin.delete_topics(names)
