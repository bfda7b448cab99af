"""The monitor on the real broker: lag as Kafka's own tool reports it, age, status, metrics."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.broker.local import LocalBroker
from hub.kafka import TopicPartition, make_consumer, make_producer, started
from hub.monitor.collector import Collector, GroupTarget
from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.service import MonitorState
from hub.monitor.snapshot import GroupLag
from hub.monitor.testing import ManualClock
from hub.monitor.web import create_app
from hub.settings import BrokerSettings, KafkaSettings, MonitorSettings
from schemas.common import Area, ConsentStatus, Partner, RiskLevel, SubjectRole
from schemas.outcome import Outcome
from schemas.routed import MessageRouted
from tests.conftest import BOOTSTRAP, KAFKA_CLIENT
from tests.factories import consent, envelope, outcome_recorded, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic, running_router

LONDON = ZoneInfo("Europe/London")
TOOL = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


@pytest.fixture
async def collector(hub_topics: KafkaSettings) -> AsyncIterator[Collector]:
    async with Collector(hub_topics, MonitorSettings(window=3), LONDON) as c:
        yield c


def target(collector: Collector, area: Area) -> GroupTarget:
    return next(t for t in collector.targets if t.area is area)


async def group_lag(collector: Collector, area: Area, now: datetime | None = None) -> GroupLag:
    """The lag of ``area``'s team group as the collector samples it at ``now`` (default: now)."""
    return await collector.group_lag(target(collector, area), now or datetime.now(UTC))


async def produce_to(
    kafka: KafkaSettings,
    topic: str,
    count: int,
    *,
    partition: int | None = None,
    first_at: datetime | None = None,
) -> None:
    """Write ``count`` records, keyed to spread over partitions unless one is given.

    With ``first_at`` the records are stamped from then on, a second apart.
    """
    first_ms = None if first_at is None else int(first_at.timestamp() * 1000)
    producer = make_producer(kafka, "test-monitor")
    async with started(producer, "test producer"):
        futures = []
        for i in range(count):
            ts = None if first_ms is None else first_ms + i * 1000
            futures.append(
                await producer.send(
                    kafka.topic(topic),
                    f"record-{i}".encode(),
                    key=f"key-{i}".encode(),
                    partition=partition,
                    timestamp_ms=ts,
                )
            )
        await asyncio.gather(*futures)


