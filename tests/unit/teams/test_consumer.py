"""The FastStream shim: explicit acks, commit after store, retry on store failure, options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiokafka.errors as ak_errors
import pytest
from faststream.kafka import TestKafkaBroker
from faststream.middlewares import AckPolicy
from faststream.security import SASLScram256, SASLScram512
from pydantic import SecretStr

from hub.bootstrap import Hub
from hub.bootstrap.teams import copy_check
from hub.router.handler import OutRecord
from hub.settings import KafkaSettings
from hub.teams.consumer import TeamConsumer, broker_options
from hub.teams.intake import CopyCheck
from hub.teams.store import QueueStore
from hub.teams.testing import FakeOutcomePublisher
from schemas.common import Area, RiskLevel
from tests.factories import NOW, envelope, risk
from tests.unit.teams.teamkit import routed_copies, routed_values


@pytest.fixture
def store(tmp_path: Path) -> QueueStore:
    return QueueStore(tmp_path / "q.sqlite")


UNCHECKED = CopyCheck(None, sealed_only=False)
"""FastStream's test broker carries text headers only: MACs are checked with FakeMessage."""


def consumer(
    store: QueueStore,
    *areas: Area,
    check: CopyCheck = UNCHECKED,
    refusals: FakeOutcomePublisher | None = None,
) -> TeamConsumer:
    kafka = KafkaSettings(topic_prefix="t1.")
    return TeamConsumer(
        [(kafka, areas)], store, lambda: NOW, check=check, refusals=refusals, retry_s=0
    )


@dataclass
class Record:
    value: bytes | None
    partition: int = 0
    offset: int = 0
    topic: str = "t1.route.mash"
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def record_of(copy: OutRecord, offset: int = 0) -> Record:
    assert copy.partition is not None
    return Record(copy.value, copy.partition, offset, key=copy.key, headers=copy.headers)


@dataclass
class FakeMessage:
    """Stands in for FastStream's KafkaMessage: records acks and nacks."""

    raw_message: Record
    calls: list[str] = field(default_factory=list)
    commit_error: BaseException | None = None

    async def ack(self) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.calls.append("ack")

    async def nack(self) -> None:
        self.calls.append("nack")


class TestSubscription:
    def test_one_subscriber_per_area_with_explicit_acks(self, store: QueueStore) -> None:
        """Each area reads only route.<area> in group team-<area>, read_committed, MANUAL acks."""
        team = consumer(store, Area.MASH, Area.EARLY_HELP)
        subs: dict[tuple[str, ...], Any] = {
            tuple(s.topic_names): s  # type: ignore[attr-defined]
            for s in team.brokers[0].subscribers
        }
        assert set(subs) == {("t1.route.mash",), ("t1.route.early-help",)}
        for area in (Area.MASH, Area.EARLY_HELP):
            sub = subs[(f"t1.route.{area.value}",)]
            assert sub.group_id == f"t1.team-{area.value}"
            assert sub.ack_policy is AckPolicy.MANUAL
            args = sub._connection_args
            assert args["isolation_level"] == "read_committed"
            assert args["enable_auto_commit"] is False
            assert args["auto_offset_reset"] == "earliest"

    def test_consumer_only_and_no_topic_creation(self, store: QueueStore) -> None:
        """The broker makes no producer or admin client and never creates topics."""
        config = consumer(store, Area.MASH).brokers[0].config.broker_config
        assert config.consumer_only is True
        assert config.allow_auto_create_topics is False


