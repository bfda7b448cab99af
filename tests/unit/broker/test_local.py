from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.broker.local import LocalBroker
from hub.broker.node import _argfile_quote
from hub.errors import BrokerError, PortInUseError
from hub.settings import BrokerSettings, HubSettings, KafkaSettings
from tests.commands import run_hub


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


@pytest.fixture
def fake_node() -> Iterator[subprocess.Popen[bytes]]:
    """A process that passes for a broker JVM (its command line names kafka.Kafka)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "kafka.Kafka"],
        start_new_session=True,
    )
    while b"kafka.Kafka" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
        time.sleep(0.01)  # until the child has exec'd
    yield proc
    proc.kill()
    proc.wait()


def start_nodes(state: Path, nodes: int, **env: str) -> subprocess.CompletedProcess[str]:
    """`hub broker start --nodes <nodes>` with its state under ``state``, as the user runs it."""
    return run_hub(
        "broker",
        "start",
        "--nodes",
        str(nodes),
        env={**os.environ, "HUB_BROKER__STATE_DIR": str(state), **env},
    )


class TestCluster:
    def cluster(self, tmp_path: Path, *, sasl: bool = False) -> LocalBroker:
        return LocalBroker(
            BrokerSettings(
                state_dir=tmp_path, port=39092, controller_port=39093, nodes=3, sasl=sasl
            )
        )

    def test_nodes_get_consecutive_port_pairs(self) -> None:
        """Node i listens on port + 2(i-1) and controller_port + 2(i-1); node 1 as one node."""
        assert BrokerSettings(nodes=3).node_ports() == [(9092, 9093), (9094, 9095), (9096, 9097)]
        assert BrokerSettings().node_ports() == [(9092, 9093)]
        with pytest.raises(ValueError, match="overlap"):
            BrokerSettings(nodes=3, port=9092, controller_port=9094)
        with pytest.raises(ValueError, match="65535"):
            BrokerSettings(nodes=3, port=65532, controller_port=65533)
        with pytest.raises(ValueError, match="nodes must be 1"):
            BrokerSettings(nodes=2)

    def test_node_count_comes_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """HUB_BROKER__NODES=3 selects the cluster, as `--nodes 3` does."""
        monkeypatch.setenv("HUB_BROKER__NODES", "3")
        assert HubSettings().broker.nodes == 3

    def test_every_node_is_rendered_with_its_own_ports_and_the_quorum(self, tmp_path: Path) -> None:
        """Three voters, each node its own id, ports and data, and RF 3 / min ISR 2."""
        broker = self.cluster(tmp_path)
        broker._render_config()
        voters = "controller.quorum.voters=1@127.0.0.1:39093,2@127.0.0.1:39095,3@127.0.0.1:39097"
        for node_id, (port, controller) in enumerate(
            [(39092, 39093), (39094, 39095), (39096, 39097)], start=1
        ):
            text = (tmp_path / f"node-{node_id}" / "server.properties").read_text()
            assert f"node.id={node_id}\n" in text
            assert voters in text
            assert (
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"
            ) in text
            assert f"log.dirs={tmp_path / f'node-{node_id}' / 'data'}\n" in text
            for line in (
                "default.replication.factor=3",
                "min.insync.replicas=2",
                "offsets.topic.replication.factor=3",
                "transaction.state.log.replication.factor=3",
                "transaction.state.log.min.isr=2",
            ):
                assert f"{line}\n" in text
            assert "${" not in text
        assert not (tmp_path / "server.properties").exists()

    def test_one_node_keeps_replication_one(self, tmp_path: Path) -> None:
        """The default single node renders RF 1 and min ISR 1, as before the cluster."""
        LocalBroker(BrokerSettings(state_dir=tmp_path))._render_config()
        text = (tmp_path / "server.properties").read_text()
        assert "controller.quorum.voters=1@127.0.0.1:9093\n" in text
        assert "transaction.state.log.replication.factor=1\n" in text
        assert "transaction.state.log.min.isr=1\n" in text

    def test_sasl_nodes_share_the_admin_and_authenticate_every_listener(
        self, tmp_path: Path
    ) -> None:
        """One admin password on every node; SCRAM between brokers, PLAIN to controllers."""
        broker = self.cluster(tmp_path, sasl=True)
        broker._render_config()
        password = broker.admin_password_file.read_text().strip()
        for node_id in (1, 2, 3):
            config = tmp_path / f"node-{node_id}" / "server.properties"
            text = config.read_text()
            assert "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT," in text
            assert "inter.broker.listener.name=SASL_PLAINTEXT\n" in text
            assert "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256\n" in text
            assert "sasl.mechanism.controller.protocol=PLAIN\n" in text
            assert "super.users=User:admin\n" in text
            assert "ANONYMOUS" not in text
            assert text.count(f'password="{password}"') == 2
            assert stat.S_IMODE(config.stat().st_mode) == 0o600

    def test_admin_env_lists_every_node(self, tmp_path: Path) -> None:
        """Clients bootstrap from all three nodes, so any one of them may be down."""
        broker = self.cluster(tmp_path, sasl=True)
        broker._write_admin_files()
        bootstrap = "127.0.0.1:39092,127.0.0.1:39094,127.0.0.1:39096"
        assert f"HUB_KAFKA__BOOTSTRAP_SERVERS={bootstrap}\n" in broker.admin_env_file.read_text()
        assert broker.admin_kafka_settings().bootstrap_servers == bootstrap

    def test_status_reports_each_node(self, tmp_path: Path) -> None:
        """A stopped cluster is reported with one line per node."""
        status = self.cluster(tmp_path).status()
        assert not status.running
        lines = status.describe().splitlines()
        assert lines[0].startswith("stopped nodes=0/3 bootstrap=127.0.0.1:39092,")
        assert lines[3].strip() == (
            "node 3 stopped address=127.0.0.1:39096 controller=127.0.0.1:39097 "
            f"log={tmp_path / 'node-3' / 'broker.log'}"
        )

    def test_a_running_cluster_is_found_stopped_and_never_mixed(
        self, tmp_path: Path, fake_node: subprocess.Popen[bytes]
    ) -> None:
        """With a cluster node running, one-node status sees it, start refuses, stop ends it."""
        (tmp_path / "node-2").mkdir()
        (tmp_path / "node-2" / "broker.pid").write_text(f"{fake_node.pid}\n")
        single = LocalBroker(BrokerSettings(state_dir=tmp_path, port=39092, controller_port=39093))
        status = single.status()
        assert status.describe().startswith("degraded nodes=1/3")
        assert status.nodes[1].pid == fake_node.pid
        with pytest.raises(BrokerError, match=r"a 3-node cluster runs in .*--nodes 3"):
            single.start()
        with pytest.raises(BrokerError, match="stop it before wiping"):
            self.cluster(tmp_path).start(wipe=True)
        assert single.stop(timeout_s=10) is True
        assert fake_node.wait(10) != 0
        assert not (tmp_path / "node-2" / "broker.pid").exists()
        assert single.stop() is False

    def test_cli_refuses_a_node_count_other_than_one_or_three(self, tmp_path: Path) -> None:
        """`hub broker start --nodes 2` is a usage error: one line, exit 2, nothing started."""
        done = start_nodes(tmp_path, 2)
        assert done.returncode == 2
        assert "1 (one node) or 3 (a cluster)" in done.stderr
        assert "Traceback" not in done.stderr
        assert not list(tmp_path.iterdir())

    def test_cli_names_overlapping_cluster_ports(self, tmp_path: Path) -> None:
        """Ports that would overlap for three nodes fail with one line, nothing started."""
        done = start_nodes(
            tmp_path, 3, HUB_BROKER__PORT="39092", HUB_BROKER__CONTROLLER_PORT="39094"
        )
        assert done.returncode == 1
        assert done.stderr.startswith("hub: --nodes 3: ")
        assert "overlap" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not list(tmp_path.iterdir())
