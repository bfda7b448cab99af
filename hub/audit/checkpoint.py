"""Signed checkpoints: the router's word for how far each decision chain reached.

The router writes a :class:`~schemas.checkpoint.ChainCheckpointed` to
``hub.audit-checkpoints`` (same partition as the chain) at least every minute while a
chain grows, and when a task starts, is handed over or stops. It is signed with the
router's Ed25519 key (``signing-router``): an auditor holds only the public key, so
even someone who can write every topic cannot make a checkpoint. A chain that was cut
short or rebuilt no longer matches the newest checkpoint (:mod:`hub.audit.verify`).
Each checkpoint names the digest of the one before it, so a removed or forged
checkpoint is seen too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from hub.audit.chain import GENESIS, ChainHead
from hub.errors import SignatureError
from hub.security.signing import SignatureVerifier, Signer
from hub.topology import AUDIT_CHECKPOINTS, DECISIONS
from schemas.checkpoint import ChainCheckpointed

CHECKPOINT_CONTEXT = b"safeguarding-hub/audit-checkpoint/v1\x00"
"""What a checkpoint signature covers before the record value (never another purpose)."""

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class Anchor:
    """The newest checkpoint of one partition: its digest and the chain length it covers."""

    digest: str = GENESIS
    count: int = 0

    @classmethod
    def of(cls, value: bytes) -> Anchor:
        """The anchor a checkpoint record's value sets."""
        checkpoint = ChainCheckpointed.model_validate_json(value)
        return cls(hashlib.sha256(value).hexdigest(), checkpoint.count)

    def covers(self, chain: ChainHead) -> bool:
        """Whether ``chain`` needs no new checkpoint (nothing new, or its length unknown)."""
        return chain.count is None or chain.count <= self.count


def checkpoint_record(
    chain: ChainHead,
    partition: int,
    anchor: Anchor,
    *,
    at: datetime,
    router: str,
    signer: Signer,
) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """The value and signature headers of the checkpoint of ``chain`` after ``anchor``."""
    if chain.count is None or chain.count < 1:
        raise ValueError("only a chain of known, non-zero length can be checkpointed")
    value = (
        ChainCheckpointed(
            v=1,
            topic=DECISIONS,
            partition=partition,
            count=chain.count,
            head=chain.head,
            root=chain.root,
            prev_checkpoint=anchor.digest,
            at=at,
            router=router,
            key_id=signer.key_id,
        )
        .model_dump_json()
        .encode()
    )
    return value, signer.headers(value)


@dataclass(frozen=True)
class Finding:
    """Something ``hub audit verify`` found, at a partition and offset of a topic."""

    topic: str
    partition: int
    offset: int
    kind: str
    """One of: edited, removed, reordered, inserted, unreadable, truncated, rebuilt,
    rewritten, unanchored, checkpoint."""
    text: str

    def __str__(self) -> str:
        where = f"{self.topic} partition {self.partition} offset {self.offset}"
        return f"{where}: {self.kind}: {self.text}"


@dataclass(frozen=True)
class Anchored:
    """A checkpoint that verified, and where it is on ``hub.audit-checkpoints``."""

    offset: int
    checkpoint: ChainCheckpointed


def valid_checkpoints(
    partition: int,
    records: Iterable[tuple[int, bytes, Headers]],
    verifier: SignatureVerifier,
) -> tuple[list[Anchored], list[Finding]]:
    """The checkpoints of one partition that verify and link, in order, and what did not."""
    found: list[Anchored] = []
    findings: list[Finding] = []
    prev, count = GENESIS, 0

    def finding(offset: int, text: str) -> None:
        findings.append(Finding(AUDIT_CHECKPOINTS, partition, offset, "checkpoint", text))

    for offset, value, headers in records:
        try:
            verifier.verify(value, headers)
            checkpoint = ChainCheckpointed.model_validate_json(value)
        except SignatureError as exc:
            finding(offset, f"not signed by the router: {exc}")
            continue
        except ValidationError as exc:
            finding(offset, f"not a checkpoint: {exc.errors()[0]['msg']}")
            continue
        if checkpoint.partition != partition or checkpoint.topic != DECISIONS:
            finding(offset, f"made for {checkpoint.topic} partition {checkpoint.partition}")
            continue
        if checkpoint.prev_checkpoint != prev or checkpoint.count < count:
            finding(offset, "does not follow the previous checkpoint (one removed or forked)")
        found.append(Anchored(offset, checkpoint))
        prev, count = hashlib.sha256(value).hexdigest(), checkpoint.count
    return found, findings
