"""Partner signatures on inbound records (DESIGN.md section 10).

A connector signs the record's value bytes with its partner's Ed25519 key; the
signature and the key id travel in the ``hub-signature`` and ``hub-key-id`` headers.
The signed bytes are prefixed with a context string and the partner name, so a
signature cannot be replayed onto another partner's topic. The router verifies with
the registry of partner public keys; any old key id still in the registry verifies
during a rotation overlap. ``InvalidSignature`` never leaves this module.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import SignatureError

KEY_ID_HEADER = "hub-key-id"
SIGNATURE_HEADER = "hub-signature"
_CONTEXT = b"safeguarding-hub/inbound/v1\x00"

Headers = Sequence[tuple[str, bytes]]


def _signed_bytes(partner: str, value: bytes) -> bytes:
    return _CONTEXT + partner.encode() + b"\x00" + value


class Signer:
    """Signs a partner's records with its current key."""

    def __init__(self, partner: str, key_id: str, key: Ed25519PrivateKey) -> None:
        self._partner = partner
        self._key_id = key_id
        self._key = key

    def __repr__(self) -> str:
        return f"Signer(partner={self._partner!r}, key_id={self._key_id!r})"

    def headers(self, value: bytes) -> list[tuple[str, bytes]]:
        """The signature headers for one record value."""
        signature = self._key.sign(_signed_bytes(self._partner, value))
        return [
            (KEY_ID_HEADER, self._key_id.encode()),
            (SIGNATURE_HEADER, base64.b64encode(signature)),
        ]


Registry = Mapping[str, Mapping[str, Ed25519PublicKey]]


class Verifier:
    """Verifies records against the registry of partner public keys.

    When a record names a key id the registry does not hold, the registry is reloaded
    (at most once per ``reload_every_s``) before the record is refused: a new key
    published by an operator is picked up without a restart, so partners can rotate
    keys with no downtime while the old id stays valid until it is removed.
    """

    def __init__(
        self,
        registry: Registry,
        reload: Callable[[], Registry] | None = None,
        *,
        reload_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._reload = reload
        self._reload_every_s = reload_every_s
        self._clock = clock
        self._last_reload = float("-inf")

    def _key(self, partner: str, key_id: str) -> Ed25519PublicKey | None:
        key = self._registry.get(partner, {}).get(key_id)
        if key is None and self._reload is not None:
            now = self._clock()
            if now - self._last_reload >= self._reload_every_s:
                self._last_reload = now
                self._registry = self._reload()
                key = self._registry.get(partner, {}).get(key_id)
        return key

    def verify(self, partner: str, value: bytes, headers: Headers) -> str:
        """Check the record's signature; return the key id, or raise SignatureError."""
        found = dict(headers)
        key_id_raw, signature_raw = found.get(KEY_ID_HEADER), found.get(SIGNATURE_HEADER)
        if key_id_raw is None or signature_raw is None:
            raise SignatureError("the record is not signed (hub-key-id/hub-signature missing)")
        key_id = key_id_raw.decode("ascii", errors="replace")
        key = self._key(partner, key_id)
        if key is None:
            raise SignatureError(f"unknown signing key id {key_id!r} for partner {partner}")
        try:
            signature = base64.b64decode(signature_raw, validate=True)
            key.verify(signature, _signed_bytes(partner, value))
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise SignatureError(f"the signature of key {key_id!r} does not verify") from exc
        return key_id
