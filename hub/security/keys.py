"""Key material: where it lives, how it is created and rotated, and how it is loaded.

A keyring is a directory (``HUB_CRYPTO__KEYS_DIR``) with one folder per key *name*;
each holds one file per key id and a ``current`` file naming the id used for new
messages. Older ids stay readable until deleted, so rotation needs no downtime::

    keys/
      subject-key/k1.key            HMAC secret for subject keys (connectors)
      inbound-police/k1.key         AES-256 KEK: police connector -> router
      inbound-mac-police/k1.key     HMAC key: police connector <-> router (record MACs)
      area-mash/k1.key, k2.key      AES-256 KEKs: router -> MASH team (k2 current)
      route-mac-mash/k1.key         HMAC key: router -> MASH team (routed copies)
      outcome-mac-mash/k1.key       HMAC key: MASH team -> router (outcomes)
      signing-router/k1.private     Ed25519: the router signs audit checkpoints
      signing-router/k1.public      Ed25519: auditors verify them

Each process is given only the folders it needs (:mod:`hub.security.layout`; a team
never holds another area's key). Key bytes are never logged: :class:`SecretKey` hides
its value in ``repr``. A secret or private key file that its group or others may read
is refused (:func:`read_private`): a key another account on the host could copy is not
a key.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import KeyMaterialError
from schemas.checks import CheckPartner
from schemas.common import Area, Partner

SUBJECT_KEY = "subject-key"

_T = TypeVar("_T")


def inbound_kek(partner: Partner | str) -> str:
    """Name of the KEK a partner's connector wraps data keys with for the router."""
    return f"inbound-{Partner(partner).value}"


def area_kek(area: Area | str) -> str:
    """Name of the KEK the router wraps data keys with for one area."""
    return f"area-{Area(area).value}"


def inbound_mac(partner: Partner | str) -> str:
    """Name of the MAC key of a partner's inbound records (its connector and the router)."""
    return f"inbound-mac-{Partner(partner).value}"


def route_mac(area: Area | str) -> str:
    """Name of the MAC key of an area's routed copies (the router and that area's team)."""
    return f"route-mac-{Area(area).value}"


def outcome_mac(area: Area | str) -> str:
    """Name of the MAC key of an area's outcomes (that area's team and the router)."""
    return f"outcome-mac-{Area(area).value}"


def check_kek(partner: str) -> str:
    """Name of the KEK of a partner's agency checks: requests to it, answers from it.

    Held by the asking team (MASH) and that partner's ingest only (DESIGN.md section 17).
    """
    return f"check-{CheckPartner(partner).value}"


def check_mac(partner: str) -> str:
    """Name of the MAC key of a partner's check requests and answers (MASH team, its ingest)."""
    return f"check-mac-{CheckPartner(partner).value}"


ROUTER_SIGNING = "signing-router"
"""The router's Ed25519 key pair: it signs audit checkpoints; auditors hold the public key."""


def read_private(path: Path) -> bytes:
    """The bytes of a secret file, refused if its group or others may read or write it."""
    with path.open("rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyMaterialError(
                f"key file {path} is open to its group or others (mode {stat.S_IMODE(mode):04o}); "
                f"the hub refuses it: run `chmod 600 {path}`"
            )
        return handle.read()


def _load_private(path: Path, parse: Callable[[bytes], _T], *, missing: str, malformed: str) -> _T:
    """Parse a secret file (:func:`read_private`); missing or unparsable, a KeyMaterialError."""
    try:
        return parse(read_private(path))
    except FileNotFoundError:
        raise KeyMaterialError(missing) from None
    except KeyMaterialError:
        raise
    except ValueError as exc:
        raise KeyMaterialError(malformed) from exc


@dataclass(frozen=True)
class SecretKey:
    """A symmetric key and its id; the bytes never appear in repr or logs."""

    key_id: str
    material: bytes = field(repr=False)


