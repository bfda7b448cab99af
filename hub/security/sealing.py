"""Envelope encryption of sensitive content (DESIGN.md section 10).

Content is encrypted once under a fresh AES-256-GCM data key with the message id as
associated data. The data key is wrapped, also with AES-256-GCM, under each
recipient's key-encryption key (KEK), binding the message id and the recipient
(``router`` or ``area:<area>``) as associated data, so a wrapped key copied to another
message or another area does not open. The router unwraps with its inbound KEK and
re-wraps for each destination area; only the wrapped keys change, not the ciphertext.

``cryptography``'s ``InvalidTag`` never leaves this module: it becomes
:class:`~hub.errors.DecryptionError`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import DecryptionError
from hub.security.keys import SecretKey
from schemas.wire import Sealed, WrappedKey

_NONCE = 12
_ALG = Sealed.model_fields["alg"].default
ROUTER = "router"


def area_recipient(area: str) -> str:
    """The recipient name of an area's wrapped key."""
    return f"area:{area}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text)
    except ValueError as exc:
        raise DecryptionError("sealed field is not base64url") from exc


@lru_cache(maxsize=256)
def _aead(kek: SecretKey) -> AESGCM:
    """One AES-GCM object per key-encryption key (building one costs as much as a wrap)."""
    return AESGCM(kek.material)


def _key_aad(message_id: UUID, recipient: str) -> bytes:
    return message_id.bytes + b"|" + recipient.encode()


@dataclass(frozen=True)
class Recipient:
    """Who a data key is wrapped for, with their current KEK."""

    name: str
    kek: SecretKey


@lru_cache(maxsize=256)
def _checked(name: str, key_id: str) -> tuple[str, str]:
    """A recipient's name and key id, validated once against ``WrappedKey``'s patterns.

    The hot path then builds wrapped keys without validating them again (the other
    field, ``wrapped``, is base64url this module writes itself).
    """
    WrappedKey(recipient=name, key_id=key_id, wrapped="")
    return name, key_id


def _wrapped(dek: bytes, message_id: UUID, recipient: Recipient) -> tuple[str, str, str]:
    """The recipient, key id and base64url wrapped key of ``dek`` for ``recipient``."""
    name, key_id = _checked(recipient.name, recipient.kek.key_id)
    nonce = os.urandom(_NONCE)
    body = _aead(recipient.kek).encrypt(nonce, dek, _key_aad(message_id, name))
    return name, key_id, _b64(nonce + body)


def wrap(dek: bytes, message_id: UUID, recipient: Recipient) -> WrappedKey:
    """Encrypt a data key for one recipient."""
    name, key_id, wrapped = _wrapped(dek, message_id, recipient)
    return WrappedKey.trusted({"recipient": name, "key_id": key_id, "wrapped": wrapped})


def seal(plaintext: bytes, message_id: UUID, recipients: Iterable[Recipient]) -> Sealed:
    """Encrypt ``plaintext`` under a fresh data key wrapped for each recipient."""
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE)
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext, message_id.bytes)
    keys = tuple(wrap(dek, message_id, r) for r in recipients)
    if not keys:  # the model refuses it, as it always did
        return Sealed(nonce=_b64(nonce), ciphertext=_b64(ciphertext), keys=keys)
    return Sealed.trusted({"nonce": _b64(nonce), "ciphertext": _b64(ciphertext), "keys": keys})


def unwrap(
    sealed: Sealed, message_id: UUID, recipient: str, keks: Mapping[str, SecretKey]
) -> bytes:
    """Recover the data key wrapped for ``recipient`` with one of its KEKs (by key id)."""
    entry = next((k for k in sealed.keys if k.recipient == recipient), None)
    if entry is None:
        raise DecryptionError(f"no data key is wrapped for {recipient}")
    kek = keks.get(entry.key_id)
    if kek is None:
        raise DecryptionError(f"unknown key id {entry.key_id!r} for {recipient}")
    raw = _unb64(entry.wrapped)
    try:
        return _aead(kek).decrypt(raw[:_NONCE], raw[_NONCE:], _key_aad(message_id, recipient))
    except InvalidTag as exc:
        raise DecryptionError(f"the data key for {recipient} does not authenticate") from exc


def open_sealed(sealed: Sealed, message_id: UUID, dek: bytes) -> bytes:
    """Decrypt the content with a recovered data key."""
    try:
        return AESGCM(dek).decrypt(
            _unb64(sealed.nonce), _unb64(sealed.ciphertext), message_id.bytes
        )
    except InvalidTag as exc:
        raise DecryptionError("the sealed content does not authenticate") from exc
    except ValueError as exc:
        raise DecryptionError(f"the sealed content is malformed: {exc}") from exc


def rewrap(sealed: Sealed, message_id: UUID, dek: bytes, recipients: Iterable[Recipient]) -> Sealed:
    """The same ciphertext, with the data key wrapped only for ``recipients``."""
    keys = tuple(wrap(dek, message_id, r) for r in recipients)
    return sealed.model_copy(update={"keys": keys})


def rewrap_json(prefix: str, message_id: UUID, dek: bytes, recipient: Recipient) -> str:
    """:func:`rewrap` for one recipient, straight to the JSON ``Sealed`` serialises to.

    ``prefix`` is :func:`sealed_prefix` of the inbound ``Sealed``: the hot path writes
    the ciphertext once per message and only the wrapped key per area, without building
    and serialising a model per area (a test checks the bytes are the model's).
    """
    name, key_id, wrapped = _wrapped(dek, message_id, recipient)
    return f'{prefix}{{"recipient":"{name}","key_id":"{key_id}","wrapped":"{wrapped}"}}]}}'


def seal_prefix(plaintext: bytes, message_id: UUID) -> tuple[str, bytes]:
    """:func:`seal` for recipients wrapped one by one: the JSON up to the keys, and the key.

    Encrypts ``plaintext`` once under a fresh data key; :func:`rewrap_json` then writes
    each recipient's ``Sealed`` from the prefix (what :func:`seal` would write for that
    recipient alone, with this ciphertext).
    """
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE)
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext, message_id.bytes)
    prefix = f'{{"alg":"{_ALG}","nonce":"{_b64(nonce)}","ciphertext":"{_b64(ciphertext)}","keys":['
    return prefix, dek


def seal_json(plaintext: bytes, message_id: UUID, recipient: Recipient) -> str:
    """:func:`seal` for one recipient, straight to the JSON text its ``Sealed`` writes.

    The ingest seals every message for the router alone: no model is built or
    serialised (a test checks the text is the model's and opens).
    """
    prefix, dek = seal_prefix(plaintext, message_id)
    return rewrap_json(prefix, message_id, dek, recipient)


def sealed_prefix(sealed: Sealed) -> str:
    """The JSON of ``sealed`` up to its first wrapped key (every field is base64url or fixed)."""
    return (
        f'{{"alg":"{sealed.alg}","nonce":"{sealed.nonce}",'
        f'"ciphertext":"{sealed.ciphertext}","keys":['
    )


def decrypt_for(
    sealed: Sealed, message_id: UUID, recipient: str, keks: Mapping[str, SecretKey]
) -> bytes:
    """Unwrap and decrypt in one step (a team opening its own message)."""
    return open_sealed(sealed, message_id, unwrap(sealed, message_id, recipient, keks))
