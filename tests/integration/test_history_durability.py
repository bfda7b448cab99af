"""History survives a router restart and a rebalance, and matches a recomputation."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from hub.router.handler import CHAIN_HEAD_KEY
from hub.router.history import SubjectState
from hub.settings import KafkaSettings
from schemas.common import Area
from schemas.decision import DecisionRecorded
from schemas.wire import MessageReceived
from tests.integration.routerkit import (
    hub_for,
    read_topic,
    route_through_restart_and_rebalance,
    traffic,
)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_history_survives_restart_and_rebalance(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """Each message saw every earlier one about its subject; the changelog equals a replay."""
    hub = hub_for(hub_topics, tmp_path)
    sent = traffic(1_200)  # 300 subjects, four messages each
    # The restarted router has a new process state, rebuilt from the changelog; then a
    # second router takes half of the tasks with their history.
    routed_by_b = await route_through_restart_and_rebalance(
        hub, sent[:400], sent[400:800], sent[800:]
    )
    assert routed_by_b > 0

    decisions = [
        DecisionRecorded.model_validate_json(r.value)
        for r in await read_topic(hub_topics, "hub.decisions", expected=len(sent))
    ]
    assert len(decisions) == len(sent)
    by_subject: dict[str, list[DecisionRecorded]] = collections.defaultdict(list)
    for d in decisions:
        by_subject[d.subject_key].append(d)
    for subject, records in by_subject.items():
        seen = sorted(r.history.contacts_12m for r in records)
        assert seen == list(range(1, len(records) + 1)), subject

    inbound = {}
    for topic in ("partner.police.inbound", "partner.health.inbound", "partner.housing.inbound"):
        for r in await read_topic(hub_topics, topic, idle_s=1.0):
            meta = MessageReceived.model_validate_json(r.value).metadata
            inbound[meta.message_id] = meta
    changelog: dict[bytes, bytes | None] = {}
    for r in await read_topic(hub_topics, "hub.subject-history", idle_s=1.5):
        if r.key != CHAIN_HEAD_KEY:
            changelog[r.key] = r.value
    assert set(changelog) == {s.encode() for s in by_subject}
    for subject, records in by_subject.items():
        value = changelog[subject.encode()]
        assert value is not None
        state = SubjectState.from_bytes(value)
        assert {c.message_id for c in state.contacts} == {str(r.message_id) for r in records}
        marac = [inbound[r.message_id].occurred_at for r in records if Area.MARAC in r.destinations]
        assert state.last_marac_at == (max(marac) if marac else None)
