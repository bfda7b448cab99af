from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from hub.cli import app
from hub.cli._async import YOUNG_COLLECTION_EVERY, settle_collector
from hub.cli._common import run_guarded

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


def _leaf_commands() -> list[list[str]]:
    """Every runnable command's words, e.g. ``["policy", "simulate"]``."""
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command: object, words: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, [*words, name])
        else:
            found.append(words)

    walk(root, [])
    return found


LEAVES = _leaf_commands()


class TestUsageErrors:
    """A usage error is one line on stderr and exit status 2, never a traceback."""

    @pytest.mark.parametrize("words", LEAVES, ids=[" ".join(w) for w in LEAVES])
    def test_unknown_option(self, words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """Every command refuses an unknown option in one line naming it."""
        code = run_guarded(app, [*words, "--no-such-option"])
        err = capsys.readouterr().err
        assert code == 2
        assert err.strip().splitlines() == [err.strip()]
        assert "--no-such-option" in err
        assert "Traceback" not in err

    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["nosuch"], "No such command 'nosuch'"),
            (["policy", "simulate"], "Missing option '--policy'"),
            (["teams", "add-user"], "Missing argument"),
            (["partners", "add", "police"], "Missing option '--org'"),
            (["policy", "nosuch"], "No such command 'nosuch'"),
        ],
    )
    def test_named_mistakes(
        self, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = run_guarded(app, args)
        err = capsys.readouterr().err
        assert code == 2
        assert says in err
        assert len(err.strip().splitlines()) == 1

    def test_through_the_console_script(self) -> None:
        """The real process exits 2 without a traceback."""
        done = run("nosuch")
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert done.stderr.strip() == "hub: No such command 'nosuch'. (see 'hub --help')"


class TestFailuresCloseTheirClients:
    def test_a_simulation_without_kafka_fails_in_one_line(self) -> None:
        """No broker: one line naming the problem, exit 1, and no unclosed Kafka client."""
        policy = Path(__file__).resolve().parents[2] / "hub" / "policy" / "default.yaml"
        env = {
            "PATH": "/usr/bin:/bin",
            "HUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "HUB_KAFKA__REQUEST_TIMEOUT_MS": "1000",
        }
        done = run(
            "policy",
            "simulate",
            "--policy",
            str(policy),
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
            env=env,
        )
        assert done.returncode == 1
        assert done.stderr.startswith("hub: ")
        assert "Unclosed" not in done.stderr
        assert "Traceback" not in done.stderr


class TestPartnerCredentials:
    def test_add_binds_organisations_and_list_shows_them(self, tmp_path: Path) -> None:
        """The token is the last line; list shows the orgs, never a secret."""
        env = {"PATH": "/usr/bin:/bin", "HUB_CONNECTORS__STATE_DIR": str(tmp_path)}
        added = run("partners", "add", "police", "--org", "47", "--org", "45", env=env)
        assert added.returncode == 0, added.stderr
        token = added.stdout.strip().splitlines()[-1]
        assert token.startswith("hubp_")
        listed = run("partners", "list", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        (row,) = json.loads(listed.stdout)["credentials"]
        assert (row["partner"], row["orgs"]) == ("police", ["47", "45"])
        assert token.split(".", 1)[1] not in listed.stdout

    def test_a_malformed_org_is_one_line(self, tmp_path: Path) -> None:
        env = {"PATH": "/usr/bin:/bin", "HUB_CONNECTORS__STATE_DIR": str(tmp_path)}
        done = run("partners", "add", "police", "--org", "4 7", env=env)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [done.stderr.strip()]
        assert "--org" in done.stderr


class TestCollector:
    def test_a_long_running_process_freezes_its_start_up_and_collects_young_less_often(
        self,
    ) -> None:
        """What start-up built is frozen; only the young generation's threshold is raised."""
        before = gc.get_threshold()
        try:
            settle_collector()
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, before[1], before[2])
            assert gc.isenabled()
        finally:
            gc.unfreeze()
            gc.set_threshold(*before)
