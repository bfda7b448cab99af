"""Reading the decision log and its checkpoints from Kafka, and ``hub audit verify``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.checkpoint import CHECKPOINT_CONTEXT, Finding, Headers, valid_checkpoints
from hub.audit.verify import MAX_UNANCHORED, verify_partition
from hub.errors import KafkaError
from hub.kafka import kafka_errors, make_consumer, partitions_of, read_to_end
from hub.security.signing import SignatureVerifier
from hub.settings import KafkaSettings
from hub.topology import AUDIT_CHECKPOINTS, DECISIONS

Record = tuple[int, bytes, Headers]


async def read_records(kafka: KafkaSettings, topic: str) -> dict[int, list[Record]]:
    """Every committed record of ``topic`` (logical name), by partition, in offset order."""
    consumer = make_consumer(kafka, "hub-audit", read_committed=True)
    by_partition: dict[int, list[Record]] = {}
    with kafka_errors(f"reading {topic}"):
        await consumer.start()
        try:
            partitions = await partitions_of(consumer, [kafka.topic(topic)])
            if not partitions:
                raise KafkaError(f"topic {kafka.topic(topic)} does not exist")
            for tp in partitions:
                by_partition[tp.partition] = []
            async for tp, records in read_to_end(consumer, partitions):
                by_partition[tp.partition].extend(
                    (r.offset, r.value, tuple((k, bytes(v)) for k, v in r.headers or ()))
                    for r in records
                    if r.value is not None
                )
        finally:
            await consumer.stop()
    return by_partition


async def read_partitions(
    kafka: KafkaSettings, topic: str = DECISIONS
) -> dict[int, list[tuple[int, bytes]]]:
    """Every committed record's (offset, value) of ``topic``, by partition."""
    found = await read_records(kafka, topic)
    return {p: [(offset, value) for offset, value, _h in records] for p, records in found.items()}


@dataclass(frozen=True)
class AuditReport:
    """What ``hub audit verify`` found."""

    records: int
    partitions: int
    checkpoints: int
    findings: tuple[Finding, ...]


async def verify_log(
    kafka: KafkaSettings,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    now: datetime,
    max_unanchored: timedelta = MAX_UNANCHORED,
) -> AuditReport:
    """Verify every partition of ``hub.decisions`` against the router's checkpoints."""
    decisions = await read_partitions(kafka, DECISIONS)
    signed = await read_records(kafka, AUDIT_CHECKPOINTS)
    verifier = SignatureVerifier(CHECKPOINT_CONTEXT, public_keys)
    total, checkpoints, findings = 0, 0, []
    for partition in sorted(set(decisions) | set(signed)):
        valid, bad = valid_checkpoints(partition, signed.get(partition, []), verifier)
        count, found = verify_partition(
            partition,
            decisions.get(partition, []),
            valid,
            now=now,
            max_unanchored=max_unanchored,
        )
        total += count
        checkpoints += len(valid)
        findings += bad + found
    return AuditReport(total, len(decisions), checkpoints, tuple(findings))
