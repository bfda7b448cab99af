"""Partner credentials for the HTTP ingest: issued once, stored hashed, checked in constant time.

A credential is ``hubp_<id>.<secret>``: the id finds the record, the secret (256 random
bits) is compared by SHA-256 digest with :func:`hmac.compare_digest`. Because the
secret is random and long, a fast hash is enough; a password hash would only add
latency to every request. The file holds ids, partners, organisation codes and
digests, never a secret.

A credential is bound to the organisation codes (police force code, ODS code,
authority code) it may send as (DESIGN.md section 14): the ingest refuses a message
from any other organisation with ``403`` and shows a partner only its own
organisations' messages. A credential issued before organisations were bound has no
``orgs`` in the file; it still authenticates (:attr:`Credential.bound` is false) so
that the ingest can tell its holder how to reissue it, and is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import ConfigurationError
from schemas.common import Partner

PREFIX = "hubp_"
ORG_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
"""An organisation code, as the partner formats accept it."""


def normalise_org(code: str) -> str:
    """An organisation code as credentials store and compare it (trimmed, upper case)."""
    return code.strip().upper()


def org_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Validated, normalised, de-duplicated organisation codes; ValueError names a bad one."""
    found: dict[str, None] = {}
    for code in codes:
        if not ORG_CODE.fullmatch(code.strip()):
            msg = f"organisation code {code!r} is not 2-32 letters, digits, '-' or '_'"
            raise ValueError(msg)
        found[normalise_org(code)] = None
    if not found:
        msg = "a credential needs at least one organisation code"
        raise ValueError(msg)
    return tuple(found)


@dataclass(frozen=True)
class Credential:
    """A stored credential (no secret in it)."""

    credential_id: str
    partner: Partner
    digest: str
    created_at: str
    revoked: bool = False
    orgs: tuple[str, ...] | None = None
    """The organisation codes it may send as; None: issued before orgs were bound."""

    @property
    def bound(self) -> bool:
        """Bound to organisations (a credential issued before that is refused)."""
        return bool(self.orgs)

    def may_act_for(self, org_code: str) -> bool:
        """Whether this credential may send as, and read the messages of, ``org_code``."""
        return self.orgs is not None and normalise_org(org_code) in self.orgs


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
                    tuple(str(o) for o in c["orgs"]) if "orgs" in c else None,
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

    def add(self, partner: Partner, orgs: Iterable[str]) -> str:
        """Issue a credential for ``partner`` bound to ``orgs``; return the token (shown once).

        Raises ValueError when an organisation code is malformed or none is given.
        """
        bound = org_codes(orgs)
        credential_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        current = dict(self._load())
        current[credential_id] = Credential(
            credential_id, partner, _digest(secret), datetime.now(UTC).isoformat(), orgs=bound
        )
        self._save(current)
        return f"{PREFIX}{credential_id}.{secret}"

    def revoke(self, credential_id: str) -> bool:
        """Revoke a credential; return whether it existed."""
        current = dict(self._load())
        found = current.get(credential_id)
        if found is None:
            return False
        current[credential_id] = dataclasses.replace(found, revoked=True)
        self._save(current)
        return True

    def authenticate(self, token: str) -> Credential | None:
        """The credential a token is, or None (unknown, malformed or revoked).

        A credential issued before organisations were bound is returned too (its
        :attr:`~Credential.bound` is false): the caller refuses it, saying how to reissue.
        """
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
        return found

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
                    **({"orgs": list(c.orgs)} if c.orgs is not None else {}),
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
