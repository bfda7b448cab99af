from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HUB = [sys.executable, "-m", "hub"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], capture_output=True, text=True, check=False, env=env)


class TestCommandLine:
    @pytest.mark.parametrize(
        "group",
        [
            "broker",
            "topics",
            "keys",
            "router",
            "connectors",
            "partners",
            "policy",
            "audit",
            "schemas",
            "monitor",
            "security",
            "teams",
        ],
    )
    def test_every_group_has_help(self, group: str) -> None:
        """Each subcommand group answers --help with exit status 0."""
        done = run(group, "--help")
        assert done.returncode == 0
        assert "Usage" in done.stdout

    def test_status_of_stopped_broker_exits_non_zero(self, tmp_path: Path) -> None:
        """`hub broker status` fails when no broker runs."""
        env = {"HUB_BROKER__STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        done = run("broker", "status", env=env)
        assert done.returncode == 1
        assert "stopped" in done.stdout

    def test_invalid_topics_file_is_one_line_naming_the_entry(self, tmp_path: Path) -> None:
        """A bad topics file fails with one line naming the entry and reason."""
        bad = tmp_path / "topics.yaml"
        bad.write_text(
            "profiles: {local: {replication_factor: 1, min_insync_replicas: 1}}\n"
            "topics:\n  - name: route.mash\n    partitions: -1\n"
        )
        done = run("topics", "check", "--file", str(bad))
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "topics[0] (route.mash): partitions" in lines[0]

    def test_bad_setting_is_one_line(self) -> None:
        """A bad HUB_ variable fails with one line naming it."""
        done = run("broker", "status", env={"HUB_BROKER__PORT": "x", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            line for line in done.stderr.strip().splitlines() if "HUB_BROKER__PORT" in line
        ]
