"""Files and processes: keys others can read are refused; what the hub writes is private.

A key file left group- or world-readable (a copy, an archive restored with the wrong
umask) is a key every account on the host holds: the hub refuses to start on one,
naming the file and the fix. The router's history stores and the information-sharing
export were created with the process umask (0644 on most hosts): routing history and
who was shared what, readable by any account. Every file a hub service or export
creates is now 0600 (folders 0700).
"""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.errors import KeyMaterialError
from hub.security.keys import (
    ROUTER_SIGNING,
    Keyring,
    area_kek,
    init_keyring,
    read_private,
)
from hub.settings import KafkaSettings
from hub.teams.sessions import load_or_create_key
from schemas.common import Area
from tests.e2e.processes import hub_env, start, stop

EXPORT = [sys.executable, "-m", "hub", "audit", "export"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestKeyFiles:
    @pytest.mark.parametrize("loose", [0o640, 0o604, 0o660, 0o644])
    def test_a_secret_key_others_can_read_is_refused(self, tmp_path: Path, loose: int) -> None:
        init_keyring(tmp_path)
        keys = Keyring(tmp_path)
        path = tmp_path / area_kek(Area.MASH) / "k1.key"
        path.chmod(loose)
        with pytest.raises(KeyMaterialError, match=r"chmod 600") as refused:
            keys.secret(area_kek(Area.MASH))
        assert str(path) in str(refused.value)

    def test_a_private_signing_key_others_can_read_is_refused(self, tmp_path: Path) -> None:
        init_keyring(tmp_path)
        path = tmp_path / ROUTER_SIGNING / "k1.private"
        path.chmod(0o644)
        with pytest.raises(KeyMaterialError, match=str(path)):
            Keyring(tmp_path).private_key(ROUTER_SIGNING)

    def test_public_keys_and_private_ones_still_load(self, tmp_path: Path) -> None:
        init_keyring(tmp_path)
        keys = Keyring(tmp_path)
        assert keys.secret(area_kek(Area.MASH)).key_id == "k1"
        assert keys.private_key(ROUTER_SIGNING)[0] == "k1"
        assert mode(tmp_path / ROUTER_SIGNING / "k1.public") & 0o044

    def test_the_session_signing_key_too(self, tmp_path: Path) -> None:
        path = tmp_path / "session.key"
        load_or_create_key(path)
        path.chmod(0o644)
        with pytest.raises(KeyMaterialError, match="chmod 600"):
            load_or_create_key(path)

    def test_a_service_will_not_start_on_one(self, tmp_path: Path) -> None:
        """``hub teams serve`` exits 1 with a one-line reason naming the file."""
        init_keyring(tmp_path / "keys")
        loose = tmp_path / "keys" / area_kek(Area.MASH) / "k1.key"
        loose.chmod(0o644)
        env = hub_env(KafkaSettings(), tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "hub", "teams", "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert f"chmod 600 {loose}" in done.stderr

    def test_read_private_reads_a_private_file(self, tmp_path: Path) -> None:
        path = tmp_path / "k"
        path.write_bytes(b"secret")
        path.chmod(0o600)
        assert read_private(path) == b"secret"


class TestWrittenFiles:
    def test_router_history_stores_are_private(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """The router's per-task SQLite stores (and their folder) are 0600 (0700)."""
        init_keyring(tmp_path / "keys")
        env = hub_env(hub_topics, tmp_path)
        log = tmp_path / "router.log"
        proc = start(["router", "run"], env, log)
        try:
            modes = _store_modes(tmp_path / "router", proc, log)
        finally:
            assert stop(proc) == 0, log.read_text()[-2000:]
        assert modes == {0o600, 0o700}

    def test_the_information_sharing_export_is_private(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        out = tmp_path / "export"
        out.mkdir()
        stale = out / "information-sharing-20260101-20260201.csv"
        stale.write_text("an export of the same window, left readable\n")
        stale.chmod(0o644)
        env = hub_env(hub_topics, tmp_path)
        subprocess.run(
            [*EXPORT, "--from", "2026-01-01", "--to", "2026-02-01", "--out", str(out)],
            env=env,
            capture_output=True,
            check=True,
            timeout=120,
        )
        written = sorted(out.iterdir())
        assert [p.suffix for p in written] == [".csv", ".json"]
        assert {mode(p) for p in written} == {0o600}

    def test_team_stores_are_private(self, tmp_path: Path) -> None:
        from hub.teams.accounts import AccountStore  # noqa: PLC0415
        from hub.teams.store import QueueStore  # noqa: PLC0415

        QueueStore(tmp_path / "teams.sqlite").close()
        AccountStore(tmp_path / "accounts.sqlite").close()
        assert mode(tmp_path / "teams.sqlite") == 0o600
        assert mode(tmp_path / "accounts.sqlite") == 0o600


def _store_modes(root: Path, proc: subprocess.Popen[bytes], log: Path) -> set[int]:
    """The modes of the router's history stores and their folders, once it has made them."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            stores = list(root.rglob("task-*.sqlite"))
            if stores:
                return {mode(p) for p in stores} | {mode(p.parent) for p in stores}
        except FileNotFoundError:  # a store recreated on assignment while listed
            pass
        time.sleep(0.3)
    raise AssertionError(f"no history store: {log.read_text()[-2000:]}")
