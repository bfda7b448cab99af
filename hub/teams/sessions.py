"""Signed-in sessions: a signed cookie naming a server-side session, with its CSRF token.

The cookie holds ``<session id>.<HMAC-SHA256 signature>``. The id is 256 random bits;
the server keeps only its SHA-256 digest, so a copy of the file yields no usable
session. The signature (key in ``state_dir/session.key``, created on first use, mode
0600) lets a forged or altered cookie be refused before any lookup. Each session has
its own CSRF token, which every form posts back; signing out deletes the session at
once, and a disabled account's sessions stop working on the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.security.keys import read_private
from hub.teams.database import open_database
from schemas.common import Area

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    sid_digest TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    area TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Session:
    """A live session."""

    username: str
    area: Area
    csrf: str
    expires_at: datetime


def load_or_create_key(path: Path) -> bytes:
    """The cookie-signing key, created (256 random bits, mode 0600) when missing."""
    try:
        return base64.b64decode(read_private(path), validate=True)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return base64.b64decode(read_private(path), validate=True)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key))
    return key


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """Sessions in the accounts file, behind signed cookies."""

    def __init__(self, path: Path, key: bytes, lifetime: timedelta) -> None:
        self._db = open_database(path, _SCHEMA)
        self._key = key
        self.lifetime = lifetime

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def _sign(self, sid: str) -> str:
        mac = hmac.new(self._key, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def create(self, username: str, area: Area, now: datetime) -> tuple[str, Session]:
        """Start a session; return the cookie value and the session."""
        sid = secrets.token_urlsafe(32)
        session = Session(username, area, secrets.token_urlsafe(32), now + self.lifetime)
        self._db.execute(
            "DELETE FROM sessions WHERE expires_at < ?", (now.astimezone(UTC).isoformat(),)
        )
        self._db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
            (
                _digest(sid),
                username,
                area.value,
                session.csrf,
                session.expires_at.astimezone(UTC).isoformat(),
            ),
        )
        return f"{sid}.{self._sign(sid)}", session

    def get(self, cookie: str, now: datetime) -> Session | None:
        """The live session a cookie names, or None (forged, unknown, expired)."""
        sid, _, signature = cookie.partition(".")
        if not sid or not hmac.compare_digest(signature.encode(), self._sign(sid).encode()):
            return None
        row = self._db.execute(
            "SELECT username, area, csrf, expires_at FROM sessions WHERE sid_digest = ?",
            (_digest(sid),),
        ).fetchone()
        if row is None:
            return None
        expires_at = datetime.fromisoformat(row[3])
        if expires_at <= now:
            return None
        return Session(row[0], Area(row[1]), row[2], expires_at)

    def delete(self, cookie: str) -> None:
        """End the session a cookie names (signing out)."""
        sid = cookie.partition(".")[0]
        self._db.execute("DELETE FROM sessions WHERE sid_digest = ?", (_digest(sid),))
