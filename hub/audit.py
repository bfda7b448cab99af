"""The tamper-evident decision log: hash chains over ``hub.decisions``, per partition.

Each decision record carries ``prev_hash`` (the previous record's ``hash`` in the same
partition, or :data:`GENESIS`) and ``hash`` = SHA-256 over ``prev_hash`` and the
record's canonical JSON without ``hash``. :func:`verify_chain` walks a partition and
names the first record that was edited, removed or reordered.
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


def canonical_json(data: dict[str, Any]) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """The hash of a record whose fields (without ``hash``) are ``body``."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(body)).hexdigest()


def seal_record(fields: dict[str, Any], prev_hash: str) -> DecisionRecorded:
    """Build a decision record chained after ``prev_hash``."""
    unsigned = DecisionRecorded.model_validate({**fields, "prev_hash": prev_hash, "hash": GENESIS})
    body = unsigned.model_dump(mode="json", exclude={"hash"})
    return unsigned.model_copy(update={"hash": chain_hash(prev_hash, body)})


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
        body = record.model_dump(mode="json", exclude={"hash"})
        if chain_hash(record.prev_hash, body) != record.hash:
            return count, ChainBreak(partition, offset, f"record {record.message_id} was edited")
        if record.prev_hash != expected_prev:
            reason = (
                f"record {record.message_id} does not follow the previous record "
                "(one was removed, inserted or reordered)"
            )
            return count, ChainBreak(partition, offset, reason)
        expected_prev = record.hash
    return count, None
