"""The decision log: `hub audit verify` detects edits, removals and reordering; export."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from hub.audit import export_sharing, read_partitions, verify_log, write_export
from hub.broker.topics import TopicSpec, apply_topics
from hub.kafka import KafkaAdmin, make_producer, started
from hub.settings import KafkaSettings
from schemas.common import RiskLevel, SubjectRole
from tests.factories import NOW, envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic, running_router


async def routed_log(
    hub_topics: KafkaSettings, tmp_path: Path
) -> dict[int, list[tuple[int, bytes]]]:
    hub = hub_for(hub_topics, tmp_path)
    sent = [
        envelope(subjects=[subject(label="same-child")], risk=risk(RiskLevel.HIGH))
        for _ in range(4)
    ]
    sent += [
        envelope("police.notification.domestic_abuse", [subject(SubjectRole.VICTIM, f"a{i}")])
        for i in range(4)
    ]
    async with running_router(hub):
        await produce(hub, sent)
        await read_topic(hub_topics, "hub.decisions", expected=len(sent))
    return await read_partitions(hub_topics)


async def copy_log(
    base: KafkaSettings,
    specs: list[TopicSpec],
    log: dict[int, list[tuple[int, bytes]]],
    change: str,
) -> KafkaSettings:
    """Write the log to a fresh prefix with one record edited, removed or swapped."""
    kafka = base.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
    await apply_topics([s for s in specs if s.name == "hub.decisions"], kafka)
    partition, records = max(log.items(), key=lambda item: len(item[1]))
    values = [v for _o, v in records]
    assert len(values) >= 3
    if change == "edit":
        data = json.loads(values[1])
        data["destinations"] = ["record-only"]
        values[1] = json.dumps(data).encode()
    elif change == "remove":
        del values[1]
    elif change == "reorder":
        values[1], values[2] = values[2], values[1]
    producer = make_producer(kafka, "test-audit")
    async with started(producer, "audit copy"):
        for value in values:
            await producer.send_and_wait(kafka.topic("hub.decisions"), value, partition=partition)
    return kafka


class TestAudit:
    @pytest.mark.parametrize(
        ("change", "reason"),
        [("edit", "was edited"), ("remove", "does not follow"), ("reorder", "does not follow")],
    )
    async def test_tampering_is_detected(
        self,
        hub_topics: KafkaSettings,
        topic_specs: list[TopicSpec],
        tmp_path: Path,
        change: str,
        reason: str,
    ) -> None:
        """The real log verifies; a copy with one record changed names that record."""
        log = await routed_log(hub_topics, tmp_path)
        intact = await verify_log(hub_topics)
        assert intact.breaks == ()
        assert intact.records == 8
        kafka = await copy_log(hub_topics, topic_specs, log, change)
        try:
            report = await verify_log(kafka)
            assert len(report.breaks) == 1
            assert reason in report.breaks[0].reason
            assert report.breaks[0].offset == 1
        finally:
            async with KafkaAdmin(kafka) as admin:
                names = [n for n in await admin.list_topics() if n.startswith(kafka.topic_prefix)]
                await admin.delete_topics(names)

    async def test_export_is_the_information_sharing_record(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Every decision in the window: with whom, why, when, consent and lawful basis."""
        await routed_log(hub_topics, tmp_path)
        window = (NOW - timedelta(days=3650), NOW + timedelta(days=3650))
        rows = await export_sharing(hub_topics, *window)
        assert len(rows) == 8
        assert {"mash"} <= {a for r in rows for a in r["shared_with"]}
        assert all(r["why"] and r["lawful_basis"] and r["consent_status"] for r in rows)
        json_path, csv_path = write_export(rows, tmp_path / "out", "sharing")
        assert len(json.loads(json_path.read_text())) == 8
        lines = csv_path.read_text().splitlines()
        assert lines[0].startswith("decided_at,message_id,partner")
        assert len(lines) == 9
