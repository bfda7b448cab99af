"""The local queue of one team app instance: routed messages and their decisions, in SQLite.

The file (``TeamSettings.state_dir/<instance>.sqlite``) holds each routed copy as it
arrived from Kafka, content still sealed, plus what the team decided. A row is keyed
by ``(message_id, area, child_index)``: ``child_index`` is the position, in the
message's subjects, of the child an Encompass notice is about (one notice per child),
and 0 for every other area. Storing is idempotent, so a record redelivered after a
crash (its offset was not yet committed) is recognised and not queued twice.

Writes are durable before they return (WAL, ``synchronous=FULL``): the consumer
commits an offset only after :meth:`QueueStore.add` returned, so a stored row is never
lost to a crash after the commit.

Recording a decision is three steps: :meth:`QueueStore.claim` (one decision at a time
per row; a claim older than :data:`CLAIM_TIMEOUT` is considered abandoned),
producing the outcome to Kafka, then :meth:`QueueStore.decide` (or
:meth:`QueueStore.release` when producing failed).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple
from uuid import UUID

from hub.errors import HubError
from hub.teams.database import open_database
from schemas.outcome import Outcome
from schemas.routed import MessageRouted

CLAIM_TIMEOUT = timedelta(minutes=2)
"""How long a claim holds; longer than any producer request timeout."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    area TEXT NOT NULL,
    message_id TEXT NOT NULL,
    child_index INTEGER NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset INTEGER NOT NULL,
    kind TEXT NOT NULL,
    partner TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    received_at TEXT NOT NULL,
    routed_at TEXT NOT NULL,
    due_by TEXT,
    routed TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    claim_id TEXT,
    claimed_at TEXT,
    outcome_id TEXT,
    outcome TEXT,
    rationale TEXT,
    decided_by TEXT,
    decided_at TEXT,
    PRIMARY KEY (message_id, area, child_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_queue ON items (area, decided_at, routed_at);
CREATE TABLE IF NOT EXISTS oversight (
    area TEXT NOT NULL,
    message_id TEXT NOT NULL,
    child_index INTEGER NOT NULL,
    assigned_to TEXT,
    auth_due_by TEXT,
    auth_outcome_id TEXT,
    auth_decision TEXT,
    auth_rationale TEXT,
    auth_by TEXT,
    auth_at TEXT,
    returned_rationale TEXT,
    returned_by TEXT,
    returned_at TEXT,
    PRIMARY KEY (message_id, area, child_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rejected (
    area TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset INTEGER NOT NULL,
    error_class TEXT NOT NULL,
    error TEXT NOT NULL,
    rejected_at TEXT NOT NULL,
    PRIMARY KEY (area, kafka_partition, kafka_offset)
) WITHOUT ROWID;
"""

_COLUMNS = (
    "i.area, i.message_id, i.child_index, kind, partner, subject_key, received_at, routed_at, "
    "due_by, routed, outcome_id, outcome, rationale, decided_by, decided_at, kafka_partition, "
    "o.assigned_to, o.auth_due_by, o.auth_decision, o.auth_rationale, o.auth_by, o.auth_at, "
    "o.returned_rationale, o.returned_by, o.returned_at"
)
_FROM = "items i LEFT JOIN oversight o USING (message_id, area, child_index)"
_AWAITING = "decided_at IS NOT NULL AND o.auth_due_by IS NOT NULL AND o.auth_at IS NULL"


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 with a fixed width, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Status(StrEnum):
    """Which rows a queue listing shows (``decided``: any with a decision recorded)."""

    UNDECIDED = "undecided"
    AWAITING_AUTHORISATION = "awaiting_authorisation"
    DECIDED = "decided"
    ALL = "all"


class Claim(StrEnum):
    """The answer to a claim: the caller may decide only on ``CLAIMED``."""

    CLAIMED = "claimed"
    MISSING = "missing"
    DECIDED = "decided"
    BUSY = "busy"


class RowKey(NamedTuple):
    """Which row: an area's copy of a message (and, for Encompass, which child)."""

    area: str
    message_id: UUID
    child_index: int = 0

    def args(self) -> tuple[str, str, int]:
        """The key as SQL parameters."""
        return self.area, str(self.message_id), self.child_index


@dataclass(frozen=True)
class Decided:
    """What the team decided about a row."""

    outcome_id: UUID
    outcome: Outcome
    rationale: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class Oversight:
    """A manager's part in a row: who it is assigned to, authorisation, a return."""

    assigned_to: str | None = None
    auth_due_by: datetime | None = None
    auth_decision: str | None = None
    auth_rationale: str | None = None
    auth_by: str | None = None
    auth_at: datetime | None = None
    returned_rationale: str | None = None
    returned_by: str | None = None
    returned_at: datetime | None = None


@dataclass(frozen=True)
class Authorised:
    """A manager's authorisation, or return, of a decision."""

    outcome_id: UUID
    decision: str
    rationale: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class QueueItem:
    """One row of an area's queue; ``routed`` is the record as it came, still sealed."""

    area: str
    message_id: UUID
    child_index: int
    kind: str
    partner: str
    subject_key: str
    received_at: datetime
    routed_at: datetime
    due_by: datetime | None
    routed_json: str
    decided: Decided | None
    partition: int = 0
    """The partition of ``route.<area>`` the copy came from: its outcome goes to the same
    partition number of ``team.outcomes`` (the router task holding the subject)."""
    oversight: Oversight = Oversight()

    @property
    def awaiting_authorisation(self) -> bool:
        """Decided, and waiting for a manager's authorisation."""
        o = self.oversight
        return self.decided is not None and o.auth_due_by is not None and o.auth_at is None

    @property
    def key(self) -> RowKey:
        """Which row this is."""
        return RowKey(self.area, self.message_id, self.child_index)

    def routed(self) -> MessageRouted:
        """The routed record (metadata in clear, content sealed)."""
        return MessageRouted.model_validate_json(self.routed_json)


@dataclass(frozen=True)
class Incoming:
    """A routed record to store, with where it was read from."""

    routed: MessageRouted
    routed_json: str
    partition: int
    offset: int
    child_positions: tuple[int, ...] = (0,)
    """Rows this record may become, in order: one per Encompass child, else (0,)."""


class QueueStore:
    """The SQLite queue of one instance; every method is short and runs on the caller's thread."""

    def __init__(self, path: Path) -> None:
        self._db = open_database(path, _SCHEMA, durable=True)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    # ------------------------------------------------------------------ intake
    def add(self, incoming: Incoming, now: datetime) -> bool:
        """Store a routed record once: True when stored, False for a duplicate.

        A redelivery is the same Kafka position for the same message and area; a row
        is also never stored beyond the positions the message allows (a replay of the
        whole message under new offsets is a duplicate too).
        """
        routed = incoming.routed
        key = (str(routed.message_id), routed.area.value)
        with self._transaction():
            rows = self._db.execute(
                "SELECT child_index, kafka_partition, kafka_offset FROM items "
                "WHERE message_id = ? AND area = ?",
                key,
            ).fetchall()
            if any((p, o) == (incoming.partition, incoming.offset) for _c, p, o in rows):
                return False
            taken = {c for c, _p, _o in rows}
            free = [c for c in incoming.child_positions if c not in taken]
            if not free:
                return False
            self._insert(incoming, free[0], now)
        return True

    def _insert(self, incoming: Incoming, child_index: int, now: datetime) -> None:
        routed, meta = incoming.routed, incoming.routed.metadata
        self._db.execute(
            "INSERT INTO items (area, message_id, child_index, kafka_partition, "
            "kafka_offset, kind, partner, subject_key, received_at, routed_at, due_by, "
            "routed, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                routed.area.value,
                str(routed.message_id),
                child_index,
                incoming.partition,
                incoming.offset,
                meta.kind,
                meta.partner.value,
                meta.subject_key,
                _iso(meta.received_at),
                _iso(routed.decision.decided_at),
                _iso(routed.due_by) if routed.due_by else None,
                incoming.routed_json,
                _iso(now),
            ),
        )

    def reject(self, area: str, position: tuple[int, int], error: HubError, now: datetime) -> None:
        """Note a record (partition, offset) that can never be queued; no content is kept."""
        self._db.execute(
            "INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?, ?)",
            (area, *position, type(error).__name__, str(error)[:500], _iso(now)),
        )

    def rejected_count(self) -> int:
        """How many records could not be queued; operators re-read them by position."""
        return int(self._db.execute("SELECT count(*) FROM rejected").fetchone()[0])

    # ------------------------------------------------------------------ reading
    def page(
        self, area: str, status: Status = Status.UNDECIDED, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[QueueItem], int]:
        """One page of an area's queue (undecided first, then oldest first) and the total."""
        where, args = self._where(area, status)
        count = f"SELECT count(*) FROM {_FROM} WHERE {where}"  # noqa: S608 -- fixed fragments
        total = int(self._db.execute(count, args).fetchone()[0])
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where} "  # noqa: S608 -- fixed fragments
            "ORDER BY decided_at IS NOT NULL, routed_at, i.message_id, i.child_index "
            "LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return [_item(r) for r in rows], total

    def get(self, area: str, message_id: UUID, child_index: int = 0) -> QueueItem | None:
        """One row of ``area``'s queue, or None (another area's message is never returned)."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} "  # noqa: S608 -- fixed fragment
            "WHERE i.area = ? AND i.message_id = ? AND i.child_index = ?",
            (area, str(message_id), child_index),
        ).fetchone()
        return None if row is None else _item(row)

    def find(self, area: str, message_id: str, child_index: int = 0) -> QueueItem | None:
        """The row a path names by the text of its message id; None if it is not a UUID."""
        try:
            key = UUID(message_id)
        except ValueError:
            return None
        return self.get(area, key, child_index)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per area: (undecided, decided) rows."""
        rows = self._db.execute(
            "SELECT area, sum(decided_at IS NULL), sum(decided_at IS NOT NULL) "
            "FROM items GROUP BY area"
        ).fetchall()
        return {area: (int(u), int(d)) for area, u, d in rows}

    # ------------------------------------------------------------------ deciding
    def claim(self, key: RowKey, claim_id: UUID, now: datetime) -> Claim:
        """Reserve an undecided row for one decision in progress."""
        with self._transaction():
            row = self._db.execute(
                "SELECT decided_at IS NULL, claim_id, claimed_at FROM items "
                "WHERE area = ? AND message_id = ? AND child_index = ?",
                key.args(),
            ).fetchone()
            return self._take(key, row, claim_id, now)

    def _take(
        self, key: RowKey, row: tuple[int, str | None, str] | None, claim_id: UUID, now: datetime
    ) -> Claim:
        """Claim the row unless missing, not open to this decision, or claimed by another.

        ``row`` is (open to the decision, claim held, claimed at); call inside the
        transaction that read it.
        """
        if row is None:
            return Claim.MISSING
        open_to_it, held, claimed_at = row
        if not open_to_it:
            return Claim.DECIDED
        if held is not None and datetime.fromisoformat(claimed_at) > now - CLAIM_TIMEOUT:
            return Claim.BUSY
        self._db.execute(
            "UPDATE items SET claim_id = ?, claimed_at = ? "
            "WHERE area = ? AND message_id = ? AND child_index = ?",
            (str(claim_id), _iso(now), *key.args()),
        )
        return Claim.CLAIMED

    def release(self, key: RowKey, claim_id: UUID) -> None:
        """Give up a claim (producing the outcome failed)."""
        self._db.execute(
            "UPDATE items SET claim_id = NULL, claimed_at = NULL "
            "WHERE area = ? AND message_id = ? AND child_index = ? AND claim_id = ?",
            (*key.args(), str(claim_id)),
        )

    def decide(
        self,
        key: RowKey,
        claim_id: UUID,
        decided: Decided,
        auth_due_by: datetime | None = None,
    ) -> None:
        """Mark a claimed row decided, once its outcome is on Kafka.

        ``auth_due_by`` set: the decision waits for a manager's authorisation until then.
        """
        if auth_due_by is not None:
            self._oversee(key)
            self._db.execute(
                "UPDATE oversight SET auth_due_by = ?, auth_outcome_id = ?, auth_decision = NULL, "
                "auth_rationale = NULL, auth_by = NULL, auth_at = NULL "
                "WHERE area = ? AND message_id = ? AND child_index = ?",
                (_iso(auth_due_by), str(decided.outcome_id), *key.args()),
            )
        self._db.execute(
            "UPDATE items SET claim_id = NULL, claimed_at = NULL, outcome_id = ?, outcome = ?, "
            "rationale = ?, decided_by = ?, decided_at = ? "
            "WHERE area = ? AND message_id = ? AND child_index = ? AND claim_id = ?",
            (
                str(decided.outcome_id),
                decided.outcome.value,
                decided.rationale,
                decided.decided_by,
                _iso(decided.decided_at),
                *key.args(),
                str(claim_id),
            ),
        )

    # ------------------------------------------------------------------ managers
    def claim_authorisation(self, key: RowKey, claim_id: UUID, now: datetime) -> Claim:
        """Reserve a row awaiting authorisation for one manager's decision."""
        with self._transaction():
            row = self._db.execute(
                "SELECT (" + _AWAITING + "), claim_id, claimed_at FROM " + _FROM + " "  # noqa: S608 -- fixed fragments
                "WHERE i.area = ? AND i.message_id = ? AND i.child_index = ?",
                key.args(),
            ).fetchone()
            return self._take(key, row, claim_id, now)

    def authorise(self, key: RowKey, claim_id: UUID, done: Authorised) -> None:
        """Record a manager's authorisation; a return makes the row undecided again."""
        with self._transaction():
            if done.decision == "authorise":
                self._db.execute(
                    "UPDATE oversight SET auth_decision = ?, auth_rationale = ?, auth_by = ?, "
                    "auth_at = ? WHERE area = ? AND message_id = ? AND child_index = ?",
                    (
                        done.decision,
                        done.rationale,
                        done.decided_by,
                        _iso(done.decided_at),
                        *key.args(),
                    ),
                )
            else:
                self._db.execute(
                    "UPDATE oversight SET auth_due_by = NULL, auth_outcome_id = NULL, "
                    "returned_rationale = ?, returned_by = ?, returned_at = ? "
                    "WHERE area = ? AND message_id = ? AND child_index = ?",
                    (done.rationale, done.decided_by, _iso(done.decided_at), *key.args()),
                )
                self._db.execute(
                    "UPDATE items SET outcome_id = NULL, outcome = NULL, rationale = NULL, "
                    "decided_by = NULL, decided_at = NULL "
                    "WHERE area = ? AND message_id = ? AND child_index = ?",
                    key.args(),
                )
            self._db.execute(
                "UPDATE items SET claim_id = NULL, claimed_at = NULL "
                "WHERE area = ? AND message_id = ? AND child_index = ? AND claim_id = ?",
                (*key.args(), str(claim_id)),
            )

    def assign(self, key: RowKey, assignee: str | None) -> bool:
        """Assign a row to a practitioner (None: unassign); False when there is no such row."""
        exists = self._db.execute(
            "SELECT 1 FROM items WHERE area = ? AND message_id = ? AND child_index = ?",
            key.args(),
        ).fetchone()
        if exists is None:
            return False
        self._oversee(key)
        self._db.execute(
            "UPDATE oversight SET assigned_to = ? "
            "WHERE area = ? AND message_id = ? AND child_index = ?",
            (assignee, *key.args()),
        )
        return True

    def oversight(self, area: str, now: datetime) -> OversightFigures:
        """Drift in ``area``'s work: oldest undecided, overdue, awaiting, per practitioner."""
        undecided, oldest, overdue = self._db.execute(
            "SELECT count(*), min(routed_at), sum(due_by IS NOT NULL AND due_by < ?) "
            "FROM items WHERE area = ? AND decided_at IS NULL",
            (_iso(now), area),
        ).fetchone()
        awaiting, oldest_awaiting, awaiting_overdue = self._db.execute(
            "SELECT count(*), min(decided_at), sum(o.auth_due_by < ?) FROM " + _FROM + " "  # noqa: S608 -- fixed fragments
            "WHERE i.area = ? AND " + _AWAITING,
            (_iso(now), area),
        ).fetchone()
        people: dict[str, dict[str, int]] = {}
        for who, open_, late in self._db.execute(
            "SELECT o.assigned_to, count(*), sum(due_by IS NOT NULL AND due_by < ?) "
            "FROM " + _FROM + " WHERE i.area = ? AND decided_at IS NULL "
            "AND o.assigned_to IS NOT NULL GROUP BY o.assigned_to",
            (_iso(now), area),
        ):
            people.setdefault(str(who), {}).update(assigned_undecided=int(open_), overdue=int(late))
        for who, done, waiting in self._db.execute(
            "SELECT decided_by, count(*), sum(" + _AWAITING + ") FROM " + _FROM + " "  # noqa: S608 -- fixed fragments
            "WHERE i.area = ? AND decided_at IS NOT NULL GROUP BY decided_by",
            (area,),
        ):
            people.setdefault(str(who), {}).update(decided=int(done), awaiting=int(waiting))
        return OversightFigures(
            undecided=int(undecided),
            oldest_undecided_at=_parse(oldest),
            overdue=int(overdue or 0),
            awaiting_authorisation=int(awaiting),
            oldest_awaiting_at=_parse(oldest_awaiting),
            authorisation_overdue=int(awaiting_overdue or 0),
            by_practitioner=people,
        )

    def _oversee(self, key: RowKey) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO oversight (area, message_id, child_index) VALUES (?, ?, ?)",
            key.args(),
        )

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _where(area: str, status: Status) -> tuple[str, tuple[str, ...]]:
        clause = {
            Status.UNDECIDED: " AND decided_at IS NULL",
            Status.AWAITING_AUTHORISATION: " AND " + _AWAITING,
            # A decision is recorded, awaiting authorisation or not.
            Status.DECIDED: " AND decided_at IS NOT NULL",
            Status.ALL: "",
        }[status]
        return "i.area = ?" + clause, (area,)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


