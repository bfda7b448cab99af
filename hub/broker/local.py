"""The local single-node Kafka broker: installed from Maven Central, run on the JDK.

``hub broker start`` downloads the jars listed in ``deploy/kafka/pom.xml`` into a cache
outside git (once per pom content), renders ``server.properties`` into the broker's
state directory, formats the KRaft storage on first start, starts the JVM detached in
its own process group and waits until the broker logs that it started and accepts
connections. Start is idempotent; stop leaves no JVM behind.

With ``HUB_BROKER__SASL=true`` the broker is rendered from ``server-sasl.properties``
instead: SCRAM-SHA-256 on the client port, the StandardAuthorizer with no access by
default, and a super user ``admin`` whose password is generated once into the state
directory and created in the storage at format time (``StorageTool --add-scram``). Start
then also writes ``admin.env`` (``HUB_KAFKA__*`` lines) and ``admin.properties`` (for
Kafka's own tools) there, both mode 0600; docs/security.md says how they are used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import string
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from hub.errors import BrokerError, PortInUseError
from hub.security.passwords import new_password, read_secret, write_secret
from hub.settings import BrokerSettings, KafkaSettings

_DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
_STARTED_MARKER = "Kafka Server started"
_MAIN_CLASS = "kafka.Kafka"
_PLAINTEXT = "PLAINTEXT"
_SASL = "SASL_PLAINTEXT"
_MECHANISM = "SCRAM-SHA-256"
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

    def describe(self) -> str:
        """Return a one-line human description."""
        where = f"address={self.address} log={self.log_file}"
        if self.security_protocol != _PLAINTEXT:
            where += f" security={self.security_protocol} admin_env={self.admin_env}"
        if self.running:
            return f"running pid={self.pid} {where}"
        return f"stopped {where}"


class LocalBroker:
    """Install, start, stop and inspect the local development broker."""

    def __init__(self, settings: BrokerSettings) -> None:
        self._s = settings
        self._state = settings.state_dir
        self.data_dir = self._state / "data"
        self.log_file = self._state / "broker.log"
        self._pid_file = self._state / "broker.pid"
        self._config_file = self._state / "server.properties"
        # Which listener the storage was formatted for: SASL needs the admin user in it.
        self._storage_mode_file = self._state / "storage.security"
        self.admin_password_file = self._state / "admin.password"
        self.admin_env_file = self._state / "admin.env"
        self.admin_properties_file = self._state / "admin.properties"
        # The JVM when this object started it; kept so it is reaped, not left a zombie.
        self._proc: subprocess.Popen[bytes] | None = None

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
        """Report whether this broker is running."""
        pid = self._live_pid()
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            address=f"{self._s.host}:{self._s.port}",
            log_file=self.log_file,
            data_dir=self.data_dir,
            security_protocol=self.security_protocol,
            admin_env=self.admin_env_file if self._s.sasl else None,
        )

    @property
    def security_protocol(self) -> str:
        """The protocol clients must use on the client port."""
        return _SASL if self._s.sasl else _PLAINTEXT

    def start(self, *, wipe: bool = False) -> BrokerStatus:
        """Start the broker and wait until it is ready; a running broker is left alone."""
        current = self.status()
        if current.running:
            if wipe:
                raise BrokerError("the broker is running; stop it before wiping its data")
            self._check_running_protocol()
            self._wait_ready(current.pid)
            return current
        self._ensure_ports_free()
        classpath = self.classpath()
        self._state.mkdir(parents=True, exist_ok=True)
        if wipe and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        formatted = (self.data_dir / "meta.properties").exists()
        if formatted:
            self._check_storage_protocol()
        self._render_config()
        if not formatted:
            self._format(classpath)
        if self._s.sasl:
            self._write_admin_files()
        pid = self._spawn(classpath)
        self._wait_ready(pid)
        return self.status()

    def admin_kafka_settings(self, base: KafkaSettings | None = None) -> KafkaSettings:
        """Client settings of the super user on this broker (``base`` supplies the rest)."""
        if not self._s.sasl:
            raise BrokerError("the local broker runs without SASL (HUB_BROKER__SASL is false)")
        fields = (base or KafkaSettings()).model_dump()
        fields.update(
            bootstrap_servers=f"{self._s.host}:{self._s.port}",
            security_protocol=_SASL,
            sasl_mechanism=_MECHANISM,
            username=ADMIN_USER,
            password=SecretStr(self._admin_password()),
        )
        return KafkaSettings.model_validate(fields)

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL); return whether one was running."""
        pid = self._live_pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self._reap()
        self._pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """Kill the broker at once, as a crash would (used by fault tests)."""
        pid = self._live_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self._reap()
        self._pid_file.unlink(missing_ok=True)

    # ------------------------------------------------------------------ internals
    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
            self._proc = None

    def _live_pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not _alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if _MAIN_CLASS.encode() in cmdline else None

    def _ensure_ports_free(self) -> None:
        for port in (self._s.port, self._s.controller_port):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self._s.host, port))
                except OSError:
                    raise PortInUseError(
                        f"port {port} on {self._s.host} is already in use by another process; "
                        "stop it or choose another with HUB_BROKER__PORT / "
                        "HUB_BROKER__CONTROLLER_PORT"
                    ) from None

    def _render_config(self) -> None:
        values: dict[str, object] = {
            "host": self._s.host,
            "port": self._s.port,
            "controller_port": self._s.controller_port,
            "data_dir": self.data_dir,
        }
        if self._s.sasl:
            template_file = _DEPLOY / "server-sasl.properties"
            values.update(admin_user=ADMIN_USER, admin_password=self._admin_password())
        else:
            template_file = _DEPLOY / "server.properties"
        text = string.Template(template_file.read_text()).substitute(values)
        # The SASL config holds the admin password: readable by this user only.
        write_secret(self._config_file, text)

    def _admin_password(self) -> str:
        """The super user's password, generated on first use and kept in the state dir."""
        if not self.admin_password_file.exists():
            write_secret(self.admin_password_file, new_password() + "\n")
        return read_secret(self.admin_password_file)

    def _write_admin_files(self) -> None:
        password = self._admin_password()
        write_secret(
            self.admin_env_file,
            f"HUB_KAFKA__BOOTSTRAP_SERVERS={self._s.host}:{self._s.port}\n"
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

    def _check_storage_protocol(self) -> None:
        try:
            formatted_for = self._storage_mode_file.read_text().strip()
        except FileNotFoundError:
            formatted_for = _PLAINTEXT  # storage formatted before SASL existed
        if self._s.sasl and formatted_for != _SASL:
            raise BrokerError(
                f"the storage in {self.data_dir} was formatted without SASL users; "
                "start once with --wipe to recreate it for SASL"
            )

    def _check_running_protocol(self) -> None:
        try:
            running_sasl = f"{_SASL}://" in self._config_file.read_text()
        except FileNotFoundError:
            return
        if running_sasl != self._s.sasl:
            running = _SASL if running_sasl else _PLAINTEXT
            raise BrokerError(
                f"the running broker uses {running}, not {self.security_protocol}; "
                "stop it (hub broker stop) and start it again"
            )

    def _format(self, classpath: str) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        args = [
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self._config_file),
        ]
        if self._s.sasl:
            args += [
                "--add-scram",
                f"{_MECHANISM}=[name={ADMIN_USER},password={self._admin_password()}]",
            ]
        # The arguments go through a private argument file (java @file) so that the
        # admin password never appears in a process listing.
        argfile = self._state / "format.args"
        write_secret(argfile, "".join(_argfile_quote(a) + "\n" for a in args))
        cmd = [
            "java",
            f"-Dlog4j2.configurationFile={_DEPLOY / 'tools-log4j2.properties'}",
            "-cp",
            classpath,
            f"@{argfile}",
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        finally:
            argfile.unlink(missing_ok=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
            raise BrokerError("formatting the broker storage failed: " + " | ".join(tail))
        self._storage_mode_file.write_text(f"{self.security_protocol}\n")

    def _spawn(self, classpath: str) -> int:
        if self.log_file.exists():
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        heap = self._s.heap
        cmd = [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_DEPLOY / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self._state / 'logs'}",
            "-cp",
            classpath,
            _MAIN_CLASS,
            str(self._config_file),
        ]
        with self.log_file.open("wb") as log:
            proc = subprocess.Popen(  # noqa: S603
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._pid_file.write_text(f"{proc.pid}\n")
        self._proc = proc
        return proc.pid

    def _wait_ready(self, pid: int | None) -> None:
        deadline = time.monotonic() + self._s.start_timeout_s
        while time.monotonic() < deadline:
            if pid is None or not _alive(pid):
                raise BrokerError(f"the broker exited during start-up: {self._log_reason()}")
            if self._log_says_started() and self._accepts_connections():
                return
            time.sleep(0.25)
        raise BrokerError(
            f"the broker was not ready within {self._s.start_timeout_s:.0f}s; see {self.log_file}"
        )

    def _log_says_started(self) -> bool:
        try:
            return _STARTED_MARKER in self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return False

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection((self._s.host, self._s.port), timeout=1):
                return True
        except OSError:
            return False

    def _log_reason(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "no log written"
        errors = [ln for ln in lines if " ERROR " in ln or "Exception" in ln]
        return (errors or lines or ["empty log"])[-1][:300]


def _argfile_quote(arg: str) -> str:
    """Quote one argument for a java @argfile (paths may hold spaces)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
