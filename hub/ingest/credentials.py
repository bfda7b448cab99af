"""Partner credentials for the HTTP ingest: issued once, stored hashed, checked in constant time.

A credential is ``hubp_<id>.<secret>``: the id finds the record, the secret (256 random
bits) is compared by SHA-256 digest with :func:`hmac.compare_digest`. Because the
secret is random and long, a fast hash is enough; a password hash would only add
latency to every request. The file holds ids, partners and digests, never a secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import ConfigurationError
from schemas.common import Partner

PREFIX = "hubp_"


@dataclass(frozen=True)
class Credential:
    """A stored credential (no secret in it)."""

    credential_id: str
    partner: Partner
    digest: str
    created_at: str
    revoked: bool = False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class CredentialStore:
    """The credentials file of the ingest app."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cache: dict[str, Credential] | None = None
        self._mtime = 0.0

    def _load(self) -> dict[str, Credential]:
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if self._cache is not None and mtime == self._mtime:
            return self._cache
        try:
            raw = json.loads(self._path.read_text())
            found = {
                c["credential_id"]: Credential(
                    c["credential_id"],
                    Partner(c["partner"]),
                    c["digest"],
                    c["created_at"],
                    bool(c.get("revoked", False)),
                )
                for c in raw["credentials"]
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"credentials file {self._path} is unreadable") from exc
        self._cache, self._mtime = found, mtime
        return found

    def credentials(self) -> list[Credential]:
        """Every credential issued, oldest first."""
        return sorted(self._load().values(), key=lambda c: (c.created_at, c.credential_id))

    def add(self, partner: Partner) -> str:
        """Issue a new credential for ``partner``; return the token (shown only once)."""
        credential_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        current = dict(self._load())
        current[credential_id] = Credential(
            credential_id, partner, _digest(secret), datetime.now(UTC).isoformat()
        )
        self._save(current)
        return f"{PREFIX}{credential_id}.{secret}"

    def revoke(self, credential_id: str) -> bool:
        """Revoke a credential; return whether it existed."""
        current = dict(self._load())
        found = current.get(credential_id)
        if found is None:
            return False
        current[credential_id] = Credential(
            found.credential_id, found.partner, found.digest, found.created_at, revoked=True
        )
        self._save(current)
        return True

    def authenticate(self, token: str) -> Partner | None:
        """The partner a token belongs to, or None (unknown, malformed or revoked)."""
        if not token.startswith(PREFIX) or "." not in token:
            return None
        credential_id, _, secret = token[len(PREFIX) :].partition(".")
        found = self._load().get(credential_id)
        # Compare against a dummy digest when the id is unknown, so the time taken does
        # not reveal whether an id exists.
        expected = found.digest if found is not None else _digest("no-such-credential")
        matches = hmac.compare_digest(_digest(secret), expected)
        if found is None or found.revoked or not matches:
            return None
        return found.partner

    def _save(self, credentials: dict[str, Credential]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {
            "credentials": [
                {
                    "credential_id": c.credential_id,
                    "partner": c.partner.value,
                    "digest": c.digest,
                    "created_at": c.created_at,
                    "revoked": c.revoked,
                }
                for c in credentials.values()
            ]
        }
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        tmp.replace(self._path)
        with contextlib.suppress(OSError):
            self._mtime = self._path.stat().st_mtime
        self._cache = credentials
