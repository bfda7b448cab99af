"""Credentials of the partners without a system (education, probation): they only answer checks.

Same shape and checks as :mod:`hub.ingest.credentials` (``hubp_<id>.<secret>``, a
SHA-256 digest stored, compared in constant time), in a file of their own so that the
connectors' credentials file keeps naming connector partners only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import ConfigurationError
from hub.ingest.credentials import PREFIX, org_codes
from schemas.checks import CheckPartner


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_credentials_file(credentials_file: Path) -> Path:
    """Where the answer-only partners' credentials live, next to the connectors' file."""
    return credentials_file.with_name("check-credentials.json")


class CheckCredentialStore:
    """Credentials of answer-only partners."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _load(self) -> list[dict[str, object]]:
        try:
            raw = json.loads(self._path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"credentials file {self._path} is unreadable") from exc
        found = raw.get("credentials") if isinstance(raw, dict) else None
        if not isinstance(found, list):
            raise ConfigurationError(f"credentials file {self._path} is unreadable")
        return found

    def add(self, partner: CheckPartner, orgs: Iterable[str] = ()) -> str:
        """Issue a credential bound to ``orgs`` (none: every check of the partner).

        Returns the token (shown only once); ValueError names a malformed org code.
        """
        bound = org_codes(orgs) if orgs else ()
        credential_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        current = self._load()
        current.append(
            {
                "credential_id": credential_id,
                "partner": partner.value,
                "digest": _digest(secret),
                "created_at": datetime.now(UTC).isoformat(),
                "revoked": False,
                "orgs": list(bound),
            }
        )
        self._save(current)
        return f"{PREFIX}{credential_id}.{secret}"

    def revoke(self, credential_id: str) -> bool:
        """Revoke a credential; return whether it existed."""
        current = self._load()
        found = [c for c in current if c.get("credential_id") == credential_id]
        for c in found:
            c["revoked"] = True
        self._save(current)
        return bool(found)

    def authenticate(self, token: str) -> CheckPartner | None:
        """The partner a token belongs to, or None."""
        found = self.identify(token)
        return found[0] if found is not None else None

    def identify(self, token: str) -> tuple[CheckPartner, tuple[str, ...]] | None:
        """The partner a token belongs to and the org codes it is bound to, or None."""
        if not token.startswith(PREFIX) or "." not in token:
            return None
        credential_id, _, secret = token[len(PREFIX) :].partition(".")
        found = next((c for c in self._load() if c.get("credential_id") == credential_id), None)
        expected = str(found["digest"]) if found is not None else _digest("no-such-credential")
        matches = hmac.compare_digest(_digest(secret), expected)
        if found is None or found.get("revoked") or not matches:
            return None
        orgs = found.get("orgs")
        bound = tuple(str(o) for o in orgs) if isinstance(orgs, list) else ()
        try:
            return CheckPartner(str(found["partner"])), bound
        except ValueError:
            return None

    def _save(self, credentials: list[dict[str, object]]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"credentials": credentials}, handle, indent=1)
        tmp.replace(self._path)
        with contextlib.suppress(OSError):
            self._path.chmod(0o600)
