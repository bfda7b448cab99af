"""The tamper-evident decision log: hash chains, signed checkpoints, verify and export.

* :mod:`hub.audit.chain`: the per-partition hash chain over ``hub.decisions``;
* :mod:`hub.audit.checkpoint`: the router's signed checkpoints of each chain's head;
* :mod:`hub.audit.verify`: one partition checked against its checkpoints;
* :mod:`hub.audit.log`: reading both topics and ``hub audit verify``;
* :mod:`hub.audit.export`: the information-sharing record (``hub audit export``).
"""

from __future__ import annotations

from hub.audit.chain import (
    GENESIS,
    ChainBreak,
    ChainHead,
    body_of,
    hash_of,
    seal_record,
    verify_chain,
)
from hub.audit.checkpoint import (
    CHECKPOINT_CONTEXT,
    Anchor,
    Anchored,
    Finding,
    checkpoint_record,
    valid_checkpoints,
)
from hub.audit.export import EXPORT_FIELDS, export_sharing, neutralise, write_export
from hub.audit.log import AuditReport, read_partitions, read_records, verify_log
from hub.audit.verify import MAX_UNANCHORED, verify_partition

__all__ = [
    "CHECKPOINT_CONTEXT",
    "EXPORT_FIELDS",
    "GENESIS",
    "MAX_UNANCHORED",
    "Anchor",
    "Anchored",
    "AuditReport",
    "ChainBreak",
    "ChainHead",
    "Finding",
    "body_of",
    "checkpoint_record",
    "export_sharing",
    "hash_of",
    "neutralise",
    "read_partitions",
    "read_records",
    "seal_record",
    "valid_checkpoints",
    "verify_chain",
    "verify_log",
    "verify_partition",
    "write_export",
]
