"""Checking one partition's decision chain against the router's signed checkpoints.

:func:`verify_partition` is a pure function of the records: ``hub audit verify``
(:mod:`hub.audit.log`) feeds it each partition of ``hub.decisions`` and of
``hub.audit-checkpoints``. The walk names the first record that was edited, removed,
reordered or inserted; the newest checkpoint then shows what a walk cannot see:

* the log ends before the record the checkpoint covers: the tail was **truncated**;
* the chain's first record is not the one the checkpoint names: the chain was
  **rebuilt** from scratch;
* record number ``count`` is not the checkpoint's head: the chain was **rewritten**;
* records after the newest checkpoint that are older than ``max_unanchored``:
  nothing the router signed covers them (**unanchored**), which is how records
  appended while the router was down, or by someone else, show.

Each finding names the topic, partition and offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from hub.audit.chain import GENESIS, hash_of
from hub.audit.checkpoint import Anchored, Finding
from hub.topology import AUDIT_CHECKPOINTS, DECISIONS
from schemas.decision import DecisionRecorded

MAX_UNANCHORED = timedelta(minutes=2)
"""How old a record may be and still wait for its checkpoint (the router writes one a minute)."""


@dataclass(frozen=True)
class _Link:
    """One readable record of the walk: where it is, its hash and when it was decided."""

    offset: int
    hash: str
    decided_at: datetime


def _walk(
    partition: int, records: Sequence[tuple[int, bytes]]
) -> tuple[list[_Link], Finding | None]:
    """The chain in order, up to the first record that breaks it (and that break)."""
    parsed: list[tuple[int, DecisionRecorded, str | None]] = []
    for offset, value in records:
        try:
            parsed.append((offset, DecisionRecorded.model_validate_json(value), hash_of(value)))
        except ValidationError as exc:
            text = f"not a decision record: {exc.errors()[0]['msg']}"
            return [_Link(o, r.hash, r.decided_at) for o, r, _ in parsed], _break(
                partition, offset, "unreadable", text
            )
    position = {record.hash: i for i, (_o, record, _h) in enumerate(parsed)}
    links: list[_Link] = []
    expected = GENESIS
    for i, (offset, record, actual) in enumerate(parsed):
        if actual != record.hash:
            return links, _break(partition, offset, "edited", f"record {record.message_id}")
        if record.prev_hash != expected:
            return links, _link_break(partition, offset, i, position.get(record.prev_hash))
        links.append(_Link(offset, record.hash, record.decided_at))
        expected = record.hash
    return links, None


def _break(partition: int, offset: int, kind: str, text: str) -> Finding:
    return Finding(DECISIONS, partition, offset, kind, text)


def _link_break(partition: int, offset: int, at: int, points_to: int | None) -> Finding:
    if at == 0:
        text = "the log starts mid-chain: the records before this one were removed"
        return _break(partition, offset, "removed", text)
    if points_to is None:
        return _break(partition, offset, "removed", "the record before this one was removed")
    if points_to > at:
        return _break(partition, offset, "reordered", "this record follows a later one")
    return _break(partition, offset, "inserted", "records were inserted before this one")


def verify_partition(
    partition: int,
    records: Sequence[tuple[int, bytes]],
    checkpoints: Sequence[Anchored],
    *,
    now: datetime,
    max_unanchored: timedelta = MAX_UNANCHORED,
) -> tuple[int, list[Finding]]:
    """Check one partition's records (offset, value) against its valid checkpoints.

    Returns how many records were read and what was found (empty when intact).
    """
    links, broken = _walk(partition, records)
    if broken is not None:
        return len(records), [broken]
    newest = checkpoints[-1] if checkpoints else None
    if newest is not None:
        found = _against(partition, links, newest)
        if found is not None:
            return len(records), [found]
    covered = newest.checkpoint.count if newest is not None else 0
    stale = [link for link in links[covered:] if link.decided_at < now - max_unanchored]
    if stale:
        since = f"the newest, {_where(newest)}, covers {covered}" if newest else "there is none"
        text = (
            f"{len(links) - covered} record(s) from this one on are covered by no signed "
            f"checkpoint ({since})"
        )
        return len(records), [_break(partition, stale[0].offset, "unanchored", text)]
    return len(records), []


def _where(anchored: Anchored) -> str:
    at = anchored.checkpoint.at.isoformat()
    return f"the checkpoint of {at} ({AUDIT_CHECKPOINTS} offset {anchored.offset})"


def _against(partition: int, links: Sequence[_Link], anchored: Anchored) -> Finding | None:
    checkpoint = anchored.checkpoint
    where = _where(anchored)
    if not links:
        text = f"the log holds no record, but {where} covers {checkpoint.count}"
        return _break(partition, 0, "truncated", text)
    if links[0].hash != checkpoint.root:
        text = f"the chain's first record is not the one {where} names: the chain was rebuilt"
        return _break(partition, links[0].offset, "rebuilt", text)
    if checkpoint.count > len(links):
        text = (
            f"{where} covers {checkpoint.count} records, but the log ends after "
            f"{len(links)}, at this one: the tail was truncated"
        )
        return _break(partition, links[-1].offset, "truncated", text)
    head = links[checkpoint.count - 1]
    if head.hash != checkpoint.head:
        text = f"record number {checkpoint.count} is not the head {where} names: rewritten"
        return _break(partition, head.offset, "rewritten", text)
    return None
