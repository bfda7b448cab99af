"""The tamper-evident decision log: hash chains over ``hub.decisions``, per partition.

Each decision record carries ``prev_hash`` (the previous record's ``hash`` in the same
partition, or :data:`GENESIS`) and ``hash``, its last field. ``hash`` is the SHA-256 of
the record's exact bytes as written to Kafka with the ``"hash"`` member removed (that
body holds ``prev_hash``, so each hash covers the whole chain before it). Hashing the
bytes as written, rather than a re-serialisation, keeps old records verifiable when
the schema gains fields. :func:`verify_chain` walks a partition and names the first
record that was edited, removed or reordered.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.errors import KafkaError
from hub.kafka import kafka_errors, make_consumer, partitions_of
from hub.settings import KafkaSettings
from hub.topology import DECISIONS
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
    draft = DecisionRecorded.model_construct(**fields, prev_hash=prev_hash, hash=GENESIS)
    raw = draft.model_dump_json().encode()
    digest = hash_of(raw)
    if digest is None:  # pragma: no cover -- "hash" is the model's last field
        raise AssertionError("DecisionRecorded must serialise 'hash' last")
    return digest, raw[:-_TAIL] + _HASH_MEMBER + digest.encode() + b'"}'


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


async def read_partitions(
    kafka: KafkaSettings, topic: str = DECISIONS
) -> dict[int, list[tuple[int, bytes]]]:
    """Every committed record of ``topic`` (logical name), by partition, in offset order."""
    consumer = make_consumer(kafka, "hub-audit", read_committed=True)
    by_partition: dict[int, list[tuple[int, bytes]]] = {}
    with kafka_errors(f"reading {topic}"):
        await consumer.start()
        try:
            partitions = await partitions_of(consumer, [kafka.topic(topic)])
            if not partitions:
                raise KafkaError(f"topic {kafka.topic(topic)} does not exist")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            pending = {tp for tp, end in ends.items() if end > 0}
            for tp in partitions:
                by_partition[tp.partition] = []
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
                for tp, records in batch.items():
                    by_partition[tp.partition].extend(
                        (r.offset, r.value) for r in records if r.value is not None
                    )
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
    return by_partition


@dataclass(frozen=True)
class AuditReport:
    """What ``hub audit verify`` found."""

    records: int
    partitions: int
    breaks: tuple[ChainBreak, ...]


async def verify_log(kafka: KafkaSettings) -> AuditReport:
    """Verify every partition's chain of ``hub.decisions``."""
    by_partition = await read_partitions(kafka)
    total, breaks = 0, []
    for partition, records in sorted(by_partition.items()):
        count, broken = verify_chain(partition, records)
        total += count
        if broken is not None:
            breaks.append(broken)
    return AuditReport(total, len(by_partition), tuple(breaks))


EXPORT_FIELDS = (
    "decided_at",
    "message_id",
    "partner",
    "source_reference",
    "kind",
    "shared_with",
    "rules",
    "why",
    "consent_status",
    "lawful_basis",
    "shared_without_consent",
    "returned_reasons",
    "policy_version",
)


def sharing_record(record: DecisionRecorded) -> dict[str, Any]:
    """One row of the information-sharing record: what, with whom, why, when, consent."""
    return {
        "decided_at": record.decided_at.isoformat(),
        "message_id": str(record.message_id),
        "partner": record.partner.value,
        "source_reference": record.source_reference,
        "kind": record.kind,
        "shared_with": [a.value for a in record.destinations],
        "rules": list(record.rules),
        "why": list(record.rationale),
        "consent_status": record.consent_status.value,
        "lawful_basis": record.lawful_basis.value,
        "shared_without_consent": record.shared_without_consent,
        "returned_reasons": list(record.returned_reasons),
        "policy_version": record.policy_version,
    }


async def export_sharing(
    kafka: KafkaSettings, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The information-sharing record for decisions made in [start, end), oldest first."""
    rows = []
    for records in (await read_partitions(kafka)).values():
        for _offset, value in records:
            try:
                record = DecisionRecorded.model_validate_json(value)
            except ValidationError:
                continue  # a damaged record is reported by verify, not exported
            if start <= record.decided_at < end:
                rows.append(sharing_record(record))
    return sorted(rows, key=lambda r: (r["decided_at"], r["message_id"]))


def write_export(rows: list[dict[str, Any]], out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write the rows as JSON and CSV (lists joined with ' | ')."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / f"{stem}.json", out_dir / f"{stem}.csv"
    json_path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: " | ".join(v) if isinstance(v, list) else v for k, v in row.items()}
            )
    return json_path, csv_path
