from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.broker.local import LocalBroker, _argfile_quote
from hub.errors import BrokerError, PortInUseError
from hub.settings import BrokerSettings, KafkaSettings


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


class TestLocalBroker:
    def test_status_of_a_never_started_broker(self, tmp_path: Path) -> None:
        """With no pid file the broker is reported stopped."""
        broker = LocalBroker(BrokerSettings(state_dir=tmp_path))
        status = broker.status()
        assert not status.running
        assert status.pid is None
        assert "stopped" in status.describe()

    def test_stale_pid_file_is_not_running(self, tmp_path: Path) -> None:
        """A pid file naming a process that is not Kafka means stopped."""
        (tmp_path / "broker.pid").write_text("1\n")  # init, not kafka.Kafka
        assert not LocalBroker(BrokerSettings(state_dir=tmp_path)).status().running

    def test_port_in_use_is_one_clear_error(self, tmp_path: Path, busy_port: int) -> None:
        """Another process on the port is reported with the port and how to change it."""
        settings = BrokerSettings(state_dir=tmp_path, port=busy_port, controller_port=busy_port + 1)
        with pytest.raises(PortInUseError, match=f"port {busy_port} .* already in use"):
            LocalBroker(settings).start()

    def test_stop_when_not_running_is_harmless(self, tmp_path: Path) -> None:
        """Stopping a stopped broker says so and does nothing."""
        assert LocalBroker(BrokerSettings(state_dir=tmp_path)).stop() is False

    def test_config_is_rendered_from_settings(self, tmp_path: Path) -> None:
        """The generated server.properties carries the configured ports and data dir."""
        broker = LocalBroker(BrokerSettings(state_dir=tmp_path, port=29092, controller_port=29093))
        tmp_path.mkdir(exist_ok=True)
        broker._render_config()
        text = (tmp_path / "server.properties").read_text()
        assert "listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093" in text
        assert f"log.dirs={tmp_path / 'data'}" in text
        assert "${" not in text

    def test_jar_cache_is_outside_the_repository(self, tmp_path: Path) -> None:
        """Jars live in the cache directory, keyed by the pom's content."""
        broker = LocalBroker(BrokerSettings(state_dir=tmp_path, cache_dir=tmp_path / "cache"))
        assert broker.libs_dir().is_relative_to(tmp_path / "cache")


class TestLocalBrokerWithSasl:
    def sasl_broker(self, tmp_path: Path) -> LocalBroker:
        return LocalBroker(
            BrokerSettings(state_dir=tmp_path, port=39092, controller_port=39093, sasl=True)
        )

    def test_sasl_config_is_rendered_private(self, tmp_path: Path) -> None:
        """SCRAM on the client port, PLAIN on the controller, deny by default, admin only."""
        broker = self.sasl_broker(tmp_path)
        broker._render_config()
        config = tmp_path / "server.properties"
        text = config.read_text()
        assert "listeners=SASL_PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093" in text
        assert "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT," in text
        assert "listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-256" in text
        assert "listener.name.controller.sasl.enabled.mechanisms=PLAIN" in text
        assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in (
            text
        )
        assert "super.users=User:admin\n" in text
        assert "ANONYMOUS" not in text
        assert "allow.everyone.if.no.acl.found=false" in text
        assert "auto.create.topics.enable=false" in text
        assert "${" not in text
        password = broker.admin_password_file.read_text().strip()
        assert f'password="{password}"' in text
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert stat.S_IMODE(broker.admin_password_file.stat().st_mode) == 0o600

    def test_admin_password_is_generated_once(self, tmp_path: Path) -> None:
        """Rendering again keeps the password the storage was formatted with."""
        broker = self.sasl_broker(tmp_path)
        broker._render_config()
        first = broker.admin_password_file.read_text()
        broker._render_config()
        assert broker.admin_password_file.read_text() == first
        assert len(first.strip()) >= 40

    def test_admin_files_for_the_test_command(self, tmp_path: Path) -> None:
        """admin.env holds HUB_KAFKA__ lines and admin.properties the Java client config."""
        broker = self.sasl_broker(tmp_path)
        broker._write_admin_files()
        password = broker.admin_password_file.read_text().strip()
        env = dict(line.split("=", 1) for line in broker.admin_env_file.read_text().splitlines())
        assert env == {
            "HUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:39092",
            "HUB_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "HUB_KAFKA__SASL_MECHANISM": "SCRAM-SHA-256",
            "HUB_KAFKA__USERNAME": "admin",
            "HUB_KAFKA__PASSWORD": password,
        }
        props = broker.admin_properties_file.read_text()
        assert "security.protocol=SASL_PLAINTEXT" in props
        assert f'username="admin" password="{password}";' in props
        for path in (broker.admin_env_file, broker.admin_properties_file):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def test_admin_settings(self, tmp_path: Path) -> None:
        """The super user's client settings keep the caller's prefix."""
        broker = self.sasl_broker(tmp_path)
        admin = broker.admin_kafka_settings(KafkaSettings(topic_prefix="t."))
        assert admin.bootstrap_servers == "127.0.0.1:39092"
        assert admin.security_protocol == "SASL_PLAINTEXT"
        assert admin.username == "admin"
        assert admin.topic_prefix == "t."
        assert admin.password is not None
        assert admin.password.get_secret_value() == broker.admin_password_file.read_text().strip()
        with pytest.raises(BrokerError, match="without SASL"):
            LocalBroker(BrokerSettings(state_dir=tmp_path)).admin_kafka_settings()

    def test_plaintext_storage_is_not_reused_for_sasl(self, tmp_path: Path) -> None:
        """Storage formatted without the admin user must be wiped before SASL."""
        broker = self.sasl_broker(tmp_path)
        (tmp_path / "storage.security").write_text("PLAINTEXT\n")
        with pytest.raises(BrokerError, match=r"formatted without SASL.*--wipe"):
            broker._check_storage_protocol()
        (tmp_path / "storage.security").unlink()  # formatted before SASL existed
        with pytest.raises(BrokerError, match="--wipe"):
            broker._check_storage_protocol()
        (tmp_path / "storage.security").write_text("SASL_PLAINTEXT\n")
        broker._check_storage_protocol()
        LocalBroker(BrokerSettings(state_dir=tmp_path))._check_storage_protocol()

    def test_running_broker_of_the_other_kind_is_reported(self, tmp_path: Path) -> None:
        """Asking for SASL while a PLAINTEXT broker runs fails with what to do."""
        LocalBroker(BrokerSettings(state_dir=tmp_path))._render_config()
        with pytest.raises(BrokerError, match=r"running broker uses PLAINTEXT.*hub broker stop"):
            self.sasl_broker(tmp_path)._check_running_protocol()

    def test_status_names_the_admin_env_file(self, tmp_path: Path) -> None:
        """`hub broker status` says where the test command finds the admin credentials."""
        text = self.sasl_broker(tmp_path).status().describe()
        assert "security=SASL_PLAINTEXT" in text
        assert f"admin_env={tmp_path / 'admin.env'}" in text
        assert (
            "security=" not in LocalBroker(BrokerSettings(state_dir=tmp_path)).status().describe()
        )

    def test_format_arguments_survive_spaces(self) -> None:
        """The @argfile quotes each argument, so a state dir with spaces still works."""
        assert _argfile_quote("/tmp/my state/server.properties") == (
            '"/tmp/my state/server.properties"'
        )
        assert _argfile_quote('a"b\\c') == '"a\\"b\\\\c"'
