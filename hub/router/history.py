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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from json.encoder import encode_basestring_ascii as _text
from operator import attrgetter
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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_us(at: datetime) -> int:
    """``at`` as whole microseconds since the epoch: exact, and cheap to compare.

    Aware datetimes from pydantic carry their own ``tzinfo`` objects, so comparing two
    costs two ``utcoffset`` calls; the router compares each shown contact's times with
    every message's, so a contact converts its times once (:attr:`Contact.received_us`).
    """
    return (at - _EPOCH) // _MICROSECOND


YEAR_US = YEAR // _MICROSECOND
QUARTER_US = QUARTER // _MICROSECOND
LINK_WINDOW_US = LINK_WINDOW // _MICROSECOND

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


@dataclass(frozen=True)
class Contact:
    """One earlier message about the subject, with the teams' outcomes on it.

    ``people`` are the subject keys the contact is about (every child of the message,
    else its subject) and ``households`` the household keys of those people: the
    household view (:mod:`hub.router.household`) indexes contacts by both.
    ``outcomes`` are :class:`~schemas.chronology.ChronologyOutcome` objects as JSON.
    """

    message_id: str
    occurred_at: datetime
    kind: str
    partner: str
    level: str
    destinations: tuple[str, ...]
    received_at: datetime | None = None
    people: tuple[str, ...] = ()
    households: tuple[str, ...] = ()
    outcomes: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Serialise for the changelog."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "partner": self.partner,
            "level": self.level,
            "destinations": list(self.destinations),
        }
        if self.received_at is not None:
            data["received_at"] = self.received_at.isoformat()
        if self.people:
            data["people"] = list(self.people)
        if self.households:
            data["households"] = list(self.households)
        if self.outcomes:
            data["outcomes"] = list(self.outcomes)
        return data

    @cached_property
    def json_text(self) -> str:
        """:meth:`to_json` as compact JSON, made once: a state is written after each message.

        ``SubjectState.to_bytes`` joins these; the bytes are what ``json.dumps`` of the
        whole state writes (a test compares them). Written member by member, the strings
        escaped as ``json.dumps`` escapes them: a contact is made per message.
        """
        parts = [
            f'{{"message_id":{_text(self.message_id)}',
            f'"occurred_at":"{self.occurred_at.isoformat()}"',
            f'"kind":{_text(self.kind)}',
            f'"partner":{_text(self.partner)}',
            f'"level":{_text(self.level)}',
            f'"destinations":{_texts(self.destinations)}',
        ]
        if self.received_at is not None:
            parts.append(f'"received_at":"{self.received_at.isoformat()}"')
        if self.people:
            parts.append(f'"people":{_texts(self.people)}')
        if self.households:
            parts.append(f'"households":{_texts(self.households)}')
        if self.outcomes:
            parts.append(f'"outcomes":{json.dumps(list(self.outcomes), separators=(",", ":"))}')
        return ",".join(parts) + "}"

    @cached_property
    def chronology_entries(self) -> tuple[str, str]:
        """The contact's chronology entry as compact JSON: ``[household, same_child]``.

        Made once: a contact is shown in the chronology of every later message about
        its children and household, with one of the two relations (index it with the
        ``same_child`` flag). :func:`hub.router.chronology.chronology_json` joins these;
        a test compares its bytes with ``json.dumps`` of the whole.
        """
        fields = {
            "received_at": self.received.isoformat(),
            "partner": self.partner,
            "kind": self.kind,
            "risk_level": self.level,
            "destinations": list(self.destinations),
            "outcomes": list(self.outcomes),
        }
        rest = json.dumps(fields, separators=(",", ":"))[1:-1]
        head = f'{{"message_id":{json.dumps(self.message_id)},"relation":'
        return f'{head}"household",{rest}}}', f'{head}"same_child",{rest}}}'

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contact:
        """Read from the changelog (records written before chronologies still read)."""
        received = data.get("received_at")
        return cls(
            message_id=data["message_id"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            kind=data["kind"],
            partner=data["partner"],
            level=data["level"],
            destinations=tuple(data["destinations"]),
            received_at=datetime.fromisoformat(received) if received else None,
            people=tuple(data.get("people", ())),
            households=tuple(data.get("households", ())),
            outcomes=tuple(data.get("outcomes", ())),
        )

    @property
    def received(self) -> datetime:
        """When the hub received it (older records: when it occurred)."""
        return self.received_at or self.occurred_at

    @cached_property
    def received_us(self) -> int:
        """:attr:`received` as :func:`epoch_us`, made once (chronologies sort by it)."""
        return epoch_us(self.received)

    @cached_property
    def occurred_us(self) -> int:
        """``occurred_at`` as :func:`epoch_us`, made once (the history facts count by it)."""
        return epoch_us(self.occurred_at)

    def with_outcome(self, outcome: OutcomeRecorded) -> Contact:
        """This contact with a team outcome, or a manager's authorisation, added once."""
        if outcome.authorises is not None:
            return self._authorised(outcome)
        if any(o["outcome_id"] == str(outcome.outcome_id) for o in self.outcomes):
            return self
        entry = {
            "outcome_id": str(outcome.outcome_id),
            "area": outcome.area.value,
            "outcome": outcome.outcome.value,
            "rationale": outcome.rationale,
            "decided_by": outcome.decided_by,
            "decided_at": outcome.decided_at.isoformat(),
        }
        return replace(self, outcomes=(*self.outcomes, entry))

    def _authorised(self, outcome: OutcomeRecorded) -> Contact:
        target = str(outcome.authorises)
        authorisation = {
            "decision": outcome.authorisation,
            "rationale": outcome.rationale,
            "decided_by": outcome.decided_by,
            "decided_at": outcome.decided_at.isoformat(),
        }
        updated = tuple(
            {**o, "authorisation": authorisation}
            if o["outcome_id"] == target and o.get("area") == outcome.area.value
            else o
            for o in self.outcomes
        )
        return replace(self, outcomes=updated)


def _texts(values: Iterable[str]) -> str:
    """A list of strings as ``json.dumps`` writes it compactly."""
    return f"[{','.join(map(_text, values))}]"


def new_contact(meta: RoutingMetadata, destinations: Iterable[Area]) -> Contact:
    """The contact a routed message adds to its children's and household's history."""
    children = meta.children
    about = children or tuple(s for s in meta.subjects if s.subject_key == meta.subject_key)
    people = tuple(dict.fromkeys(s.subject_key for s in about))
    households = tuple(dict.fromkeys(s.household_key for s in about if s.household_key))
    return Contact(
        message_id=str(meta.message_id),
        occurred_at=meta.occurred_at,
        kind=meta.kind,
        partner=meta.partner.value,
        level=meta.risk.level.value,
        destinations=tuple(a.value for a in destinations),
        received_at=meta.received_at,
        people=people,
        households=households,
    )


@dataclass
class SubjectState:
    """Everything kept about one subject."""

    contacts: list[Contact] = field(default_factory=list)
    last_marac_at: datetime | None = None
    open_case_area: str | None = None

    def to_bytes(self) -> bytes:
        """Serialise for the changelog (compact JSON; each contact's text is reused)."""
        marac = self.last_marac_at.isoformat() if self.last_marac_at else None
        return (
            f'{{"v":1,"contacts":[{",".join(c.json_text for c in self.contacts)}],'
            f'"last_marac_at":{json.dumps(marac)},'
            f'"open_case_area":{json.dumps(self.open_case_area)}}}'
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

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store the states of several keys (a batch's writes)."""
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

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store the states of several keys."""
        self._data.update(items)

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

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store the states of several keys in one statement."""
        self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", items)

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
        # several times, and a busy subject recurs. Bounded.
        self._cache: OrderedDict[str, SubjectState] = OrderedDict()
        self._cache_size = cache_size
        # The batch's writes, written to the store in one statement at :meth:`flush` (a
        # subject written twice in a batch is written once). The store is only a cache of
        # the changelog, whose records are in the routing transaction: durability is as
        # before (a task's store is rebuilt from the changelog whenever it is opened).
        self._pending: dict[str, bytes] = {}

    def __len__(self) -> int:
        self._write_pending()
        return len(self._store)

    def state(self, subject_key: str) -> SubjectState:
        """The state of a subject (empty when unknown)."""
        cached = self._cache.get(subject_key)
        if cached is not None:
            self._cache.move_to_end(subject_key)
            return cached
        found = self._pending.get(subject_key)
        if found is None:
            found = self._store.get(subject_key)
        state = SubjectState() if found is None else SubjectState.from_bytes(found)
        self._remember(subject_key, state)
        return state

    def flush(self) -> None:
        """End a batch: write its states to the store and make them durable locally."""
        self._write_pending()
        self._store.flush()

    def _write_pending(self) -> None:
        if self._pending:
            self._store.put_many(self._pending.items())
            self._pending.clear()

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (a tombstone forgets the subject)."""
        subject = key.decode()
        self._cache.pop(subject, None)
        self._pending.pop(subject, None)
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
        """The summary the policy decides with, from the subject's own contacts."""
        state = self.state(meta.subject_key)
        return summarise(meta, state, state.contacts)

    def record(self, meta: RoutingMetadata, destinations: Iterable[Area]) -> bytes:
        """Add a routed message to its subject's history; return the changelog value."""
        return self.record_contact(meta, new_contact(meta, destinations))

    def record_contact(self, meta: RoutingMetadata, contact: Contact) -> bytes:
        """Add ``contact`` (of ``meta``) to its subject's history; return the changelog value."""
        state = self.state(meta.subject_key)
        cutoff = meta.occurred_at - YEAR
        contacts = [c for c in state.contacts if c.occurred_at >= cutoff]
        contacts.append(contact)
        contacts.sort(key=lambda c: c.occurred_at)
        marac = state.last_marac_at
        if Area.MARAC.value in contact.destinations and (marac is None or meta.occurred_at > marac):
            marac = meta.occurred_at
        updated = SubjectState(contacts[-MAX_CONTACTS:], marac, state.open_case_area)
        return self._put(meta.subject_key, updated)

    def apply_outcome(self, outcome: OutcomeRecorded) -> tuple[bytes | None, Contact | None]:
        """Add a team outcome to its contact, and open or close a case.

        Returns the changelog value if the state changed, and the updated contact if
        the message is still in the subject's history (for the household view).
        """
        state = self.state(outcome.subject_key)
        area = state.open_case_area
        if outcome.authorises is None and outcome.outcome is Outcome.OPEN_CASE:
            area = outcome.area.value
        elif outcome.authorises is None and outcome.outcome is Outcome.CASE_CLOSED:
            area = None
        target = str(outcome.message_id)
        contacts = list(state.contacts)
        found = None
        for i, c in enumerate(contacts):
            if c.message_id == target:
                found = c.with_outcome(outcome)
                changed = found != c
                contacts[i] = found
                break
        else:
            changed = False
        if area == state.open_case_area and not changed:
            return None, found
        updated = SubjectState(contacts, state.last_marac_at, area)
        return self._put(outcome.subject_key, updated), found

    def _put(self, subject: str, state: SubjectState) -> bytes:
        value = state.to_bytes()
        self._pending[subject] = value
        self._remember(subject, state)
        return value


def summarise(
    meta: RoutingMetadata, state: SubjectState, contacts: Sequence[Contact]
) -> HistorySummary:
    """The policy's history facts, counting this message in.

    ``contacts`` are the chronology's contacts about the message's own children (the
    same list the practitioner sees); the case and MARAC state are the subject's.
    """
    now = epoch_us(meta.occurred_at)
    recent = [c for c in contacts if now - c.occurred_us <= YEAR_US]
    by_partner: dict[Partner, int] = {}
    by_kind: dict[str, int] = {}
    for c in recent:
        partner = _PARTNERS.get(c.partner) or Partner(c.partner)
        by_partner[partner] = by_partner.get(partner, 0) + 1
        by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
    da = sum(1 for c in recent if c.kind in _DA_KINDS) + (meta.kind in _DA_KINDS)
    low = sum(
        1 for c in recent if now - c.occurred_us <= QUARTER_US and c.level == RiskLevel.STANDARD
    ) + (meta.risk.level is RiskLevel.STANDARD)
    last = max(contacts, key=_OCCURRED_US, default=None)
    # Built without validation: every value is a count or the router's own (validated)
    # state, of the field's type (tests/unit/router/test_history_fast.py compares).
    return HistorySummary.trusted(
        {
            "contacts_12m": len(recent) + 1,
            "contacts_by_partner_12m": by_partner,
            "contacts_by_kind_12m": by_kind,
            "da_incidents_12m": da,
            "low_level_3m": low,
            "last_marac_referral_at": state.last_marac_at,
            "open_case": state.open_case_area is not None,
            "open_case_area": _area(state.open_case_area) if state.open_case_area else None,
            "last_destinations": tuple(map(_area, last.destinations)) if last else (),
            "last_contact_at": last.occurred_at if last else None,
            "linked_message_id": _link(contacts, meta),
        }
    )


_PARTNERS = {p.value: p for p in Partner}
_OCCURRED_US = attrgetter("occurred_us")
_AREAS = {a.value: a for a in Area}


def _area(value: str) -> Area:
    """``Area(value)`` by a dict look-up (an unknown value still raises as before)."""
    return _AREAS.get(value) or Area(value)


def _link(contacts: Sequence[Contact], meta: RoutingMetadata) -> UUID | None:
    family = incident_family(meta.kind)
    at = epoch_us(meta.occurred_at)
    candidates = [
        c
        for c in contacts
        if c.partner != meta.partner.value
        and incident_family(c.kind) == family
        and abs(c.occurred_us - at) <= LINK_WINDOW_US
    ]
    if not candidates:
        return None
    first = min(candidates, key=lambda c: abs(c.occurred_us - at))
    return UUID(first.message_id)