class TestHandling:
    async def test_records_are_stored_through_faststream(self, hub: Hub, store: QueueStore) -> None:
        """A routed record published to the (in-memory) topic lands in the queue once."""
        env = envelope(risk=risk(RiskLevel.HIGH))
        value = routed_values(hub, env)["route.mash"][0]
        team = consumer(store, Area.MASH)
        async with TestKafkaBroker(team.brokers[0]) as broker:
            await broker.publish(value, "t1.route.mash")
            await broker.publish(value, "t1.route.mash")
            await broker.publish(b"not a routed message", "t1.route.mash")
        items, total = store.page("mash")
        assert total == 1
        assert items[0].message_id == env.message_id
        assert store.rejected_count() == 1

    async def test_commit_follows_the_store(self, hub: Hub, store: QueueStore) -> None:
        """A stored record is acked (its offset committed) after the row exists."""
        copy = routed_copies(hub, envelope(risk=risk(RiskLevel.HIGH)))["route.mash"][0]
        message = FakeMessage(record_of(copy, offset=3))
        team = consumer(store, Area.MASH, check=copy_check(hub, (Area.MASH,)))
        await team.handle(Area.MASH, message)  # type: ignore[arg-type]
        assert message.calls == ["ack"]
        assert store.page("mash")[1] == 1

    async def test_bad_records_are_set_aside_and_committed_past(self, store: QueueStore) -> None:
        """A record that can never be queued is noted locally and on hub.dlq, then skipped."""
        message = FakeMessage(Record(b"{}", offset=9))
        notes = FakeOutcomePublisher()
        team = consumer(store, Area.MASH, refusals=notes)
        await team.handle(Area.MASH, message)  # type: ignore[arg-type]
        assert message.calls == ["ack"]
        assert store.rejected_count() == 1
        assert notes.set_aside_notes == [(Area.MASH, 0, 9, "SchemaViolationError")]

    async def test_an_unacknowledged_note_is_retried(self, store: QueueStore) -> None:
        """If hub.dlq does not take the note, the record is read again, never skipped."""
        message = FakeMessage(Record(b"{}", offset=9))
        notes = FakeOutcomePublisher(fail=True)
        await consumer(store, Area.MASH, refusals=notes).handle(Area.MASH, message)  # type: ignore[arg-type]
        assert message.calls == ["nack"]

    async def test_a_store_failure_is_retried_not_skipped(self, hub: Hub, tmp_path: Path) -> None:
        """When the row cannot be written the record is nacked (seek back), never acked."""
        broken = QueueStore(tmp_path / "broken.sqlite")
        broken.close()
        value = routed_values(hub, envelope(risk=risk(RiskLevel.HIGH)))["route.mash"][0]
        message = FakeMessage(Record(value))
        await consumer(broken, Area.MASH).handle(Area.MASH, message)  # type: ignore[arg-type]
        assert message.calls == ["nack"]

    async def test_a_failed_commit_is_survived(self, hub: Hub, store: QueueStore) -> None:
        """A commit refused by a rebalance is logged; the row stays, redelivery is a duplicate."""
        value = routed_values(hub, envelope(risk=risk(RiskLevel.HIGH)))["route.mash"][0]
        message = FakeMessage(Record(value), commit_error=ak_errors.CommitFailedError("rebalance"))
        await consumer(store, Area.MASH).handle(Area.MASH, message)  # type: ignore[arg-type]
        assert store.page("mash")[1] == 1


class TestBrokerOptions:
    def test_plaintext(self) -> None:
        """Address, client id and timeout come from the same settings as every client."""
        options = broker_options(KafkaSettings(bootstrap_servers="k1:9092,k2:9092"), "teams-a")
        assert options == {
            "bootstrap_servers": "k1:9092,k2:9092",
            "client_id": "teams-a",
            "request_timeout_ms": 15_000,
            "security": None,
        }

    @pytest.mark.parametrize(
        ("protocol", "mechanism", "kind", "tls"),
        [
            ("SASL_PLAINTEXT", "SCRAM-SHA-256", SASLScram256, False),
            ("SASL_SSL", "SCRAM-SHA-512", SASLScram512, True),
        ],
    )
    def test_sasl_scram(self, protocol: str, mechanism: str, kind: type[Any], tls: bool) -> None:
        """SASL/SCRAM settings become FastStream's security object, TLS included."""
        settings = KafkaSettings(
            security_protocol=protocol,  # type: ignore[arg-type]
            sasl_mechanism=mechanism,  # type: ignore[arg-type]
            username="team-mash",
            password=SecretStr("synthetic-secret"),
        )
        security = broker_options(settings, "teams")["security"]
        assert isinstance(security, kind)
        assert security.username == "team-mash"
        assert security.password == "synthetic-secret"
        assert security.use_ssl is tls
        assert (security.ssl_context is not None) is tls


class TestLenientParser:
    async def test_raw_header_bytes_reach_the_handler_untouched(self) -> None:
        """FastStream parses a copy without undecodable headers; the MAC's bytes survive."""
        from aiokafka import ConsumerRecord  # noqa: PLC0415

        from hub.teams.consumer import lenient_parser  # noqa: PLC0415

        mac = bytes(range(200, 232))  # not UTF-8
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            "t1.route.mash", 2, 7, 0, 0, b"k", b"v", None, 1, 1,
            [("hub-key-id", b"k1"), ("hub-mac", mac)],
        )  # fmt: skip
        seen = []

        async def original(copy: ConsumerRecord[bytes, bytes]) -> Any:
            seen.append([name for name, _v in copy.headers])
            return FakeMessage(Record(copy.value))

        message = await lenient_parser(record, original)
        assert seen == [["hub-key-id"]]
        assert message.raw_message is record
        assert dict(record.headers)["hub-mac"] == mac
