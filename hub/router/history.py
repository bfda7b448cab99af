"""Per-subject history: what the router knows about each child when it decides.

The router keeps, per subject key, the contacts of the last twelve months, the last
MARAC referral and whether a team holds an open case. The store is local to each
router task (one per partition number) and its changelog is the compacted
``hub.subject-history`` topic: every change is written there inside the routing
transaction, and a task rebuilds its store from its changelog partition when it is
assigned, after a restart or a rebalance. Memory is bounded: the store keeps its
states in a local SQLite file (:class:`SqliteStateStore`; the page cache is bounded),
contacts older than twelve months are dropped and at most :data:`MAX_CONTACTS` are
kept per subject. The file is only a cache: the changelog is the truth, and the file
is rebuilt from it on every assignment.

Duplicates across agencies: a message about the same subject from *another* partner,
of the same incident family, within :data:`LINK_WINDOW` of an earlier one, is linked
to it (``HistorySummary.linked_message_id``) so the team sees one incident, not two.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from schemas.common import Area, Partner, RiskLevel
from schemas.envelope import RoutingMetadata
from schemas.history import HistorySummary
from schemas.outcome import Outcome, OutcomeRecorded

YEAR = timedelta(days=365)
QUARTER = timedelta(days=91)
LINK_WINDOW = timedelta(hours=48)
MAX_CONTACTS = 200

_DA_KINDS = frozenset({"police.notification.domestic_abuse", "domestic_abuse.dash_assessment"})
_FAMILIES = {
    "police.notification.domestic_abuse": "domestic_abuse",
    "domestic_abuse.dash_assessment": "domestic_abuse",
    "police.notification.child_concern": "child_concern",
    "health.safeguarding_concern": "child_concern",
    "police.notification.missing_person": "missing",
}


def incident_family(kind: str) -> str:
    """Kinds that can describe the same incident share a family."""
    return _FAMILIES.get(kind, kind)


@dataclass
class Contact:
    """One earlier message about the subject."""

    message_id: str
    occurred_at: datetime
    kind: str
    partner: str
    level: str
    destinations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Serialise for the changelog."""
        return {
            "message_id": self.message_id,
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "partner": self.partner,
            "level": self.level,
            "destinations": list(self.destinations),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contact:
        """Read from the changelog."""
        return cls(
            message_id=data["message_id"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            kind=data["kind"],
            partner=data["partner"],
            level=data["level"],
            destinations=tuple(data["destinations"]),
        )


@dataclass
class SubjectState:
    """Everything kept about one subject."""

    contacts: list[Contact] = field(default_factory=list)
    last_marac_at: datetime | None = None
    open_case_area: str | None = None

    def to_bytes(self) -> bytes:
        """Serialise for the changelog."""
        return json.dumps(
            {
                "v": 1,
                "contacts": [c.to_json() for c in self.contacts],
                "last_marac_at": self.last_marac_at.isoformat() if self.last_marac_at else None,
                "open_case_area": self.open_case_area,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> SubjectState:
        """Read from the changelog."""
        raw = json.loads(data)
        last = raw.get("last_marac_at")
        return cls(
            contacts=[Contact.from_json(c) for c in raw.get("contacts", [])],
            last_marac_at=datetime.fromisoformat(last) if last else None,
            open_case_area=raw.get("open_case_area"),
        )

    def seen(self, message_id: UUID) -> bool:
        """Whether this message was already recorded (an exact replay)."""
        text = str(message_id)
        return any(c.message_id == text for c in self.contacts)


class StateStore(Protocol):
    """Where subject states live: a key-value map of subject key to state bytes."""

    def get(self, key: str) -> bytes | None:
        """The state of ``key``, or None."""
        ...

    def put(self, key: str, value: bytes) -> None:
        """Store the state of ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...

    def flush(self) -> None:
        """Make the writes so far durable in the store (a batch boundary)."""
        ...

    def __len__(self) -> int: ...


class MemoryStateStore:
    """A dict; for tests and small tools."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        """The state of ``key``, or None."""
        return self._data.get(key)

    def put(self, key: str, value: bytes) -> None:
        """Store the state of ``key``."""
        self._data[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._data.pop(key, None)

    def flush(self) -> None:
        """Nothing to do: a dict has no transactions."""

    def __len__(self) -> int:
        return len(self._data)


class SqliteStateStore:
    """A local SQLite file: bounded memory, rebuilt from the changelog when assigned.

    Durability settings are off on purpose: the changelog topic is the source of
    truth, and the file is recreated empty on every assignment.
    """

    def __init__(self, path: Path, cache_kib: int = 16_384) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        # Writes are grouped into one SQLite transaction per routing batch (flush).
        self._db = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        self._db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
        self._path = path

    def get(self, key: str) -> bytes | None:
        """The state of ``key``, or None."""
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, key: str, value: bytes) -> None:
        """Store the state of ``key``."""
        self._db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._db.execute("DELETE FROM state WHERE key = ?", (key,))

    def __len__(self) -> int:
        row = self._db.execute("SELECT count(*) FROM state").fetchone()
        return int(row[0])

    def flush(self) -> None:
        """End the current write transaction."""
        self._db.commit()

    def close(self) -> None:
        """Close and remove the file."""
        self._db.close()
        self._path.unlink(missing_ok=True)


class HistoryStore:
    """The history of the subjects of one router task, with its changelog entries."""

    def __init__(self, store: StateStore | None = None, cache_size: int = 4096) -> None:
        self._store: StateStore = store if store is not None else MemoryStateStore()
        # Parsed states of recently seen subjects: one message reads its subject's state
        # several times, and a busy subject recurs. Bounded, and always write-through.
        self._cache: OrderedDict[str, SubjectState] = OrderedDict()
        self._cache_size = cache_size

    def __len__(self) -> int:
        return len(self._store)

    def state(self, subject_key: str) -> SubjectState:
        """The state of a subject (empty when unknown)."""
        cached = self._cache.get(subject_key)
        if cached is not None:
            self._cache.move_to_end(subject_key)
            return cached
        found = self._store.get(subject_key)
        state = SubjectState() if found is None else SubjectState.from_bytes(found)
        self._remember(subject_key, state)
        return state

    def flush(self) -> None:
        """End a batch: make the store's writes so far durable locally."""
        self._store.flush()

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (a tombstone forgets the subject)."""
        subject = key.decode()
        self._cache.pop(subject, None)
        if value is None:
            self._store.delete(subject)
        else:
            self._store.put(subject, value)

    def _remember(self, subject: str, state: SubjectState) -> None:
        self._cache[subject] = state
        self._cache.move_to_end(subject)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def summary(self, meta: RoutingMetadata) -> HistorySummary:
        """The summary the policy decides with, counting this message in."""
        state = self.state(meta.subject_key)
        now = meta.occurred_at
        recent = [c for c in state.contacts if now - c.occurred_at <= YEAR]
        by_partner: dict[Partner, int] = {}
        by_kind: dict[str, int] = {}
        for c in recent:
            by_partner[Partner(c.partner)] = by_partner.get(Partner(c.partner), 0) + 1
            by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
        da = sum(1 for c in recent if c.kind in _DA_KINDS) + (meta.kind in _DA_KINDS)
        low = sum(
            1 for c in recent if now - c.occurred_at <= QUARTER and c.level == RiskLevel.STANDARD
        ) + (meta.risk.level is RiskLevel.STANDARD)
        last = max(state.contacts, key=lambda c: c.occurred_at, default=None)
        return HistorySummary(
            contacts_12m=len(recent) + 1,
            contacts_by_partner_12m=by_partner,
            contacts_by_kind_12m=by_kind,
            da_incidents_12m=da,
            low_level_3m=low,
            last_marac_referral_at=state.last_marac_at,
            open_case=state.open_case_area is not None,
            open_case_area=Area(state.open_case_area) if state.open_case_area else None,
            last_destinations=tuple(Area(d) for d in last.destinations) if last else (),
            last_contact_at=last.occurred_at if last else None,
            linked_message_id=self._link(state, meta),
        )

    @staticmethod
    def _link(state: SubjectState, meta: RoutingMetadata) -> UUID | None:
        family = incident_family(meta.kind)
        candidates = [
            c
            for c in state.contacts
            if c.partner != meta.partner.value
            and incident_family(c.kind) == family
            and abs(c.occurred_at - meta.occurred_at) <= LINK_WINDOW
        ]
        if not candidates:
            return None
        first = min(candidates, key=lambda c: abs(c.occurred_at - meta.occurred_at))
        return UUID(first.message_id)

    def record(self, meta: RoutingMetadata, destinations: Iterable[Area]) -> bytes:
        """Add a routed message to its subject's history; return the changelog value."""
        areas = tuple(a.value for a in destinations)
        state = self.state(meta.subject_key)
        cutoff = meta.occurred_at - YEAR
        contacts = [c for c in state.contacts if c.occurred_at >= cutoff]
        contacts.append(
            Contact(
                message_id=str(meta.message_id),
                occurred_at=meta.occurred_at,
                kind=meta.kind,
                partner=meta.partner.value,
                level=meta.risk.level.value,
                destinations=areas,
            )
        )
        contacts.sort(key=lambda c: c.occurred_at)
        marac = state.last_marac_at
        if Area.MARAC.value in areas and (marac is None or meta.occurred_at > marac):
            marac = meta.occurred_at
        updated = SubjectState(contacts[-MAX_CONTACTS:], marac, state.open_case_area)
        return self._put(meta.subject_key, updated)

    def apply_outcome(self, outcome: OutcomeRecorded) -> bytes | None:
        """Open or close a case from a team outcome; return the changelog value if changed."""
        state = self.state(outcome.subject_key)
        if outcome.outcome is Outcome.OPEN_CASE:
            area: str | None = outcome.area.value
        elif outcome.outcome is Outcome.CASE_CLOSED:
            area = None
        else:
            return None
        if area == state.open_case_area:
            return None
        updated = SubjectState(state.contacts, state.last_marac_at, area)
        return self._put(outcome.subject_key, updated)

    def _put(self, subject: str, state: SubjectState) -> bytes:
        value = state.to_bytes()
        self._store.put(subject, value)
        self._remember(subject, state)
        return value