class Keyring:
    """Read access to a keys directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current_id(self, name: str) -> str:
        """The key id used for new messages."""
        path = self.root / name / "current"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            raise KeyMaterialError(f"no current key for {name!r} in {self.root}") from None

    def secret(self, name: str, key_id: str | None = None) -> SecretKey:
        """A symmetric key (the current one when ``key_id`` is None)."""
        kid = key_id or self.current_id(name)
        material = _load_private(
            self.root / name / f"{kid}.key",
            lambda data: base64.b64decode(data, validate=True),
            missing=f"unknown key id {kid!r} for {name!r}",
            malformed=f"key {name}/{kid} is not base64",
        )
        if len(material) != 32:  # noqa: PLR2004
            raise KeyMaterialError(f"key {name}/{kid} must be 32 bytes")
        return SecretKey(kid, material)

    def secrets(self, name: str) -> dict[str, SecretKey]:
        """Every symmetric key id of ``name`` (old ones stay readable)."""
        folder = self.root / name
        return {p.stem: self.secret(name, p.stem) for p in sorted(folder.glob("*.key"))}

    def private_key(self, name: str) -> tuple[str, Ed25519PrivateKey]:
        """The current Ed25519 private key of ``name`` and its id."""
        kid = self.current_id(name)
        key = _load_private(
            self.root / name / f"{kid}.private",
            lambda data: serialization.load_pem_private_key(data, password=None),
            missing=f"no private key {name}/{kid}",
            malformed=f"private key {name}/{kid} is malformed",
        )
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMaterialError(f"private key {name}/{kid} is not Ed25519")
        return kid, key

    def public_keys(self, name: str) -> dict[str, Ed25519PublicKey]:
        """Every Ed25519 public key id of ``name``."""
        found = {}
        for path in sorted((self.root / name).glob("*.public")):
            try:
                key = serialization.load_pem_public_key(path.read_bytes())
            except ValueError as exc:
                raise KeyMaterialError(f"public key {name}/{path.stem} is malformed") from exc
            if not isinstance(key, Ed25519PublicKey):
                raise KeyMaterialError(f"public key {name}/{path.stem} is not Ed25519")
            found[path.stem] = key
        return found


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _next_id(folder: Path) -> str:
    numbers = [int(p.stem[1:]) for p in folder.glob("k*.*") if p.stem[1:].isdigit()]
    return f"k{max(numbers, default=0) + 1}"


def create_secret(root: Path, name: str, *, make_current: bool = True) -> str:
    """Add a new random 256-bit key to ``name``; return its id."""
    folder = root / name
    kid = _next_id(folder)
    _write_private(folder / f"{kid}.key", base64.b64encode(secrets.token_bytes(32)))
    if make_current:
        (folder / "current").write_text(kid + "\n")
    return kid


def create_signing_pair(root: Path, name: str, *, make_current: bool = True) -> str:
    """Add a new Ed25519 key pair to ``name``; return its id."""
    folder = root / name
    kid = _next_id(folder)
    private = Ed25519PrivateKey.generate()
    _write_private(
        folder / f"{kid}.private",
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    (folder / f"{kid}.public").write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    if make_current:
        (folder / "current").write_text(kid + "\n")
    return kid


def all_key_names() -> list[str]:
    """Every key name a complete hub needs."""
    names = [SUBJECT_KEY, ROUTER_SIGNING]
    names += [inbound_kek(p) for p in Partner]
    names += [inbound_mac(p) for p in Partner]
    names += [area_kek(a) for a in Area]
    names += [route_mac(a) for a in Area]
    names += [outcome_mac(a) for a in Area]
    names += [check_kek(p) for p in CheckPartner]
    names += [check_mac(p) for p in CheckPartner]
    return names


def init_keyring(root: Path) -> list[str]:
    """Create every missing key of a complete hub (development and tests)."""
    created = []
    for name in all_key_names():
        if (root / name / "current").exists():
            continue
        if name.startswith("signing-"):
            create_signing_pair(root, name)
        else:
            create_secret(root, name)
        created.append(name)
    return created


def rotate(root: Path, name: str) -> str:
    """Add a new key to ``name`` and make it current; old ids stay valid."""
    if not (root / name / "current").exists():
        raise KeyMaterialError(f"no key named {name!r} to rotate in {root}")
    if name.startswith("signing-"):
        return create_signing_pair(root, name)
    return create_secret(root, name)


class Reread(Generic[_T]):
    """A value read from the keyring, read again on demand at most every ``every_s``.

    Rotation needs no restart: a process that holds one sees the keyring's change at
    its next :meth:`fresh` call once ``every_s`` has passed.
    """

    def __init__(self, read: Callable[[], _T], every_s: float, clock: Callable[[], float]) -> None:
        self._read = read
        self._every = every_s
        self._clock = clock
        self.value = read()
        self._read_at = clock()

    def fresh(self) -> _T:
        """The value, read again first if the last read is ``every_s`` old."""
        if self._clock() - self._read_at >= self._every:
            self.value = self._read()
            self._read_at = self._clock()
        return self.value


class KeyIds(Mapping[str, SecretKey]):
    """Every key id of one name, re-read when an unknown id is asked for.

    A key added by rotation (or published ahead of it) is found without a restart;
    the keyring is re-read at most once every ``reload_every_s``.
    """

    def __init__(
        self,
        keyring: Keyring,
        name: str,
        *,
        reload_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = Reread(lambda: keyring.secrets(name), reload_every_s, clock)

    def __getitem__(self, key_id: str) -> SecretKey:
        found = self._keys.value.get(key_id)
        if found is None:
            found = self._keys.fresh().get(key_id)
        if found is None:
            raise KeyError(key_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys.value)

    def __len__(self) -> int:
        return len(self._keys.value)


class CurrentKeys(Mapping[Area, SecretKey]):
    """The current key of each area, re-read every ``refresh_s`` (rotation, no restart)."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = Reread(
            lambda: {a: keyring.secret(area_kek(a)) for a in Area}, refresh_s, clock
        )

    def __getitem__(self, area: Area) -> SecretKey:
        return self._keys.fresh()[area]

    def __iter__(self) -> Iterator[Area]:
        return iter(self._keys.value)

    def __len__(self) -> int:
        return len(self._keys.value)
