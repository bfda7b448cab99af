"""The local queue: idempotent intake, order, claims and decisions, ciphertext at rest."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.bootstrap.teams import copy_check
from hub.errors import SchemaViolationError
from hub.teams.intake import CopyCheck, RoutedRecord, accept_routed, child_positions
from hub.teams.store import CLAIM_TIMEOUT, Claim, Decided, QueueStore, RowKey, Status
from schemas.common import Area, RiskLevel, SubjectRole
from schemas.envelope import Envelope
from schemas.outcome import Outcome
from tests.factories import NOW, envelope, risk, subject
from tests.unit.teams.teamkit import delivered, queue, routed_copies, routed_values


@pytest.fixture
def store(tmp_path: Path) -> QueueStore:
    return QueueStore(tmp_path / "teams.sqlite")


def high_risk(**kw: Any) -> Envelope:
    return envelope(risk=risk(RiskLevel.HIGH), **kw)


def da_with_two_school_children() -> Envelope:
    return envelope(
        "police.notification.domestic_abuse",
        [
            subject(SubjectRole.VICTIM, "v"),
            subject(label="c1", present=True, school_urn="100001"),
            subject(label="baby", age_years=1, present=True),
            subject(label="c2", age_years=12, present=True, school_urn="100002"),
        ],
    )


UNCHECKED = CopyCheck(None, sealed_only=False)
"""No authentication: these tests are about parsing (tests/security has the forgeries)."""


def decided(by: str = "alice") -> Decided:
    return Decided(uuid.uuid4(), Outcome.NO_FURTHER_ACTION, "Synthetic reason", by, NOW)


class TestIntake:
    def test_a_redelivered_record_is_stored_once(self, hub: Hub, store: QueueStore) -> None:
        """The same record at the same offset, delivered twice, is one row."""
        env = high_risk()
        record = delivered(routed_copies(hub, env)["route.mash"][0], offset=41)
        check = copy_check(hub, (Area.MASH,))
        assert accept_routed(store, Area.MASH, record, NOW, check) == (
            True,
            env.message_id,
        )
        assert accept_routed(store, Area.MASH, record, NOW, check)[0] is False
        assert store.page("mash")[1] == 1

    def test_a_replay_under_new_offsets_is_not_queued_again(
        self, hub: Hub, store: QueueStore
    ) -> None:
        """The same message at another offset is still one row: keyed by message and area."""
        env = high_risk()
        copy = routed_copies(hub, env)["route.mash"][0]
        check = copy_check(hub, (Area.MASH,))
        accept_routed(store, Area.MASH, delivered(copy, 1), NOW, check)
        again = accept_routed(store, Area.MASH, delivered(copy, 9), NOW, check)
        assert again[0] is False

    def test_each_encompass_notice_is_its_own_row(self, hub: Hub, store: QueueStore) -> None:
        """One row per notified child, keyed by the child's position; redelivery adds none."""
        env = da_with_two_school_children()
        copies = routed_copies(hub, env)["route.encompass"]
        check = copy_check(hub, (Area.ENCOMPASS,))
        assert len(copies) == 2
        for offset, copy in enumerate(copies):
            accept_routed(store, Area.ENCOMPASS, delivered(copy, offset), NOW, check)
        # A crash before the commit: both are delivered again.
        for offset, copy in enumerate(copies):
            result = accept_routed(store, Area.ENCOMPASS, delivered(copy, offset), NOW, check)
            assert result[0] is False
        items, total = store.page("encompass")
        assert total == 2
        assert sorted(i.child_index for i in items) == [1, 3]
        # Each copy names its own child: the row is the same whatever order they come in.
        assert sorted(child_positions(i.routed()) for i in items) == [(1,), (3,)]

    def test_a_record_for_another_area_is_refused(self, hub: Hub, store: QueueStore) -> None:
        """A MASH copy found on the early-help topic is never queued there (MACs aside)."""
        value = routed_values(hub, high_risk())["route.mash"][0]
        with pytest.raises(SchemaViolationError, match="area"):
            accept_routed(store, Area.EARLY_HELP, RoutedRecord(0, 0, value), NOW, UNCHECKED)

    @pytest.mark.parametrize("value", [None, b"", b"\xff not json", b'{"area": "mash"}'])
    def test_unreadable_records_are_refused_without_quoting_them(
        self, store: QueueStore, value: bytes | None
    ) -> None:
        """The error names a field, never the input."""
        with pytest.raises(SchemaViolationError) as caught:
            accept_routed(store, Area.MASH, RoutedRecord(0, 0, value), NOW, UNCHECKED)
        assert "not json" not in str(caught.value)

    def test_rejected_records_are_noted_by_position(self, store: QueueStore) -> None:
        """A record that can never be queued is counted, once per position."""
        error = SchemaViolationError("value: empty record")
        store.reject("mash", (1, 7), error, NOW)
        store.reject("mash", (1, 7), error, NOW)
        assert store.rejected_count() == 1

    def test_content_stays_sealed_at_rest(self, hub: Hub, tmp_path: Path) -> None:
        """Names and narrative never reach the queue file in clear."""
        store = QueueStore(tmp_path / "q.sqlite")
        env = high_risk(narrative="Synthetic narrative only the MASH may read")
        queue(store, hub, env, Area.MASH)
        store.close()
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("q.sqlite*"))
        assert b"Testchild" not in raw
        assert b"only the MASH may read" not in raw
        assert oct((tmp_path / "q.sqlite").stat().st_mode & 0o777) == "0o600"


