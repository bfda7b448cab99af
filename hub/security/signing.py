"""Ed25519 signatures on statements that someone outside the hub verifies.

Between hub components records carry keyed MACs (:mod:`hub.security.mac`): both ends
of a link are the hub's own processes, so a signature would prove nothing more and
cost 30 times as much. A signature is used where the verifier must not be able to
forge: the router's audit checkpoints (:mod:`hub.audit.checkpoint`), which an auditor
checks with the public key alone (``signing-router/*.public``).

The signed bytes are a context string followed by the record value, so a signature
made for one purpose does not verify for another. The key id travels in
``hub-key-id`` and the 64 raw signature bytes in ``hub-signature``; old key ids verify
for as long as their public key is kept. ``InvalidSignature`` never leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import SignatureError
from hub.security.mac import KEY_ID_HEADER

SIGNATURE_HEADER = "hub-signature"

Headers = Sequence[tuple[str, bytes]]


class Signer:
    """Signs values for one purpose (``context``) with one private key."""

    def __init__(self, context: bytes, key_id: str, key: Ed25519PrivateKey) -> None:
        self._context = context
        self._key_id = key_id
        self._key = key

    def __repr__(self) -> str:
        return f"Signer(context={self._context!r}, key_id={self._key_id!r})"

    @property
    def key_id(self) -> str:
        """The id of the signing key (it goes into the statement too)."""
        return self._key_id

    def headers(self, value: bytes) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
        """The ``hub-key-id`` and ``hub-signature`` headers of one value."""
        signature = self._key.sign(self._context + value)
        return (KEY_ID_HEADER, self._key_id.encode()), (SIGNATURE_HEADER, signature)


class SignatureVerifier:
    """Verifies values signed for ``context`` against public keys by key id."""

    def __init__(self, context: bytes, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self._context = context
        self._keys = keys

    def verify(self, value: bytes, headers: Headers) -> str:
        """Check the signature; return its key id, or raise :class:`SignatureError`."""
        found = dict(headers)
        key_id_raw, signature = found.get(KEY_ID_HEADER), found.get(SIGNATURE_HEADER)
        if key_id_raw is None or signature is None:
            raise SignatureError("the record is not signed (hub-key-id/hub-signature missing)")
        key_id = key_id_raw.decode("ascii", errors="replace")
        key = self._keys.get(key_id)
        if key is None:
            raise SignatureError(f"unknown signing key id {key_id!r}")
        try:
            key.verify(bytes(signature), self._context + value)
        except InvalidSignature as exc:
            raise SignatureError(f"the signature of key {key_id!r} does not verify") from exc
        return key_id
