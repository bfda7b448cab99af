from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.errors import PortInUseError
from hub.local_broker import LocalBroker
from hub.settings import BrokerSettings


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