@dataclass(frozen=True)
class OversightFigures:
    """What a manager sees of an area's drift (:meth:`QueueStore.oversight`)."""

    undecided: int
    oldest_undecided_at: datetime | None
    overdue: int
    awaiting_authorisation: int
    oldest_awaiting_at: datetime | None
    authorisation_overdue: int
    by_practitioner: dict[str, dict[str, int]]


def _parse(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _item(row: tuple[object, ...]) -> QueueItem:
    (
        area,
        message_id,
        child_index,
        kind,
        partner,
        subject_key,
        received_at,
        routed_at,
        due_by,
        routed,
        outcome_id,
        outcome,
        rationale,
        decided_by,
        decided_at,
        partition,
        *oversight,
    ) = row
    decided = None
    if decided_at is not None:
        decided = Decided(
            outcome_id=UUID(str(outcome_id)),
            outcome=Outcome(str(outcome)),
            rationale=str(rationale),
            decided_by=str(decided_by),
            decided_at=datetime.fromisoformat(str(decided_at)),
        )
    return QueueItem(
        area=str(area),
        message_id=UUID(str(message_id)),
        child_index=int(str(child_index)),
        kind=str(kind),
        partner=str(partner),
        subject_key=str(subject_key),
        received_at=datetime.fromisoformat(str(received_at)),
        routed_at=datetime.fromisoformat(str(routed_at)),
        due_by=None if due_by is None else datetime.fromisoformat(str(due_by)),
        routed_json=str(routed),
        decided=decided,
        partition=int(str(partition)),
        oversight=_oversight(oversight),
    )


def _oversight(values: list[object]) -> Oversight:
    assigned, due, decision, rationale, by, at, r_rationale, r_by, r_at = values
    text = [None if v is None else str(v) for v in (assigned, decision, rationale, by)]
    returned = [None if v is None else str(v) for v in (r_rationale, r_by)]
    return Oversight(
        assigned_to=text[0],
        auth_due_by=_parse(due),
        auth_decision=text[1],
        auth_rationale=text[2],
        auth_by=text[3],
        auth_at=_parse(at),
        returned_rationale=returned[0],
        returned_by=returned[1],
        returned_at=_parse(r_at),
    )
