"""Partner staff accounts and their sessions (SQLite): passwords scrypt-hashed, sessions by digest.

Passwords are hashed and checked as the team app's (:mod:`hub.teams.accounts`); a
session id is 256 random bits, stored only as its SHA-256 digest, with its own CSRF
token and an expiry. A disabled account's sessions stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from hub.errors import AccountError
from hub.teams.accounts import hash_password, normalise_username
from schemas.checks import CheckPartner

_SCHEMA = """
CREATE TABLE IF NOT EXISTS partner_users (
    username TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS partner_sessions (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    partner TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""
_DUMMY = hash_password("no-such-partner-user", salt=b"\1" * 16)


@dataclass(frozen=True)
class PartnerSession:
    """A signed-in member of a partner's staff."""

    username: str
    partner: CheckPartner
    csrf: str


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class PartnerAccounts:
    """Partner staff and their sessions."""

    def __init__(self, path: Path, lifetime: timedelta = timedelta(hours=8)) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.lifetime = lifetime

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def add_user(self, partner: CheckPartner, username: str) -> str:
        """Create an account; return its password (shown once)."""
        name = normalise_username(username)
        password = secrets.token_urlsafe(18)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO partner_users VALUES (?, ?, ?, 1)",
                    (name, partner.value, hash_password(password)),
                )
            except sqlite3.IntegrityError:
                raise AccountError(f"the username {name!r} is taken") from None
        return password

    def sign_in_record(self, username: str, partner: CheckPartner) -> tuple[str | None, str]:
        """The enabled user of ``partner`` and the hash to check (a dummy hash when none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT username, password_hash FROM partner_users"
                " WHERE username = ? AND partner = ? AND enabled = 1",
                (username.strip().lower(), partner.value),
            ).fetchone()
        if row is None:
            return None, _DUMMY
        return str(row[0]), str(row[1])

    def create_session(self, username: str, partner: CheckPartner, now: datetime) -> str:
        """A new session's cookie value."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO partner_sessions VALUES (?, ?, ?, ?, ?)",
                (
                    _digest(sid),
                    username,
                    partner.value,
                    secrets.token_urlsafe(32),
                    (now + self.lifetime).isoformat(),
                ),
            )
        return sid

    def session(self, cookie: str, now: datetime) -> PartnerSession | None:
        """The live session of a cookie (its account still enabled), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT s.username, s.partner, s.csrf, s.expires_at FROM partner_sessions s"
                " JOIN partner_users u ON u.username = s.username AND u.enabled = 1"
                " WHERE s.digest = ?",
                (_digest(cookie),),
            ).fetchone()
        if row is None or datetime.fromisoformat(str(row[3])) <= now:
            return None
        return PartnerSession(str(row[0]), CheckPartner(str(row[1])), str(row[2]))

    def end_session(self, cookie: str) -> None:
        """Sign out."""
        with self._lock:
            self._db.execute("DELETE FROM partner_sessions WHERE digest = ?", (_digest(cookie),))
