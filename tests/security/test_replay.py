"""Replay: a message id is routed once, ever, whatever its partition, key or age (item 4).

Today's attack: the same signed inbound record re-published to another partition, or
with no key, was routed a second time; and the router's memory of routed ids was the
subject's history, bounded to 200 contacts and twelve months. Now the partition and
key are inside the record's MAC, the key must be the subject key, and every routed id
is kept on the compacted ``hub.routed-ids`` (never trimmed).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.router.handler import TaskState
from hub.router.history import MAX_CONTACTS, HistoryStore
from hub.topology import ROUTED_IDS
from schemas.common import RiskLevel
from schemas.envelope import Envelope
from tests.factories import envelope, risk, subject
from tests.records import inbound_record
from tests.security.kit import Router, dead_letter_class, hub_with_keys


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return hub_with_keys(tmp_path / "keys")


def about_the_child() -> Envelope:
    return envelope(subjects=[subject(label="the-child")], risk=risk(RiskLevel.HIGH))


class TestReplay:
    def test_the_same_record_on_another_partition_is_not_routed_again(self, hub: Hub) -> None:
        """Re-published to another partition, it reaches another task: its MAC fails there."""
        env = about_the_child()
        rec = inbound_record(hub, env)
        Router.for_envelope(hub, env).send(env)
        elsewhere = (rec.partition + 1) % 6
        replayed = dataclasses.replace(rec, partition=elsewhere, offset=5)
        out = Router.for_partition(hub, elsewhere).route(replayed)
        assert dead_letter_class(out) == "SignatureError"

    @pytest.mark.parametrize("key", [None, b"", b"0" * 64])
    def test_the_same_record_with_no_or_another_key_is_not_routed_again(
        self, hub: Hub, key: bytes | None
    ) -> None:
        """Re-published with no key (or another one) it may land anywhere: the MAC fails."""
        env = about_the_child()
        router = Router.for_envelope(hub, env)
        router.send(env)
        replayed = dataclasses.replace(inbound_record(hub, env), key=key, offset=5)
        assert dead_letter_class(router.route(replayed)) == "SignatureError"

    def test_an_exact_replay_is_not_routed_again(self, hub: Hub) -> None:
        """The same record on the same partition: the routed id is known."""
        env = about_the_child()
        router = Router.for_envelope(hub, env)
        assert "route.mash" in [o.topic for o in router.send(env)]
        assert dead_letter_class(router.send(env, offset=1)) == "DuplicateMessageError"

    def test_a_replay_after_the_history_was_trimmed_is_not_routed_again(self, hub: Hub) -> None:
        """After 200 more contacts the first is gone from history, but not from routed ids."""
        first = about_the_child()
        router = Router.for_envelope(hub, first)
        router.send(first)
        for offset in range(1, MAX_CONTACTS + 1):
            router.send(about_the_child(), offset)
        contacts = router.task.history.state(first.subject_key).contacts
        assert len(contacts) == MAX_CONTACTS
        assert str(first.message_id) not in {c.message_id for c in contacts}
        out = router.send(first, offset=MAX_CONTACTS + 1)
        assert dead_letter_class(out) == "DuplicateMessageError"

    def test_routed_ids_outlive_a_restart(self, hub: Hub) -> None:
        """A task rebuilt from hub.routed-ids (and an empty history) still refuses the replay."""
        env = about_the_child()
        router = Router.for_envelope(hub, env)
        written = [o for o in router.send(env) if o.topic == ROUTED_IDS]
        assert [o.partition for o in written] == [router.task.partition]
        restarted = dataclasses.replace(
            router, task=TaskState(router.task.partition, HistoryStore())
        )
        for record in written:
            assert record.key is not None
            restarted.task.routed.restore(record.key)
        assert dead_letter_class(restarted.send(env, offset=7)) == "DuplicateMessageError"