async def commit(kafka: KafkaSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit offsets for a group without joining it (manual assignment)."""
    consumer = make_consumer(kafka, "test-committer", group_id=group)
    async with started(consumer, "test committer"):
        consumer.assign(list(offsets))
        await consumer.commit(offsets)


async def backlog(
    kafka: KafkaSettings,
    area: Area,
    count: int,
    committed: dict[int, int],
    *,
    partition: int | None = None,
    first_at: datetime | None = None,
) -> str:
    """``count`` records on ``area``'s queue, its team group committed at ``committed``.

    ``committed`` maps partitions to offsets; the queue's topic name is returned.
    """
    await produce_to(kafka, f"route.{area}", count, partition=partition, first_at=first_at)
    topic = kafka.topic(f"route.{area}")
    await commit(kafka, f"team-{area}", {TopicPartition(topic, p): o for p, o in committed.items()})
    return topic


def kafka_tool_lag(group: str) -> dict[tuple[str, int], int | None]:
    """LAG per partition, as Kafka's own kafka-consumer-groups --describe prints it."""
    java = shutil.which("java")
    assert java, "the broker's JDK runs Kafka's tools"
    libs = LocalBroker(BrokerSettings()).libs_dir()
    assert libs.is_dir(), f"no Kafka jars at {libs}: ./dev test installs them"
    command = [java, "-cp", f"{libs}/*", TOOL, "--bootstrap-server", BOOTSTRAP]
    if KAFKA_CLIENT.get("security_protocol", "PLAINTEXT").startswith("SASL"):
        # The test command's broker runs with SASL: the tool logs in as the admin too.
        config = Path(tempfile.mkdtemp()) / "admin.properties"
        config.write_text(
            f"security.protocol={KAFKA_CLIENT['security_protocol']}\n"
            f"sasl.mechanism={KAFKA_CLIENT.get('sasl_mechanism', 'SCRAM-SHA-256')}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{KAFKA_CLIENT["username"]}" password="{KAFKA_CLIENT["password"]}";\n'
        )
        config.chmod(0o600)
        command += ["--command-config", str(config)]
    done = subprocess.run(
        [*command, "--describe", "--group", group],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    header = next(cols for cols in lines if cols[:3] == ["GROUP", "TOPIC", "PARTITION"])
    col = {name: i for i, name in enumerate(header)}
    found: dict[tuple[str, int], int | None] = {}
    for cols in lines:
        if cols[0] == group and len(cols) >= len(header) - 3:
            lag = cols[col["LAG"]]
            found[(cols[col["TOPIC"]], int(cols[col["PARTITION"]]))] = (
                None if lag == "-" else int(lag)
            )
    return found


def our_lag(group: GroupLag) -> dict[tuple[str, int], int | None]:
    return {
        (p.topic, p.partition): p.lag if p.committed is not None else None for p in group.partitions
    }


class TestLagAgreesWithKafka:
    async def test_lag_per_partition_equals_consumer_group_command(
        self, hub_topics: KafkaSettings, collector: Collector
    ) -> None:
        """Lag per partition is exactly the LAG column of kafka-consumer-groups --describe."""
        topic = await backlog(hub_topics, Area.MASH, 40, {0: 3, 1: 1})  # partition 2: none
        group = await group_lag(collector, Area.MASH)
        tool = await asyncio.to_thread(kafka_tool_lag, hub_topics.group("team-mash"))

        assert group.group == hub_topics.group("team-mash")
        assert tool == {k: v for k, v in our_lag(group).items() if v is not None}
        assert set(tool) == {(topic, 0), (topic, 1)}
        ends = {p.partition: p.log_end for p in group.partitions}
        assert sum(ends.values()) == 40
        by_partition = {p.partition: p for p in group.partitions}
        assert by_partition[0].lag == ends[0] - 3
        assert by_partition[1].lag == ends[1] - 1
        assert by_partition[2].committed is None
        assert by_partition[2].lag == ends[2]  # never committed: counted from the log start
        assert group.lag == sum(p.lag for p in group.partitions)

    async def test_a_transaction_marker_is_lag_to_kafka_but_nothing_to_consume(
        self, hub_topics: KafkaSettings, collector: Collector
    ) -> None:
        """Committed at the marker after a transaction: LAG 1 as Kafka says, OK at no age."""
        topic = hub_topics.topic("route.early-help")
        producer = make_producer(hub_topics, "test-router", transactional_id="test-monitor-tx")
        async with started(producer, "test transactional producer"), producer.transaction():
            for i in range(3):
                await producer.send(topic, f"copy-{i}".encode(), partition=0)
        await commit(hub_topics, "team-early-help", {TopicPartition(topic, 0): 3})
        group = await group_lag(collector, Area.EARLY_HELP)
        tool = await asyncio.to_thread(kafka_tool_lag, hub_topics.group("team-early-help"))

        assert tool == {(topic, 0): 1}
        assert our_lag(group) == {(topic, 0): 1} | {(topic, p): None for p in range(1, 6)}
        assert group.lag_seconds == 0
        assert group.status is ConsumerStatus.OK


class TestLagInSeconds:
    async def test_age_of_the_oldest_unconsumed_record(
        self, hub_topics: KafkaSettings, collector: Collector
    ) -> None:
        """Lag in seconds is the age of the record at the committed offset."""
        two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
        await backlog(
            hub_topics, Area.MARAC, 10, {0: 4, 1: 0, 2: 0}, partition=0, first_at=two_hours_ago
        )
        now = datetime.now(UTC)
        group = await group_lag(collector, Area.MARAC, now)

        oldest = (now - two_hours_ago).total_seconds() - 4  # record 4 is 4 s younger
        assert group.lag == 6
        assert group.lag_seconds == pytest.approx(oldest, abs=5)
        assert 7150 < group.lag_seconds < 7250
        quiet = [p for p in group.partitions if p.partition != 0]
        assert all(p.lag == 0 and p.lag_seconds == 0 for p in quiet)

    async def test_no_lag_means_zero_seconds(
        self, hub_topics: KafkaSettings, collector: Collector
    ) -> None:
        """A group at the log end has no age, however old its records are."""
        yesterday = datetime.now(UTC) - timedelta(days=1)
        await backlog(hub_topics, Area.LADO, 5, {1: 5}, partition=1, first_at=yesterday)
        group = await group_lag(collector, Area.LADO)
        assert group.lag == 0
        assert group.lag_seconds == 0
        assert group.status is ConsumerStatus.OK


class TestConsumerStatus:
    async def test_a_paused_consumer_stalls_then_stops(self, hub_topics: KafkaSettings) -> None:
        """A member that committed and then stops committing while records arrive: STALL, STOP."""
        clock = ManualClock()
        topic = hub_topics.topic("route.housing")
        tp = TopicPartition(topic, 0)
        await produce_to(hub_topics, "route.housing", 6, partition=0)
        consumer = make_consumer(hub_topics, "test-team", "route.housing", group_id="team-housing")
        async with (
            Collector(hub_topics, MonitorSettings(window=3), LONDON, clock=clock) as collector,
            started(consumer, "test team consumer"),
        ):
            seen = 0
            async with asyncio.timeout(30):
                while seen < 6:
                    batch = await consumer.getmany(timeout_ms=500)
                    seen += sum(len(records) for records in batch.values())
            await consumer.commit({tp: 3})  # half-way through its backlog...
            housing = target(collector, Area.HOUSING)
            # ...and then it stays in the group (heartbeats) but commits nothing more.
            statuses = []
            for _ in range(4):
                group = await collector.group_lag(housing, clock())
                statuses.append(group.status)
                await produce_to(hub_topics, "route.housing", 2, partition=0)
                clock.advance(10)

        assert group.members == 1
        assert group.lag == 3 + 2 * 3
        assert statuses == [
            ConsumerStatus.OK,  # one sample says nothing yet
            ConsumerStatus.STALL,  # committed, unchanged, lag
            ConsumerStatus.STALL,
            ConsumerStatus.STOP,  # unchanged for longer than the window spans
        ]
        assert {p.topic for p in group.partitions} == {topic}

    async def test_a_group_without_members_and_lag_is_stopped(
        self, hub_topics: KafkaSettings, collector: Collector
    ) -> None:
        """Committed offsets but nobody in the group, and records waiting: STOP at once."""
        await backlog(hub_topics, Area.ENCOMPASS, 4, {0: 1}, partition=0)
        group = await group_lag(collector, Area.ENCOMPASS)
        assert group.members == 0
        assert group.status is ConsumerStatus.STOP

    async def test_an_unknown_group_is_notfound(self, collector: Collector) -> None:
        """A queue whose team group never existed is NOTFOUND, not an error."""
        group = await group_lag(collector, Area.ADULT_SERVICES)
        assert group.status is ConsumerStatus.NOTFOUND
        assert group.state == "Dead"


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


class TestMetricsEndpoint:
    async def test_metrics_expose_the_sampled_values(
        self, hub_topics: KafkaSettings, collector: Collector
    ) -> None:
        """/metrics shows the lag, age and status the collector sampled; the page and JSON too."""
        three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
        topic = await backlog(
            hub_topics, Area.DA_TRIAGE, 7, {2: 2}, partition=2, first_at=three_hours_ago
        )
        group_name = hub_topics.group("team-da-triage")
        state = MonitorState()
        state.record(await collector.sample())

        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
            metrics = await client.get("/metrics")
            page = await client.get("/")
            api = await client.get("/api/status")

        assert metrics.status_code == 200
        values = parse_metrics(metrics.text)
        where = frozenset({"group": group_name, "topic": topic, "partition": "2"}.items())
        assert values[("hub_consumer_lag_messages", where)] == 5
        assert values[("hub_consumer_committed_offset", where)] == 2
        by_topic = frozenset({"group": group_name, "topic": topic}.items())
        assert values[("hub_consumer_topic_lag_messages", by_topic)] == 5
        assert 3 * 3600 - 60 < values[("hub_consumer_lag_seconds", by_topic)] < 3 * 3600 + 60
        stop = frozenset({"group": group_name, "status": "STOP"}.items())
        assert values[("hub_consumer_status", stop)] == 4  # no members, lag waiting
        assert values[("hub_monitor_up", frozenset())] == 1
        assert values[("hub_dlq_messages", frozenset())] == 0
        assert ("hub_undecided_messages", frozenset({"area": "mash"}.items())) in values

        assert page.status_code == 200
        assert page.text.count("<svg") == 4
        assert "da-triage" in page.text
        assert api.status_code == 200
        groups = {g["name"]: g for g in api.json()["snapshot"]["groups"]}
        assert groups["team-da-triage"]["lag"] == 5


class TestScorecardFromTheRouter:
    async def test_flow_sla_and_quality_from_real_records(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Routed, decided, returned and kept-from-MASH figures come from the hub's own topics."""
        hub = hub_for(hub_topics, tmp_path)
        high = envelope(risk=risk(RiskLevel.HIGH))  # police, to mash
        adults = envelope(  # police, adults only: record-only, kept from the MASH
            "police.notification.domestic_abuse",
            [subject(SubjectRole.VICTIM, "v1"), subject(SubjectRole.PERSON_CAUSING_HARM, "p1")],
        )
        refused = envelope(  # housing without consent: returned
            "housing.duty_to_refer",
            [subject(SubjectRole.HOUSEHOLD_MEMBER, "h1")],
            consent=consent(ConsentStatus.REFUSED),
        )
        health = envelope("health.safeguarding_concern", [subject(label="c3")])  # early-help
        sent = [high, adults, refused, health]
        async with running_router(hub):
            await produce(hub, sent)
            await read_topic(hub_topics, "hub.decisions", expected=len(sent))
            mash = await read_topic(hub_topics, "route.mash", expected=1)
        routed = MessageRouted.model_validate_json(mash[0].value)
        await decide(hub_topics, routed, late=True)

        async with Collector(hub_topics, MonitorSettings(window=3), LONDON) as collector:
            snapshot = await collector.sample()
            router = next(g for g in snapshot.groups if g.area is None)
            tool = await asyncio.to_thread(kafka_tool_lag, router.group)

        card = snapshot.scorecard
        flows = {a.area: a for a in card.areas}
        partners = {p.partner: p for p in card.partners}
        assert card.caught_up
        assert flows[Area.MASH].undecided == 0
        assert flows[Area.MASH].decided == 1
        assert flows[Area.MASH].decided_late == 1
        assert flows[Area.MASH].sla_breaches == 1
        assert flows[Area.MASH].time_to_decision_p50_seconds is not None
        assert flows[Area.EARLY_HELP].undecided == 1
        assert card.police_messages == 2
        assert card.police_kept_from_mash == 1
        assert card.police_kept_from_mash_ratio == 0.5
        assert partners[Partner.HOUSING].returned == 1
        assert partners[Partner.HOUSING].returned_ratio == 1.0
        assert partners[Partner.HOUSING].top_returned_reasons
        assert partners[Partner.POLICE].quality_score_average == 100
        assert card.dlq_messages == 0
        # The router has read every inbound record; the outcome written after it stopped
        # is real lag, and with nobody left in the group that is a stop.
        assert tool == {k: v for k, v in our_lag(router).items() if v is not None}
        inbound = [p for p in router.partitions if ".inbound" in p.topic and p.committed]
        assert len(inbound) == len(sent)
        assert all(p.lag == 0 and p.lag_seconds == 0 for p in inbound)
        outcomes = hub_topics.topic("team.outcomes")
        assert router.topic_lag(outcomes) == 1
        assert 0 < router.topic_lag_seconds(outcomes) < 60
        assert router.status is ConsumerStatus.STOP  # the router has left: nobody reads it


async def decide(kafka: KafkaSettings, routed: MessageRouted, *, late: bool) -> None:
    """Record a team outcome for a routed copy, after its due time when ``late``."""
    assert routed.due_by is not None
    decided_at = routed.due_by + timedelta(minutes=5) if late else routed.decision.decided_at
    outcome = outcome_recorded(
        routed.message_id,
        routed.metadata.subject_key,
        Outcome.NO_FURTHER_ACTION,
        "Synthetic decision for the monitor test.",
        area=routed.area,
        decided_by="tester",
        decided_at=decided_at,
        routed_at=routed.decision.decided_at,
        due_by=routed.due_by,
    )
    producer = make_producer(kafka, "test-team")
    async with started(producer, "test outcome producer"):
        await producer.send_and_wait(
            kafka.topic("team.outcomes"),
            outcome.model_dump_json().encode(),
            key=routed.metadata.subject_key.encode(),
        )
