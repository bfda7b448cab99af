"""The household view across partitions, a restart and a rebalance, on the real broker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.bootstrap.teams import area_keys
from hub.kafka import partition_for
from hub.settings import KafkaSettings
from hub.teams.content import open_routed
from schemas.common import Area, RiskLevel
from schemas.envelope import Envelope
from schemas.routed import MessageRouted
from tests.factories import NOW, envelope, key, risk, subject
from tests.integration.routerkit import hub_for, read_topic, route_through_restart_and_rebalance

HOME = key("integration-household")


def concern(label: str, hours_ago: float) -> Envelope:
    return envelope(
        subjects=[subject(label=label, household_key=HOME)],
        risk=risk(RiskLevel.HIGH),
        received_at=NOW - timedelta(hours=hours_ago),
        occurred_at=NOW - timedelta(hours=hours_ago + 1),
        reported_at=NOW - timedelta(hours=hours_ago + 0.5),
    )


def siblings_on_two_partitions() -> tuple[str, str]:
    """Two children whose subject keys land on different partitions (as siblings do)."""
    child = "hh-child-a"
    for i in range(100):
        sibling = f"hh-child-b-{i}"
        if partition_for(key(child).encode(), 6) != partition_for(key(sibling).encode(), 6):
            return child, sibling
    raise AssertionError("no two partitions")


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_the_household_view_survives_restart_and_rebalance(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """The third message about a child sees both earlier ones and the sibling's, household."""
    hub = hub_for(hub_topics, tmp_path)
    child, sibling = siblings_on_two_partitions()
    first, other, second, third = (
        concern(child, 72),
        concern(sibling, 48),
        concern(child, 24),
        concern(child, 0),
    )
    # The restarted router reads the household view back from the topic; the second
    # process that joins it too reads the whole view before routing.
    await route_through_restart_and_rebalance(hub, [first, other], [second], [third])

    copies = [
        MessageRouted.model_validate_json(r.value)
        for r in await read_topic(hub_topics, "route.mash", expected=4)
    ]
    routed = next(c for c in copies if c.message_id == third.message_id)
    opened = open_routed(routed, area_keys(hub, (Area.MASH,))[Area.MASH])
    assert opened.chronology is not None
    rows = [(c.message_id, c.relation) for c in opened.chronology.contacts]
    assert rows == [
        (second.message_id, "same_child"),
        (other.message_id, "household"),
        (first.message_id, "same_child"),
    ]
    assert routed.decision.history.contacts_12m == 3
    records = await read_topic(hub_topics, "hub.household-history", idle_s=1.5)
    assert {r.key for r in records} == {
        str(e.message_id).encode() for e in (first, other, second, third)
    }
