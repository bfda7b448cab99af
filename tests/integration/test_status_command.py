"""`hub status` on the real broker: JSON to its schema, Nagios codes, honest exits."""

from __future__ import annotations

import asyncio
import json
import subprocess

from hub.monitor.snapshot import MonitorSnapshot
from hub.settings import KafkaSettings
from tests.integration.routerkit import hub_cli


def _hub_status(kafka: KafkaSettings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``hub status <args>`` against this test's topics."""
    return hub_cli(kafka, "status", *args, **env)


class TestStatusCommand:
    async def test_json_is_a_snapshot_and_the_exit_is_zero(self, hub_topics: KafkaSettings) -> None:
        """--json prints one snapshot document; reading it succeeded, so the exit is 0."""
        done = await asyncio.to_thread(_hub_status, hub_topics, "--json")
        assert done.returncode == 0, done.stderr
        snapshot = MonitorSnapshot.model_validate(json.loads(done.stdout))
        assert {g.name for g in snapshot.groups} >= {"router", "team-mash"}

    async def test_check_is_ok_on_an_idle_hub(self, hub_topics: KafkaSettings) -> None:
        done = await asyncio.to_thread(_hub_status, hub_topics, "--check")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("HUB OK - ")

    async def test_check_is_unknown_when_kafka_cannot_be_read(
        self, hub_topics: KafkaSettings
    ) -> None:
        """No broker at the address: UNKNOWN, exit 3, one line, no traceback."""
        done = await asyncio.to_thread(
            _hub_status,
            hub_topics,
            "--check",
            HUB_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:1",
            HUB_KAFKA__REQUEST_TIMEOUT_MS="2000",
        )
        assert done.returncode == 3
        assert done.stdout.startswith("HUB UNKNOWN - ")
        assert len(done.stdout.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr
