"""The foundation against the real broker: produce/consume, topics as code, offsets."""

from __future__ import annotations

import asyncio
import dataclasses

from hub.broker.topics import TopicSpec, apply_topics
from hub.kafka import KafkaAdmin, TopicPartition, make_consumer, make_producer, started
from hub.settings import KafkaSettings


async def consume_all(
    settings: KafkaSettings, topic: str, expected: int, group: str
) -> list[bytes]:
    consumer = make_consumer(settings, "test", topic, group_id=group)
    values: list[bytes] = []
    async with started(consumer, "test consumer"):
        async with asyncio.timeout(30):
            while len(values) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    values.extend(r.value for r in records)
        await consumer.commit()
    return values


class TestProduceConsume:
    async def test_idempotent_acks_all_round_trip(self, hub_topics: KafkaSettings) -> None:
        """Records written with an idempotent acks=all producer are read back in order."""
        producer = make_producer(hub_topics, "test")
        assert producer._txn_manager is not None  # idempotence gives the producer an id
        assert producer._sender._acks == -1  # acks=all
        sent = [f"record-{i}".encode() for i in range(50)]
        async with started(producer, "test producer"):
            for value in sent:
                await producer.send_and_wait(hub_topics.topic("route.mash"), value, key=b"same-key")
        received = await consume_all(hub_topics, "route.mash", len(sent), "g-roundtrip")
        assert received == sent

    async def test_committed_offsets_are_read_back(self, hub_topics: KafkaSettings) -> None:
        """A group's committed offsets are visible through the admin API."""
        producer = make_producer(hub_topics, "test")
        async with started(producer, "test producer"):
            for i in range(12):
                await producer.send_and_wait(hub_topics.topic("hub.dlq"), b"x", key=str(i).encode())
        await consume_all(hub_topics, "hub.dlq", 12, "g-offsets")
        async with KafkaAdmin(hub_topics) as admin:
            offsets = await admin.committed_offsets(hub_topics.group("g-offsets"))
        assert offsets == {TopicPartition(hub_topics.topic("hub.dlq"), 0): 12}


class TestTopicsAsCode:
    async def test_apply_twice_gives_the_same_state(
        self, hub_topics: KafkaSettings, topic_specs: list[TopicSpec]
    ) -> None:
        """A second apply changes nothing and the cluster matches the file."""
        changes = await apply_topics(topic_specs, hub_topics)
        assert {c.action for c in changes} == {"unchanged"}
        async with KafkaAdmin(hub_topics) as admin:
            states = await admin.describe([hub_topics.topic(s.name) for s in topic_specs])
        for spec in topic_specs:
            state = states[hub_topics.topic(spec.name)]
            assert state.partitions == spec.partitions
            for key, value in spec.configs.items():
                assert state.configs[key] == value

    async def test_increased_partitions_and_changed_config_are_applied(
        self, hub_topics: KafkaSettings, topic_specs: list[TopicSpec]
    ) -> None:
        """Growing a topic and changing its retention take effect."""
        grown = [
            dataclasses.replace(
                s, partitions=s.partitions + 2, configs=s.configs | {"retention.ms": "3600000"}
            )
            if s.name == "route.lado"
            else s
            for s in topic_specs
        ]
        changes = {c.name: c for c in await apply_topics(grown, hub_topics)}
        assert changes["route.lado"].action == "updated"
        assert changes["route.mash"].action == "unchanged"
        async with KafkaAdmin(hub_topics) as admin:
            state = (await admin.describe([hub_topics.topic("route.lado")]))[
                hub_topics.topic("route.lado")
            ]
        lado = next(s for s in topic_specs if s.name == "route.lado")
        assert state.partitions == lado.partitions + 2
        assert state.configs["retention.ms"] == "3600000"
        again = {c.name: c.action for c in await apply_topics(grown, hub_topics)}
        assert again["route.lado"] == "unchanged"