class TestListing:
    def test_undecided_first_then_oldest_first(self, hub: Hub, store: QueueStore) -> None:
        """Listing order: undecided before decided, each oldest routed first."""
        envs = [high_risk() for _ in range(3)]
        for hours, env in zip((2, 1, 3), envs, strict=True):
            queue(store, hub, env, Area.MASH, now=NOW - timedelta(hours=hours))
        first = store.page("mash")[0][0]
        store.claim(first.key, claim := uuid.uuid4(), NOW)
        store.decide(first.key, claim, decided())
        items, total = store.page("mash", Status.ALL)
        assert total == 3
        ids = [i.message_id for i in items]
        assert ids == [envs[0].message_id, envs[1].message_id, envs[2].message_id]
        assert [i.decided is not None for i in items] == [False, False, True]
        assert store.page("mash", Status.UNDECIDED)[1] == 2
        assert store.page("mash", Status.DECIDED)[1] == 1
        assert store.counts() == {"mash": (2, 1)}

    def test_paging(self, hub: Hub, store: QueueStore) -> None:
        """Limit and offset page through the queue without overlap."""
        for _ in range(5):
            queue(store, hub, high_risk(), Area.MASH)
        first, total = store.page("mash", limit=3)
        second, _ = store.page("mash", limit=3, offset=3)
        assert total == 5
        assert len(first) == 3
        assert len(second) == 2
        assert not {i.message_id for i in first} & {i.message_id for i in second}

    def test_get_never_returns_another_areas_row(self, hub: Hub, store: QueueStore) -> None:
        """A message id of the MASH queue is not found in early help's."""
        env = high_risk()
        queue(store, hub, env, Area.MASH)
        assert store.get("mash", env.message_id) is not None
        assert store.get("early-help", env.message_id) is None


class TestClaims:
    def test_one_decision_per_row(self, hub: Hub, store: QueueStore) -> None:
        """A claimed row is busy for others; a decided one stays decided."""
        env = high_risk()
        queue(store, hub, env, Area.MASH)
        key = RowKey("mash", env.message_id)
        mine = uuid.uuid4()
        assert store.claim(key, mine, NOW) is Claim.CLAIMED
        assert store.claim(key, uuid.uuid4(), NOW) is Claim.BUSY
        store.decide(key, mine, decided())
        assert store.claim(key, uuid.uuid4(), NOW) is Claim.DECIDED
        item = store.get("mash", env.message_id)
        assert item is not None
        assert item.decided is not None
        assert item.decided.decided_by == "alice"

    def test_a_released_or_abandoned_claim_can_be_taken(self, hub: Hub, store: QueueStore) -> None:
        """After a failed write the row is free again; an old claim expires."""
        env = high_risk()
        queue(store, hub, env, Area.MASH)
        key = RowKey("mash", env.message_id)
        first = uuid.uuid4()
        store.claim(key, first, NOW)
        store.release(key, first)
        assert store.claim(key, uuid.uuid4(), NOW) is Claim.CLAIMED
        later = NOW + CLAIM_TIMEOUT + timedelta(seconds=1)
        assert store.claim(key, uuid.uuid4(), later) is Claim.CLAIMED

    def test_unknown_rows(self, store: QueueStore) -> None:
        """Claiming a row that does not exist says so."""
        assert store.claim(RowKey("mash", uuid.uuid4()), uuid.uuid4(), NOW) is Claim.MISSING

    def test_decide_needs_the_claim(self, hub: Hub, store: QueueStore) -> None:
        """A stale claimant cannot overwrite the decision of the one who holds the row."""
        env = high_risk()
        queue(store, hub, env, Area.MASH)
        key = RowKey("mash", env.message_id)
        store.claim(key, uuid.uuid4(), NOW)
        store.decide(key, uuid.uuid4(), decided("mallory"))
        item = store.get("mash", env.message_id)
        assert item is not None
        assert item.decided is None
