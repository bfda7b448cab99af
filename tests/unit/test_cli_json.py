"""``--json`` outputs of the listing commands: their schema's model, no secret; progress off."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli import _progress
from hub.contracts.cli import OUTPUTS, cli_schema_files
from hub.contracts.outputs import PartnersListing, TeamUsersListing
from hub.ingest.credentials import CredentialStore
from hub.settings import PROJECT_ROOT
from schemas.common import Partner
from tests.commands import run_hub


def hub(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")} | {
        "HUB_TEAMS__STATE_DIR": str(tmp_path / "teams"),
        "HUB_CONNECTORS__STATE_DIR": str(tmp_path / "connectors"),
        "HUB_LOGGING__LEVEL": "WARNING",
    }
    return run_hub(*args, env=env, cwd=tmp_path)


class TestPartnersList:
    def test_json_lists_every_credential_without_its_secret(self, tmp_path: Path) -> None:
        """Issued and revoked credentials are listed; neither token nor digest is printed."""
        store = CredentialStore(tmp_path / "connectors" / "credentials.json")
        police = store.add(Partner.POLICE, ["47"])
        health = store.add(Partner.HEALTH, ["RND", "x99zz"])
        store.revoke(health.removeprefix("hubp_").partition(".")[0])
        done = hub(tmp_path, "partners", "list", "--json")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        listing = PartnersListing.model_validate(json.loads(done.stdout))
        rows = {(c.partner, tuple(c.orgs or ()), c.revoked) for c in listing.credentials}
        assert rows == {(Partner.POLICE, ("47",), False), (Partner.HEALTH, ("RND", "X99ZZ"), True)}
        for token in (police, health):
            assert token.partition(".")[2] not in done.stdout
        for credential in store.credentials():
            assert credential.digest not in done.stdout

    def test_table_without_json(self, tmp_path: Path) -> None:
        CredentialStore(tmp_path / "connectors" / "credentials.json").add(
            Partner.HOUSING, ["RB-TS1"]
        )
        done = hub(tmp_path, "partners", "list")
        assert done.returncode == 0, done.stderr
        assert "housing" in done.stdout
        assert "RB-TS1" in done.stdout
        assert "active" in done.stdout


class TestTeamsListUsers:
    def test_json_lists_users_by_area_without_passwords(self, tmp_path: Path) -> None:
        """Each practitioner with area and state; --area filters; no password or hash."""
        passwords = [
            hub(tmp_path, "teams", "add-user", who, area).stdout.strip().splitlines()[-1]
            for who, area in (("alice", "mash"), ("bob", "early-help"))
        ]
        manager = ("add-user", "carol", "mash", "--role", "manager")
        passwords.append(hub(tmp_path, "teams", *manager).stdout.strip().splitlines()[-1])
        assert hub(tmp_path, "teams", "disable-user", "bob").returncode == 0
        done = hub(tmp_path, "teams", "list-users", "--json")
        assert done.returncode == 0, done.stderr
        listing = TeamUsersListing.model_validate(json.loads(done.stdout))
        assert [(u.username, u.area.value, u.role, u.disabled) for u in listing.users] == [
            ("alice", "mash", "practitioner", False),
            ("bob", "early-help", "practitioner", True),
            ("carol", "mash", "manager", False),
        ]
        assert not any(p in done.stdout for p in passwords)
        assert "pbkdf2" not in done.stdout.lower()
        only = hub(tmp_path, "teams", "list-users", "--area", "mash", "--json")
        assert [u.username for u in TeamUsersListing.model_validate_json(only.stdout).users] == [
            "alice",
            "carol",
        ]

    def test_unknown_area_is_named(self, tmp_path: Path) -> None:
        done = hub(tmp_path, "teams", "list-users", "--area", "nowhere")
        assert done.returncode == 1
        assert "unknown area 'nowhere'" in done.stderr


class TestSchemas:
    @pytest.mark.parametrize("name", sorted(OUTPUTS))
    def test_each_output_schema_is_committed(self, name: str) -> None:
        """docs/cli/<command>.schema.json is the model's schema as generated."""
        files = cli_schema_files()
        path = Path("docs") / "cli" / f"{name}.schema.json"
        assert (PROJECT_ROOT / path).read_text() == files[path]

    def test_every_command_with_json_has_a_schema(self) -> None:
        """The six commands with --json each publish a schema."""
        assert set(OUTPUTS) >= {
            "status",
            "partners-list",
            "teams-list-users",
            "dlq-list",
            "policy-simulate",
            "audit-verify",
        }


class TestProgress:
    def test_off_when_stderr_is_not_a_terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A pipe or a log gets no spinner; a terminal does unless asked to be quiet."""
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        assert not _progress.shows_progress()
        with _progress.working("reading"):
            pass
        assert sys.stderr.getvalue() == ""

    def test_off_with_json_even_at_a_terminal(self, monkeypatch: pytest.MonkeyPatch) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        monkeypatch.setattr(sys, "stderr", Terminal())
        assert _progress.shows_progress()
        assert not _progress.shows_progress(quiet=True)
