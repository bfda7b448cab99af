"""The replay and forged-outcome attacks against the real router on the real broker.

The in-process tests (test_replay.py, test_outcomes.py) show the handler's rules; these
show the service keeps them: routed ids restored from ``hub.routed-ids`` after a
restart, the partition a record really sits in checked against its MAC, and a forged
outcome dead-lettered with the signature-failure class.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.bootstrap.ingest import sealer_for
from hub.settings import KafkaSettings, RouterSettings
from schemas.common import Area, RiskLevel
from schemas.decision import DecisionRecorded
from schemas.envelope import Envelope
from schemas.outcome import Outcome
from tests.factories import envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, produce_raw, read_topic, running_router
from tests.security.kit import outcome_from

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def about_the_child() -> Envelope:
    return envelope(subjects=[subject(label="the-child")], risk=risk(RiskLevel.HIGH))


def restarted(hub: Hub, tmp: Path) -> Hub:
    """The same hub with an empty local state: everything must come back from Kafka."""
    router = RouterSettings(state_dir=tmp / "router-2")
    return Hub(hub.settings.model_copy(update={"router": router}))


def dead_letter_classes(records: list[object]) -> list[str]:
    return sorted(dict(r.headers)["hub.dlq.error.class"].decode() for r in records)  # type: ignore[attr-defined]


class TestReplayOnTheBroker:
    async def test_a_routed_record_replayed_after_a_restart_is_never_routed_again(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Same partition, another partition, no key: one decision, three dead letters."""
        hub = hub_for(hub_topics, tmp_path)
        env = about_the_child()
        async with running_router(hub):
            await produce(hub, [env])
            await read_topic(hub_topics, "hub.decisions", expected=1)
        rec = sealer_for(hub, env.partner).encode(env)
        async with running_router(restarted(hub, tmp_path)):
            headers = list(rec.headers)
            await produce_raw(hub_topics, rec.topic, rec.value, rec.key, headers, rec.partition)
            other = (rec.partition + 1) % 6
            await produce_raw(hub_topics, rec.topic, rec.value, rec.key, headers, other)
            await produce_raw(hub_topics, rec.topic, rec.value, None, headers, rec.partition)
            dlq = await read_topic(hub_topics, "hub.dlq", expected=3)
        assert dead_letter_classes(dlq) == [
            "DuplicateMessageError",
            "SignatureError",
            "SignatureError",
        ]
        decisions = await read_topic(hub_topics, "hub.decisions", idle_s=1.0)
        ids = [DecisionRecorded.model_validate_json(r.value).message_id for r in decisions]
        assert ids == [env.message_id]


class TestForgedOutcomeOnTheBroker:
    async def test_a_housing_key_cannot_divert_a_mash_child(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """A forged MASH open_case on team.outcomes is dead-lettered; the child stays MASH's."""
        hub = hub_for(hub_topics, tmp_path)
        first, second = about_the_child(), about_the_child()
        partition = sealer_for(hub, first.partner).encode(first).partition
        forged = outcome_from(
            hub,
            signer_area=Area.HOUSING,
            area=Area.MASH,
            subject_key=first.subject_key,
            outcome=Outcome.OPEN_CASE,
            partition=partition,
        )
        async with running_router(hub):
            await produce(hub, [first])
            await read_topic(hub_topics, "hub.decisions", expected=1)
            assert forged.value is not None
            await produce_raw(
                hub_topics,
                "team.outcomes",
                forged.value,
                forged.key,
                list(forged.headers),
                partition,
            )
            dlq = await read_topic(hub_topics, "hub.dlq", expected=1)
            await produce(hub, [second])
            decisions = await read_topic(hub_topics, "hub.decisions", expected=2)
        assert dead_letter_classes(dlq) == ["SignatureError"]
        last = DecisionRecorded.model_validate_json(decisions[-1].value)
        assert last.message_id == second.message_id
        assert [a.value for a in last.destinations] == ["mash"]
