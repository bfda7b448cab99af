"""The router on the real broker: right areas only, decisions, DLQ, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.errors import DecryptionError
from hub.security import sealing
from hub.security.keys import Keyring, area_kek
from hub.settings import KafkaSettings
from schemas.common import Area, RiskLevel, SubjectRole
from schemas.decision import DecisionRecorded
from schemas.routed import MessageRouted
from tests.factories import envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, produce_raw, read_topic, running_router


def adults_only_low_risk() -> object:
    return envelope(
        "police.notification.domestic_abuse",
        [subject(SubjectRole.VICTIM, "v1"), subject(SubjectRole.PERSON_CAUSING_HARM, "p1")],
        risk=risk(RiskLevel.STANDARD),
    )


class TestRouting:
    async def test_messages_reach_the_right_areas_only(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Each inbound topic's messages reach exactly their areas; adults-only stays off MASH."""
        hub = hub_for(hub_topics, tmp_path)
        high = envelope(risk=risk(RiskLevel.HIGH))
        adults = adults_only_low_risk()
        da_child = envelope(
            "domestic_abuse.dash_assessment",
            [subject(SubjectRole.VICTIM, "v2"), subject(SubjectRole.CHILD, "c2", present=True)],
        )
        housing = envelope("housing.duty_to_refer", [subject(SubjectRole.HOUSEHOLD_MEMBER, "h1")])
        health = envelope("health.safeguarding_concern", [subject(label="c3")])
        sent = [high, adults, da_child, housing, health]
        async with running_router(hub):
            await produce(hub, sent)  # type: ignore[arg-type]
            decisions = await read_topic(hub_topics, "hub.decisions", expected=len(sent))
        by_id = {DecisionRecorded.model_validate_json(r.value).message_id: r for r in decisions}
        assert len(by_id) == len(sent) == len(decisions)
        expected = {
            high.message_id: {Area.MASH},
            adults.message_id: {Area.RECORD_ONLY},  # type: ignore[attr-defined]
            da_child.message_id: {Area.DA_TRIAGE},
            housing.message_id: {Area.HOUSING},
            health.message_id: {Area.EARLY_HELP},
        }
        for message_id, areas in expected.items():
            record = DecisionRecorded.model_validate_json(by_id[message_id].value)
            assert set(record.destinations) == areas
        for area in Area:
            routed = await read_topic(hub_topics, f"route.{area.value}", idle_s=1.0)
            ids = {MessageRouted.model_validate_json(r.value).message_id for r in routed}
            want = {m for m, areas in expected.items() if area in areas}
            assert ids == want, area
        mash = await read_topic(hub_topics, "route.mash", idle_s=0.5)
        assert adults.message_id not in {  # type: ignore[attr-defined]
            MessageRouted.model_validate_json(r.value).message_id for r in mash
        }

    async def test_routed_copy_opens_only_with_its_areas_key(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """The MASH copy decrypts with the MASH key and not with early help's."""
        hub = hub_for(hub_topics, tmp_path)
        message = envelope(risk=risk(RiskLevel.HIGH), narrative="Synthetic secret narrative")
        async with running_router(hub):
            await produce(hub, [message])
            routed = await read_topic(hub_topics, "route.mash", expected=1)
        assert b"Synthetic secret narrative" not in routed[0].value
        assert b"Testchild" not in routed[0].value
        copy = MessageRouted.model_validate_json(routed[0].value)
        assert copy.sealed is not None
        keys = Keyring(tmp_path / "keys")
        plain = sealing.decrypt_for(
            copy.sealed, copy.message_id, "area:mash", keys.secrets(area_kek(Area.MASH))
        )
        assert json.loads(plain)["narrative"] == "Synthetic secret narrative"
        with pytest.raises(DecryptionError):
            sealing.decrypt_for(
                copy.sealed,
                copy.message_id,
                "area:mash",
                keys.secrets(area_kek(Area.EARLY_HELP)),
            )

    async def test_poison_input_is_dead_lettered_and_routing_goes_on(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Undecodable, invalid and unsigned records go to the DLQ; good ones still route."""
        hub = hub_for(hub_topics, tmp_path)
        async with running_router(hub):
            await produce_raw(hub_topics, "partner.police.inbound", b"\xff\xfe not json")
            await produce_raw(hub_topics, "partner.health.inbound", b'{"metadata": {}}')
            good = envelope(risk=risk(RiskLevel.HIGH))
            await produce(hub, [good])
            dlq = await read_topic(hub_topics, "hub.dlq", expected=2)
            decisions = await read_topic(hub_topics, "hub.decisions", expected=1)
        assert len(dlq) == 2
        headers = [dict(r.headers) for r in dlq]
        assert {h["hub.dlq.error.class"] for h in headers} == {b"SignatureError"}
        assert {h["hub.dlq.topic"] for h in headers} == {
            b"partner.police.inbound",
            b"partner.health.inbound",
        }
        for h in headers:
            assert h["hub.dlq.offset"] == b"0"
            assert h["hub.dlq.error.text"]
        assert [DecisionRecorded.model_validate_json(r.value).message_id for r in decisions] == [
            good.message_id
        ]


class TestDeadLetters:
    async def test_schema_violations_and_unknown_kinds_are_dead_lettered(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Without signatures, each kind of bad record gets its own error class in the DLQ."""
        hub = hub_for(hub_topics, tmp_path, sign=False, encrypt=False)
        good = envelope(risk=risk(RiskLevel.HIGH))
        wrong_partner = envelope("health.safeguarding_concern")
        async with running_router(hub):
            await produce_raw(hub_topics, "partner.police.inbound", b"\xff\xfe")
            await produce_raw(hub_topics, "partner.police.inbound", b'{"metadata": {}}')
            await produce(hub, [wrong_partner])
            # The health message, re-sent on the police topic, claims the wrong partner.
            raw = await read_topic(hub_topics, "partner.health.inbound", expected=1)
            await produce_raw(hub_topics, "partner.police.inbound", raw[0].value, raw[0].key)
            await produce(hub, [good])
            await produce(hub, [good])  # an exact replay
            dlq = await read_topic(hub_topics, "hub.dlq", expected=4)
            decisions = await read_topic(hub_topics, "hub.decisions", expected=2)
        classes = sorted(dict(r.headers)["hub.dlq.error.class"].decode() for r in dlq)
        assert classes == [
            "DuplicateMessageError",
            "SchemaViolationError",
            "SchemaViolationError",
            "SchemaViolationError",
        ]
        texts = b" ".join(dict(r.headers)["hub.dlq.error.text"] for r in dlq)
        assert b"metadata.message_id" in texts
        assert b"came from police" in texts
        ids = sorted(
            str(DecisionRecorded.model_validate_json(r.value).message_id) for r in decisions
        )
        assert ids == sorted([str(good.message_id), str(wrong_partner.message_id)])


class TestMetrics:
    async def test_a_routed_batch_shows_in_the_histograms(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """After routing, the batch-size and latency histograms and per-area copies count it."""
        hub = hub_for(hub_topics, tmp_path)
        async with running_router(hub) as running:
            await produce(hub, [envelope(risk=risk(RiskLevel.HIGH))])
            await read_topic(hub_topics, "hub.decisions", expected=1)
            text = running.router.metrics.render().decode()
        assert "hub_router_batch_records_count 0.0" not in text
        assert "hub_router_transaction_duration_seconds_count" in text
        assert 'hub_router_routed_copies_total{area="mash"} 1.0' in text
        assert "hub_router_decisions_total 1.0" in text
