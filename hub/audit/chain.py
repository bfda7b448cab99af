"""Hash chains over ``hub.decisions``, one per partition.

Each decision record carries ``prev_hash`` (the previous record's ``hash`` in the same
partition, or :data:`GENESIS`) and ``hash``, its last field. ``hash`` is the SHA-256 of
the record's exact bytes as written to Kafka with the ``"hash"`` member removed (that
body holds ``prev_hash``, so each hash covers the whole chain before it). Hashing the
bytes as written, rather than a re-serialisation, keeps old records verifiable when
the schema gains fields.

A chain has no key: whoever can write the topic can extend it. What the router has
written is therefore also stated in signed checkpoints (:mod:`hub.audit.checkpoint`),
which carry the :class:`ChainHead` the router keeps per partition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas.decision import DecisionRecorded

GENESIS = "0" * 64


_HASH_MEMBER = b',"hash":"'
_TAIL = len(_HASH_MEMBER) + 64 + len(b'"}')


def body_of(value: bytes) -> bytes | None:
    """The record's bytes without its trailing ``"hash"`` member, or None if malformed."""
    if len(value) < _TAIL or value[-_TAIL:].find(_HASH_MEMBER) != 0 or not value.endswith(b'"}'):
        return None
    return value[:-_TAIL] + b"}"


def hash_of(value: bytes) -> str | None:
    """The hash a record's bytes must carry, or None if they are malformed."""
    body = body_of(value)
    return None if body is None else hashlib.sha256(body).hexdigest()


def seal_record(fields: dict[str, Any], prev_hash: str) -> tuple[str, bytes]:
    """Serialise a decision record chained after ``prev_hash``; return (hash, value).

    ``fields`` come from the router's own validated objects, so the record is built
    without validating them again (the schema tests check the output validates).
    """
    draft = DecisionRecorded.trusted({**fields, "prev_hash": prev_hash, "hash": GENESIS})
    raw = draft.model_dump_json().encode()
    digest = hash_of(raw)
    if digest is None:  # pragma: no cover -- "hash" is the model's last field
        raise AssertionError("DecisionRecorded must serialise 'hash' last")
    return digest, raw[:-_TAIL] + _HASH_MEMBER + digest.encode() + b'"}'


@dataclass(frozen=True)
class ChainHead:
    """Where one partition's chain stands: its head, length and first record.

    ``count`` is None for a head restored from a changelog written before counts were
    kept: the router cannot say how long that chain is, so it does not checkpoint it
    (``hub audit verify`` reports its records as unanchored).
    """

    head: str = GENESIS
    count: int | None = 0
    root: str = GENESIS

    def advance(self, digest: str) -> ChainHead:
        """The chain after one more record, whose hash is ``digest``."""
        if self.count is None:
            return ChainHead(digest, None, self.root)
        return ChainHead(digest, self.count + 1, digest if self.count == 0 else self.root)

    def to_bytes(self) -> bytes:
        """The changelog value (``hub.subject-history``, key ``__chain_head__``)."""
        return json.dumps(
            {"v": 2, "head": self.head, "count": self.count, "root": self.root},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, value: bytes) -> ChainHead:
        """Read a changelog value; a bare hash is a head written before counts were kept."""
        text = value.decode()
        if not text.startswith("{"):
            return cls(text.strip(), None, GENESIS)
        raw = json.loads(text)
        return cls(raw["head"], raw["count"], raw["root"])


@dataclass(frozen=True)
class ChainBreak:
    """The first place a partition's chain does not hold."""

    partition: int
    offset: int
    reason: str


def verify_chain(
    partition: int, records: Iterable[tuple[int, bytes]]
) -> tuple[int, ChainBreak | None]:
    """Check a partition's records (offset, value) in order; return the count and any break."""
    expected_prev = GENESIS
    count = 0
    for offset, value in records:
        count += 1
        try:
            record = DecisionRecorded.model_validate_json(value)
        except ValidationError as exc:
            return count, ChainBreak(
                partition, offset, f"not a decision record: {exc.errors()[0]['msg']}"
            )
        if hash_of(value) != record.hash:
            return count, ChainBreak(partition, offset, f"record {record.message_id} was edited")
        if record.prev_hash != expected_prev:
            reason = (
                f"record {record.message_id} does not follow the previous record "
                "(one was removed, inserted or reordered)"
            )
            return count, ChainBreak(partition, offset, reason)
        expected_prev = record.hash
    return count, None
