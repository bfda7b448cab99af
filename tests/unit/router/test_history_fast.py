"""The history store's hot-path shortcuts change no byte and lose no write (issue 15).

A state's changelog value is joined from each contact's cached JSON: it must be the
bytes ``json.dumps`` of the whole state writes. A batch's states reach the SQLite file
in one statement at ``flush``: until then they must still be read back, and a store
rebuilt from the changelog must hold exactly what was written. The policy's history
summary is built without validation: it must equal the validated model, to the byte.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hub.router import history
from hub.router.history import Contact, HistoryStore, SubjectState
from hub.router.household import contact_value
from schemas.common import Area
from schemas.envelope import split_envelope
from schemas.history import HistorySummary
from tests.factories import NOW, envelope, subject

T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def _old_bytes(state: SubjectState) -> bytes:
    """What ``to_bytes`` wrote before contacts cached their JSON."""
    return json.dumps(
        {
            "v": 1,
            "contacts": [c.to_json() for c in state.contacts],
            "last_marac_at": state.last_marac_at.isoformat() if state.last_marac_at else None,
            "open_case_area": state.open_case_area,
        },
        separators=(",", ":"),
    ).encode()


def _contact(i: int, **extra: Any) -> Contact:
    return Contact(
        message_id=f"00000000-0000-4000-8000-{i:012d}",
        occurred_at=T0 + timedelta(hours=i),
        kind="police.notification.domestic_abuse",
        partner="police",
        level="standard",
        destinations=("mash", "early-help"),
        **extra,
    )


def test_state_bytes_are_json_dumps_of_the_state() -> None:
    outcome = {
        "outcome_id": "00000000-0000-4000-8000-000000000099",
        "area": "mash",
        "outcome": "open_case",
        "rationale": 'Zoë\'s "case" \u2014 opened\n\ttab \\ slash \U0001f600',
        "decided_by": "worker-1",
        "decided_at": T0.isoformat(),
    }
    states = [
        SubjectState(),
        SubjectState([_contact(1)]),
        SubjectState(
            [
                _contact(1, received_at=T0, people=("s-1", "s-2"), households=("h-1",)),
                _contact(2, outcomes=(outcome,)),
            ],
            last_marac_at=T0,
            open_case_area="mash",
        ),
        # Strings json.dumps must escape, in every member written from a string.
        SubjectState(
            [
                dataclasses.replace(
                    _contact(3, received_at=T0.astimezone(timezone(timedelta(hours=5)))),
                    message_id='Zoë "\\ \u2028',
                    kind="kind \x00\x1f \U0001f600",
                    partner="pärtner",
                    level="</script>",
                    destinations=("mash", 'é"'),
                    people=("\t", ""),
                    households=("\u00e9",),
                )
            ]
        ),
    ]
    for state in states:
        assert state.to_bytes() == _old_bytes(state)
        for c in state.contacts:  # the household-history value is the same text
            assert contact_value(c) == json.dumps(c.to_json(), separators=(",", ":")).encode()
        assert SubjectState.from_bytes(state.to_bytes()) == state
    # A contact changed by an outcome is a new object: its JSON is made again.
    changed = states[1].contacts[0]
    assert changed.json_text  # cached now
    updated = SubjectState([dataclasses.replace(changed, outcomes=(outcome,))])
    assert updated.to_bytes() == _old_bytes(updated)


def test_a_batchs_writes_are_read_back_before_flush_and_stored_at_flush(tmp_path: Path) -> None:
    sqlite = history.SqliteStateStore(tmp_path / "task.sqlite")
    store = HistoryStore(sqlite, cache_size=1)  # every other read misses the parsed cache
    metas = [
        split_envelope(envelope(subjects=[subject(label=f"child-{i}")], occurred_at=NOW))[0]
        for i in range(3)
    ]
    written = {m.subject_key: store.record(m, [Area.MASH]) for m in metas}
    assert sqlite.get(metas[0].subject_key) is None  # not yet in the file
    for meta in metas:  # evicted from the cache, read from the batch's pending writes
        assert store.state(meta.subject_key).contacts[0].message_id == str(meta.message_id)
    second = store.record(metas[0], [Area.MARAC])  # written twice in the batch
    assert len(store) == 3
    store.flush()
    assert sqlite.get(metas[0].subject_key) == second
    assert sqlite.get(metas[1].subject_key) == written[metas[1].subject_key]
    # A store rebuilt from the changelog values holds the same states.
    rebuilt = HistoryStore(history.MemoryStateStore())
    for key, value in [*written.items(), (metas[0].subject_key, second)]:
        rebuilt.restore(key.encode(), value)
    rebuilt.flush()
    for meta in metas:
        assert rebuilt.state(meta.subject_key) == HistoryStore(sqlite).state(meta.subject_key)


def test_a_restored_record_replaces_a_pending_write(tmp_path: Path) -> None:
    sqlite = history.SqliteStateStore(tmp_path / "task.sqlite")
    store = HistoryStore(sqlite)
    meta = split_envelope(envelope(occurred_at=NOW))[0]
    store.record(meta, [Area.MASH])
    store.restore(meta.subject_key.encode(), None)  # a tombstone from the changelog
    store.flush()
    assert sqlite.get(meta.subject_key) is None
    assert store.state(meta.subject_key) == SubjectState()


def test_summary_without_validation_is_the_validated_model() -> None:
    child = subject(label="summary-child")
    store = HistoryStore()
    for days in (200, 60, 30, 1):
        meta = split_envelope(envelope(subjects=[child], occurred_at=NOW - timedelta(days=days)))[0]
        store.record(meta, [Area.MASH, Area.MARAC])
    meta = split_envelope(envelope(subjects=[child], occurred_at=NOW))[0]
    state = store.state(meta.subject_key)
    for contacts in (state.contacts, []):
        fast = history.summarise(meta, state, contacts)
        validated = HistorySummary.model_validate(fast.model_dump())
        assert fast == validated
        assert fast.model_dump_json() == validated.model_dump_json()
        assert type(fast.contacts_by_partner_12m) is dict
