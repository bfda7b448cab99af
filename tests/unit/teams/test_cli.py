"""``hub teams add-user|add-client``: secrets printed once, alone on the last line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub.teams.accounts import AccountStore
from schemas.common import Area
from tests.unit.teams.teamkit import teams_command


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")} | {
        "HUB_TEAMS__STATE_DIR": str(tmp_path / "teams"),
        "HUB_LOGGING__LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, *teams_command(), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )


class TestAccountsCommands:
    def test_add_user_prints_the_password_last(self, tmp_path: Path) -> None:
        """The generated password is alone on the last line and signs in to that area."""
        done = run(tmp_path, "add-user", "Alice", "mash")
        assert done.returncode == 0, done.stderr
        password = done.stdout.strip().splitlines()[-1]
        assert " " not in password
        assert len(password) >= 24
        store = AccountStore(tmp_path / "teams" / "accounts.sqlite")
        assert store.authenticate_user("alice", password) is not None
        assert password not in (tmp_path / "teams" / "accounts.sqlite").read_text(errors="ignore")

    def test_add_user_twice_fails_in_one_line(self, tmp_path: Path) -> None:
        """A taken username exits 1 with a one-line reason."""
        assert run(tmp_path, "add-user", "alice", "mash").returncode == 0
        done = run(tmp_path, "add-user", "alice", "early-help")
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == ["hub: user 'alice' already exists"]

    def test_unknown_area_fails(self, tmp_path: Path) -> None:
        """An unknown area is named, with the list of areas."""
        done = run(tmp_path, "add-client", "nowhere")
        assert done.returncode == 1
        assert "unknown area 'nowhere'" in done.stderr
        assert "early-help" in done.stderr

    def test_add_client_prints_the_token_last(self, tmp_path: Path) -> None:
        """The API token is alone on the last line and authenticates for its area."""
        done = run(tmp_path, "add-client", "early-help")
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip().splitlines()[-1]
        client = AccountStore(tmp_path / "teams" / "accounts.sqlite").authenticate_client(token)
        assert client is not None
        assert client.area is Area.EARLY_HELP

    def test_disable_and_revoke(self, tmp_path: Path) -> None:
        """Disabled users and revoked tokens stop working; unknown ones fail in one line."""
        password = run(tmp_path, "add-user", "alice", "mash").stdout.strip().splitlines()[-1]
        token = run(tmp_path, "add-client", "mash").stdout.strip().splitlines()[-1]
        client_id = token.removeprefix("hubt_").partition(".")[0]
        assert run(tmp_path, "disable-user", "alice").returncode == 0
        assert run(tmp_path, "revoke-client", client_id).returncode == 0
        store = AccountStore(tmp_path / "teams" / "accounts.sqlite")
        assert store.authenticate_user("alice", password) is None
        assert store.authenticate_client(token) is None
        missing = run(tmp_path, "disable-user", "nobody")
        assert missing.returncode == 1
        assert missing.stderr.strip() == "hub: no user 'nobody'"

    def test_serve_has_help(self, tmp_path: Path) -> None:
        """``serve --help`` documents the port."""
        done = run(tmp_path, "serve", "--help")
        assert done.returncode == 0
        assert "--port" in done.stdout
