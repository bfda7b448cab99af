"""Accounts, API clients, sessions and sign-in limits: hashed, constant-time, area-bound."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from hub.teams.accounts import (
    TOKEN_PREFIX,
    AccountError,
    AccountStore,
    ApiClient,
    Practitioner,
    Role,
    hash_password,
    verify_password,
)
from hub.teams.ratelimit import SignInLimiter
from hub.teams.sessions import SessionStore, load_or_create_key
from hub.web import TokenBuckets
from schemas.common import Area
from tests.factories import NOW


@pytest.fixture
def accounts(tmp_path: Path) -> AccountStore:
    return AccountStore(tmp_path / "accounts.sqlite")


def flip(text: str) -> str:
    """``text`` with its first character changed."""
    return ("B" if text[0] == "A" else "A") + text[1:]


class TestPasswords:
    def test_scrypt_with_a_salt_per_hash(self) -> None:
        """The same password hashes differently each time, with its parameters stored."""
        first, second = hash_password("correct horse"), hash_password("correct horse")
        assert first != second
        assert first.startswith("scrypt$32768$8$1$")
        assert verify_password("correct horse", first)
        assert not verify_password("correct hors", first)

    @pytest.mark.parametrize("stored", ["", "md5$x", "scrypt$1$2$3$!!$!!", "scrypt$a$b$c$d$e"])
    def test_malformed_hashes_never_match(self, stored: str) -> None:
        """A damaged record refuses every password instead of failing open."""
        assert not verify_password("anything", stored)


class TestPractitioners:
    def test_generated_password_signs_in_to_one_area(self, accounts: AccountStore) -> None:
        """add_user returns a strong password; only it signs in, and only to that area."""
        password = accounts.add_user("Alice.Smith", Area.MASH)
        assert len(password) >= 24
        assert accounts.authenticate_user("alice.smith", password) == Practitioner(
            "alice.smith", Area.MASH
        )
        assert accounts.authenticate_user(" ALICE.SMITH ", password) is not None
        assert accounts.authenticate_user("alice.smith", password + "x") is None
        assert accounts.authenticate_user("bob", password) is None

    def test_passwords_are_stored_hashed(self, accounts: AccountStore, tmp_path: Path) -> None:
        """The file holds an scrypt hash, never the password."""
        password = accounts.add_user("alice", Area.MASH)
        db = sqlite3.connect(tmp_path / "accounts.sqlite")
        (stored,) = db.execute("SELECT password_hash FROM users").fetchone()
        assert password not in stored
        assert stored.startswith("scrypt$")
        assert oct((tmp_path / "accounts.sqlite").stat().st_mode & 0o777) == "0o600"

    def test_unknown_users_cost_a_hash_too(self, accounts: AccountStore) -> None:
        """An unknown name is checked against a dummy hash, so timing does not reveal it."""
        who, stored = accounts.sign_in_record("nobody")
        assert who is None
        assert stored.startswith("scrypt$")

    def test_disabled_users_cannot_sign_in(self, accounts: AccountStore) -> None:
        """Disabling a user stops sign-in and session checks."""
        password = accounts.add_user("alice", Area.MASH)
        assert accounts.disable_user("alice")
        assert accounts.authenticate_user("alice", password) is None
        assert accounts.user("alice") is None
        assert not accounts.disable_user("nobody")

    def test_names_are_unique_and_checked(self, accounts: AccountStore) -> None:
        """A taken or malformed name is refused with a reason."""
        accounts.add_user("alice", Area.MASH)
        with pytest.raises(AccountError, match="already exists"):
            accounts.add_user("ALICE", Area.EARLY_HELP)
        for bad in ("a", "has space", "<script>", "x" * 65):
            with pytest.raises(AccountError, match="invalid username"):
                accounts.add_user(bad, Area.MASH)


class TestApiClients:
    def test_tokens_belong_to_one_area(self, accounts: AccountStore, tmp_path: Path) -> None:
        """A token authenticates as its client and area; its secret is not stored."""
        token = accounts.add_client(Area.MASH)
        assert token.startswith(TOKEN_PREFIX)
        client = accounts.authenticate_client(token)
        assert isinstance(client, ApiClient)
        assert client.area is Area.MASH
        assert client.name == f"api-client:{client.client_id}"
        secret = token.partition(".")[2]
        dump = (tmp_path / "accounts.sqlite").read_bytes()
        assert secret.encode() not in dump

    @pytest.mark.parametrize(
        "mangle", ["", "hubt_", "nope", "hubt_abc.def", "{token}x", "x{token}"]
    )
    def test_wrong_tokens_are_refused(self, accounts: AccountStore, mangle: str) -> None:
        """Malformed, unknown and altered tokens authenticate nobody."""
        token = accounts.add_client(Area.MASH)
        assert accounts.authenticate_client(mangle.format(token=token)) is None

    def test_revoked_tokens_are_refused(self, accounts: AccountStore) -> None:
        """Revoking takes effect at once."""
        token = accounts.add_client(Area.MASH)
        client = accounts.authenticate_client(token)
        assert client is not None
        assert accounts.revoke_client(client.client_id)
        assert accounts.authenticate_client(token) is None


class TestSessions:
    @pytest.fixture
    def sessions(self, tmp_path: Path) -> SessionStore:
        key = load_or_create_key(tmp_path / "session.key")
        return SessionStore(tmp_path / "accounts.sqlite", key, timedelta(hours=8))

    def test_a_session_lives_for_its_lifetime(self, sessions: SessionStore) -> None:
        """The cookie names the session until it expires."""
        cookie, session = sessions.create("alice", Area.MASH, NOW)
        found = sessions.get(cookie, NOW + timedelta(hours=7))
        assert found == session
        assert found.csrf
        assert sessions.get(cookie, NOW + timedelta(hours=8)) is None

    def test_forged_or_altered_cookies_are_refused(self, sessions: SessionStore) -> None:
        """Changing the id or the signature breaks the cookie."""
        cookie, _ = sessions.create("alice", Area.MASH, NOW)
        sid, _, signature = cookie.partition(".")
        for forged in (f"{sid}.{flip(signature)}", f"{flip(sid)}.{signature}", sid, "", "."):
            assert sessions.get(forged, NOW) is None

    def test_signing_out_ends_the_session(self, sessions: SessionStore) -> None:
        """After delete the same cookie is refused."""
        cookie, _ = sessions.create("alice", Area.MASH, NOW)
        sessions.delete(cookie)
        assert sessions.get(cookie, NOW) is None

    def test_only_a_digest_of_the_id_is_stored(
        self, sessions: SessionStore, tmp_path: Path
    ) -> None:
        """A copy of the file gives no usable session id."""
        cookie, _ = sessions.create("alice", Area.MASH, NOW)
        sid = cookie.partition(".")[0]
        db = sqlite3.connect(tmp_path / "accounts.sqlite")
        stored = [r[0] for r in db.execute("SELECT sid_digest FROM sessions")]
        assert stored
        assert sid not in stored

    def test_the_signing_key_is_created_once_privately(self, tmp_path: Path) -> None:
        """The key file is 0600 and reused."""
        path = tmp_path / "state" / "session.key"
        first = load_or_create_key(path)
        assert load_or_create_key(path) == first
        assert len(first) == 32
        assert oct(path.stat().st_mode & 0o777) == "0o600"


class TestSignInLimits:
    def test_guessing_one_account_from_one_address_is_slowed(self) -> None:
        """Five quick failures on one name from one address, then a wait there only."""
        now = [0.0]
        limiter = SignInLimiter(
            TokenBuckets(5, 1 / 60, clock=lambda: now[0]),
            TokenBuckets(100, 1, clock=lambda: now[0]),
        )
        assert [limiter.attempt("alice", "10.0.0.1") for _ in range(5)] == [0.0] * 5
        assert limiter.attempt("ALICE ", "10.0.0.1") == pytest.approx(60)
        assert limiter.attempt("alice", "10.0.0.2") == 0.0
        assert limiter.attempt("bob", "10.0.0.1") == 0.0
        now[0] = 61.0
        assert limiter.attempt("alice", "10.0.0.1") == 0.0

    def test_spraying_from_one_address_is_slowed(self) -> None:
        """Many names from one address run out the address's bucket."""
        limiter = SignInLimiter(
            TokenBuckets(5, 1, clock=lambda: 0.0), TokenBuckets(3, 1, clock=lambda: 0.0)
        )
        waits = [limiter.attempt(f"user{i}", "10.0.0.1") for i in range(4)]
        assert waits[:3] == [0.0] * 3
        assert waits[3] > 0

    def test_a_success_does_not_count(self) -> None:
        """A right password refills its account's bucket and gives the address its token back."""
        limiter = SignInLimiter(
            TokenBuckets(2, 1e-9, clock=lambda: 0.0), TokenBuckets(2, 1e-9, clock=lambda: 0.0)
        )
        for _ in range(5):
            assert limiter.attempt("alice", "10.0.0.1") == 0.0
            limiter.succeeded("alice", "10.0.0.1")


