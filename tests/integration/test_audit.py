"""The decision log on the real broker: the router anchors its chains; verify and export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.audit import export_sharing, read_records, verify_log, write_export
from hub.bootstrap import Hub
from hub.broker.topics import TopicSpec, apply_topics
from hub.contracts.outputs import AuditVerification
from hub.kafka import KafkaAdmin, make_producer, started
from hub.security.keys import ROUTER_SIGNING
from hub.settings import KafkaSettings
from schemas.checkpoint import ChainCheckpointed
from schemas.common import RiskLevel, SubjectRole
from tests.factories import NOW, envelope, risk, subject
from tests.integration.routerkit import hub_cli, hub_for, produce, read_topic, running_router


def sent_messages() -> list[object]:
    sent = [
        envelope(subjects=[subject(label="same-child")], risk=risk(RiskLevel.HIGH))
        for _ in range(4)
    ]
    return sent + [
        envelope("police.notification.domestic_abuse", [subject(SubjectRole.VICTIM, f"a{i}")])
        for i in range(4)
    ]


async def routed_log(hub: Hub, checkpoint_every_s: float = 60.0) -> None:
    sent = sent_messages()
    async with running_router(hub, checkpoint_every_s=checkpoint_every_s):
        await produce(hub, sent)  # type: ignore[arg-type]
        await read_topic(hub.settings.kafka, "hub.decisions", expected=len(sent))


async def verify(hub: Hub, kafka: KafkaSettings | None = None) -> list[str]:
    keys = hub.keyring().public_keys(ROUTER_SIGNING)
    report = await verify_log(kafka or hub.settings.kafka, keys, now=datetime.now(UTC))
    return [str(f) for f in report.findings]


@contextlib.asynccontextmanager
async def copied_log(
    base: KafkaSettings, specs: list[TopicSpec], drop_tail_of: int | None = None
) -> AsyncIterator[KafkaSettings]:
    """The log and its checkpoints copied to a fresh prefix, deleted afterwards.

    With ``drop_tail_of``, that partition's last two decisions are left out of the copy.
    """
    kafka = base.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
    wanted = {"hub.decisions", "hub.audit-checkpoints"}
    await apply_topics([s for s in specs if s.name in wanted], kafka)
    try:
        producer = make_producer(kafka, "test-audit")
        async with started(producer, "audit copy"):
            for topic in sorted(wanted):
                for partition, records in (await read_records(base, topic)).items():
                    kept = records
                    if topic == "hub.decisions" and partition == drop_tail_of:
                        kept = records[:-2]
                    for _offset, value, headers in kept:
                        await producer.send_and_wait(
                            kafka.topic(topic), value, partition=partition, headers=list(headers)
                        )
        yield kafka
    finally:
        async with KafkaAdmin(kafka) as admin:
            names = [n for n in await admin.list_topics() if n.startswith(kafka.topic_prefix)]
            await admin.delete_topics(names)


class TestAnchoring:
    async def test_the_router_anchors_its_chains_and_verify_passes(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Stopping writes a signed checkpoint of every chain; the log verifies intact."""
        hub = hub_for(hub_topics, tmp_path)
        await routed_log(hub)
        assert await verify(hub) == []
        checkpoints = await read_records(hub_topics, "hub.audit-checkpoints")
        decisions = await read_records(hub_topics, "hub.decisions")
        for partition, records in decisions.items():
            if records:
                newest = ChainCheckpointed.model_validate_json(checkpoints[partition][-1][1])
                assert newest.count == len(records)
                assert newest.partition == partition

    async def test_a_running_router_checkpoints_each_interval(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """While it runs, a grown chain is checkpointed within the interval (not only at stop)."""
        hub = hub_for(hub_topics, tmp_path)
        sent = sent_messages()
        async with running_router(hub, checkpoint_every_s=1.0) as running:
            await produce(hub, sent)  # type: ignore[arg-type]
            await read_topic(hub_topics, "hub.decisions", expected=len(sent))
            found = await read_topic(hub_topics, "hub.audit-checkpoints", idle_s=3.0)
            assert found
            assert running.router.stats.checkpoints >= 1

    async def test_a_truncated_tail_fails_verify(
        self, hub_topics: KafkaSettings, topic_specs: list[TopicSpec], tmp_path: Path
    ) -> None:
        """The last records of a partition dropped: named, with partition and offset."""
        hub = hub_for(hub_topics, tmp_path)
        await routed_log(hub)
        decisions = await read_records(hub_topics, "hub.decisions")
        longest = max(decisions, key=lambda p: len(decisions[p]))
        async with copied_log(hub_topics, topic_specs, drop_tail_of=longest) as kafka:
            findings = await verify(hub, kafka)
        assert len(findings) == 1
        assert f"partition {longest} offset" in findings[0]
        assert "truncated" in findings[0]

    async def test_a_faithful_copy_verifies(
        self, hub_topics: KafkaSettings, topic_specs: list[TopicSpec], tmp_path: Path
    ) -> None:
        """The same records and checkpoints, copied: nothing to report."""
        hub = hub_for(hub_topics, tmp_path)
        await routed_log(hub)
        async with copied_log(hub_topics, topic_specs) as kafka:
            assert await verify(hub, kafka) == []

    async def test_verify_json_is_the_verdict_and_each_finding(
        self, hub_topics: KafkaSettings, topic_specs: list[TopicSpec], tmp_path: Path
    ) -> None:
        """`hub audit verify --json`: intact exits 0; a truncated copy exits 1 naming it."""
        hub = hub_for(hub_topics, tmp_path)
        await routed_log(hub)
        keys = {"HUB_CRYPTO__KEYS_DIR": str(hub.settings.crypto.keys_dir)}
        intact = await asyncio.to_thread(hub_cli, hub_topics, "audit", "verify", "--json", **keys)
        assert intact.returncode == 0, intact.stderr
        report = AuditVerification.model_validate_json(intact.stdout)
        assert (report.intact, report.records, report.findings) == (True, 8, [])
        decisions = await read_records(hub_topics, "hub.decisions")
        longest = max(decisions, key=lambda p: len(decisions[p]))
        async with copied_log(hub_topics, topic_specs, drop_tail_of=longest) as kafka:
            cut = await asyncio.to_thread(hub_cli, kafka, "audit", "verify", "--json", **keys)
        assert cut.returncode == 1
        found = AuditVerification.model_validate_json(cut.stdout)
        assert not found.intact
        assert [(f.kind, f.partition) for f in found.findings] == [("truncated", longest)]


class TestExport:
    async def test_export_is_the_information_sharing_record(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Every decision in the window: with whom, why, when, consent and lawful basis."""
        await routed_log(hub_for(hub_topics, tmp_path))
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
