"""Audit checkpoints: the router's signed statement of a decision chain's head."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.common import Contract
from schemas.decision import Hash


class ChainCheckpointed(Contract):
    """How far one partition's decision chain reached, signed by the router.

    The router writes one to ``hub.audit-checkpoints`` (partition = the chain's
    partition) at least every minute while the chain grows, when it starts, when it
    hands a partition over and when it stops. The record's ``hub-signature`` header is
    Ed25519 over the text ``safeguarding-hub/audit-checkpoint/v1``, a zero byte and the
    record value, by the key named in ``key_id`` (``signing-router``); an auditor needs
    only its public key. Checkpoints of a partition chain too (``prev_checkpoint``), so one
    removed or forged is seen.
    """

    v: Literal[1] = Field(description="Version of this format.")
    topic: Annotated[str, Field(min_length=1, max_length=249)] = Field(
        description="The logical topic the chain is on (the decision log)."
    )
    partition: Annotated[int, Field(ge=0)] = Field(description="The chain's partition.")
    count: Annotated[int, Field(ge=1)] = Field(
        description="How many decision records the chain holds, from its first to its head."
    )
    head: Hash = Field(description="The hash of record number `count` (the head).")
    root: Hash = Field(description="The hash of record number 1 (the chain's first record).")
    prev_checkpoint: Hash = Field(
        description="SHA-256 of the previous checkpoint's value bytes in this partition, "
        "or 64 zeros for the first."
    )
    at: AwareDatetime = Field(description="When the router wrote the checkpoint.")
    router: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="The router instance that wrote it."
    )
    key_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="Id of the signing-router key that signed it."
    )