class TestRoles:
    def test_a_manager_and_a_practitioner(self, tmp_path: Path) -> None:
        """The role is stored and read back, for people and API clients."""
        store = AccountStore(tmp_path / "accounts.sqlite")
        store.add_user("sam.lee", Area.MASH, Role.MANAGER)
        store.add_user("mia.jones", Area.MASH)
        manager, practitioner = store.user("sam.lee"), store.user("mia.jones")
        assert manager is not None
        assert manager.is_manager
        assert practitioner is not None
        assert not practitioner.is_manager
        client = store.authenticate_client(store.add_client(Area.MASH, Role.MANAGER))
        assert client is not None
        assert client.is_manager

    def test_a_file_from_before_roles_gains_the_column(self, tmp_path: Path) -> None:
        """Existing people and clients become practitioners; nothing else changes."""
        path = tmp_path / "accounts.sqlite"
        db = sqlite3.connect(path)
        db.executescript(
            "CREATE TABLE users (username TEXT PRIMARY KEY, area TEXT NOT NULL, "
            "password_hash TEXT NOT NULL, created_at TEXT NOT NULL, "
            "disabled INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE clients (client_id TEXT PRIMARY KEY, area TEXT NOT NULL, "
            "digest TEXT NOT NULL, created_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO users VALUES ('old.hand', 'mash', 'x', '2026-01-01', 0);"
        )
        db.commit()
        db.close()
        who = AccountStore(path).user("old.hand")
        assert who is not None
        assert not who.is_manager
