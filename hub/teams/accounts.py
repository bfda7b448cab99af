"""Practitioner accounts and API clients of the team app, stored hashed.

Both live in ``TeamSettings.state_dir/accounts.sqlite`` and belong to exactly one area.

- A **practitioner** signs in with a username and a generated password. Passwords
  are hashed with scrypt (a slow, memory-hard hash) and a per-user random salt; the
  parameters are stored with the hash, so they can be raised later without breaking
  existing accounts.
- An **API client** (a case-management system) sends ``hubt_<id>.<secret>`` as a
  bearer token. The secret is 256 random bits, so a fast SHA-256 digest is enough.

Each has a **role** in its area: ``practitioner`` (the default) or ``manager``. A
manager also sees the area's drift, assigns work and authorises the MASH's threshold
decisions (``hub teams add-user NAME AREA --role manager``).

Every comparison is constant-time (:func:`hmac.compare_digest`), and an unknown
username or client id costs the same work as a wrong secret, so timing does not
reveal which accounts exist. Secrets are returned once, when issued, and never stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from hub.errors import AccountError
from hub.teams.database import open_database
from schemas.common import Area

TOKEN_PREFIX = "hubt_"  # noqa: S105 -- a prefix, not a secret
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

# scrypt cost: N=2**15, r=8 uses 32 MiB and about 0.1 s per hash (RFC 7914 section 2).
_SCRYPT_N = 2**15
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_DKLEN = 32


class Role(StrEnum):
    """What a person or client may do in its area."""

    PRACTITIONER = "practitioner"
    MANAGER = "manager"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    area TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    area TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash``, with a fresh 16-byte salt unless one is given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_DKLEN,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(base64.b64decode(expected)),
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))


# Checked against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = hash_password("no-such-user", salt=b"\0" * 16)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class _InRole:
    """Someone working one area's queue in a role (the fields are the dataclass's)."""

    area: Area
    role: Role

    @property
    def is_manager(self) -> bool:
        """A manager of the area (a manager's client may authorise decisions)."""
        return self.role is Role.MANAGER


@dataclass(frozen=True)
class Practitioner(_InRole):
    """A signed-in person: who, and which area's queue they work, in which role."""

    username: str
    area: Area
    role: Role = Role.PRACTITIONER


@dataclass(frozen=True)
class ApiClient(_InRole):
    """A case-management system calling the API for one area."""

    client_id: str
    area: Area
    role: Role = Role.PRACTITIONER

    @property
    def name(self) -> str:
        """How it is recorded as the decider of an outcome."""
        return f"api-client:{self.client_id}"


@dataclass(frozen=True)
class UserAccount:
    """A practitioner account as ``hub teams list-users`` shows it (no password hash)."""

    username: str
    area: Area
    created_at: str
    disabled: bool
    role: Role = Role.PRACTITIONER


class AccountStore:
    """The accounts file: practitioners and API clients."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA)
        for table in ("users", "clients"):
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if "role" not in columns:  # a file from before roles: everyone a practitioner
                self._db.execute(
                    f"ALTER TABLE {table} ADD COLUMN role TEXT NOT NULL DEFAULT 'practitioner'"
                )

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    # ------------------------------------------------------------------ practitioners
    def add_user(self, username: str, area: Area, role: Role = Role.PRACTITIONER) -> str:
        """Create a person of ``area`` in ``role``; return the generated password (shown once)."""
        name = normalise_username(username)
        password = secrets.token_urlsafe(18)
        try:
            self._db.execute(
                "INSERT INTO users (username, area, password_hash, created_at, role) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    name,
                    area.value,
                    hash_password(password),
                    datetime.now(UTC).isoformat(),
                    role.value,
                ),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f"user {name!r} already exists") from None
        return password

    def users(self) -> list[UserAccount]:
        """Every practitioner account, by name."""
        rows = self._db.execute(
            "SELECT username, area, created_at, disabled, role FROM users ORDER BY username"
        ).fetchall()
        return [
            UserAccount(str(r[0]), Area(r[1]), str(r[2]), bool(r[3]), Role(r[4] or "practitioner"))
            for r in rows
        ]

    def disable_user(self, username: str) -> bool:
        """Stop a practitioner from signing in; return whether the user existed."""
        cursor = self._db.execute(
            "UPDATE users SET disabled = 1 WHERE username = ?", (normalise_username(username),)
        )
        return cursor.rowcount == 1

    def sign_in_record(self, username: str) -> tuple[Practitioner | None, str]:
        """The enabled practitioner of ``username`` (or None) and the hash to check against.

        An unknown or disabled user comes with a dummy hash, so checking it costs the
        same as checking a real one.
        """
        name = username.strip().lower()
        row = self._db.execute(
            "SELECT area, password_hash, disabled, role FROM users WHERE username = ?", (name,)
        ).fetchone()
        if row is None or row[2]:
            return None, _DUMMY_HASH
        return Practitioner(name, Area(row[0]), Role(row[3])), str(row[1])

    def authenticate_user(self, username: str, password: str) -> Practitioner | None:
        """The practitioner these credentials belong to, or None. Slow on purpose."""
        who, stored = self.sign_in_record(username)
        matches = verify_password(password, stored)
        return who if who is not None and matches else None

    def user(self, username: str) -> Practitioner | None:
        """An enabled practitioner by name (sessions re-check this on every request)."""
        row = self._db.execute(
            "SELECT area, role FROM users WHERE username = ? AND disabled = 0", (username,)
        ).fetchone()
        return None if row is None else Practitioner(username, Area(row[0]), Role(row[1]))

    # ------------------------------------------------------------------ API clients
    def add_client(self, area: Area, role: Role = Role.PRACTITIONER) -> str:
        """Issue an API token for ``area`` in ``role``; return it (shown once)."""
        client_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self._db.execute(
            "INSERT INTO clients (client_id, area, digest, created_at, role) "
            "VALUES (?, ?, ?, ?, ?)",
            (client_id, area.value, _digest(secret), datetime.now(UTC).isoformat(), role.value),
        )
        return f"{TOKEN_PREFIX}{client_id}.{secret}"

    def revoke_client(self, client_id: str) -> bool:
        """Revoke an API token; return whether it existed."""
        cursor = self._db.execute(
            "UPDATE clients SET revoked = 1 WHERE client_id = ?", (client_id,)
        )
        return cursor.rowcount == 1

    def authenticate_client(self, token: str) -> ApiClient | None:
        """The area an API token belongs to, or None (unknown, malformed or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or "." not in token:
            return None
        client_id, _, secret = token[len(TOKEN_PREFIX) :].partition(".")
        row = self._db.execute(
            "SELECT area, digest, revoked, role FROM clients WHERE client_id = ?", (client_id,)
        ).fetchone()
        expected = row[1] if row is not None else _digest("no-such-client")
        matches = hmac.compare_digest(_digest(secret), expected)
        if row is None or row[2] or not matches:
            return None
        return ApiClient(client_id, Area(row[0]), Role(row[3]))


def normalise_username(username: str) -> str:
    """Lower-case and check a username (letters, digits, ``.``, ``_``, ``-``; 2 to 64)."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(
            f"invalid username {username!r}: use 2 to 64 letters, digits, '.', '_' or '-'"
        )
    return name
