"""The Kafka adapter: partitioning as Kafka's default, error translation."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import aiokafka.errors as ak_errors
import pytest
from aiokafka.partitioner import DefaultPartitioner

from hub.errors import KafkaAuthorizationError, KafkaUnavailableError, ProducerFencedError
from hub.kafka import (
    TXN_RETRY_BACKOFF_MS,
    TopicPartition,
    kafka_errors,
    keyed_partitioner,
    make_producer,
    wait_until_read,
)
from hub.settings import KafkaSettings

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer


class TestPartitioner:
    @pytest.mark.parametrize("count", [1, 3, 6, 7])
    def test_same_partition_as_kafkas_default(self, count: int) -> None:
        """Cached partitioning puts every key where Kafka's default partitioner does."""
        partitions = list(range(count))
        for i in range(500):
            key = f"{i:064x}".encode()
            assert keyed_partitioner(key, partitions, partitions) == DefaultPartitioner()(
                key, partitions, partitions
            )

    def test_no_key_picks_an_available_partition(self) -> None:
        """Unkeyed records go to an available partition."""
        assert keyed_partitioner(None, [0, 1, 2], [2]) == 2


class TestErrorTranslation:
    @pytest.mark.parametrize(
        ("raised", "expected"),
        [
            (ak_errors.TopicAuthorizationFailedError, KafkaAuthorizationError),
            (ak_errors.KafkaConnectionError, KafkaUnavailableError),
            (ak_errors.RequestTimedOutError, KafkaUnavailableError),
            (ak_errors.ProducerFenced, ProducerFencedError),
        ],
    )
    def test_aiokafka_errors_become_hub_errors(
        self, raised: type[Exception], expected: type[Exception]
    ) -> None:
        """No aiokafka exception leaves the adapter."""
        with pytest.raises(expected), kafka_errors("testing"):
            raise raised()


class TestProducerSettings:
    async def test_transactions_retry_concurrent_transactions_soon(self) -> None:
        """A transactional producer retries after 10 ms, not aiokafka's 100 (back-to-back txns)."""
        settings = KafkaSettings(bootstrap_servers="127.0.0.1:1")
        transactional = make_producer(settings, "t", transactional_id="txn")
        plain = make_producer(settings, "p")
        try:
            assert transactional._sender._retry_backoff == TXN_RETRY_BACKOFF_MS / 1000
            assert plain._sender._retry_backoff == 0.1
        finally:
            await transactional.stop()
            await plain.stop()


class _TailedConsumer:
    """A consumer another task reads: each position asked is one record further on."""

    def __init__(self, ends: dict[TopicPartition, int], *, fail: bool = False) -> None:
        self.ends = ends
        self.positions = dict.fromkeys(ends, 0)
        self.fail = fail

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        if self.fail:
            raise ak_errors.KafkaConnectionError
        return {tp: self.ends[tp] for tp in partitions}

    async def position(self, tp: TopicPartition) -> int:
        at = self.positions[tp]
        self.positions[tp] = min(at + 1, self.ends[tp])
        return at


class TestWaitUntilRead:
    async def test_returns_once_every_partition_reached_its_end(self) -> None:
        """It waits for the tailing task to reach the end offsets of every partition."""
        consumer = _TailedConsumer({TopicPartition("t", 0): 3, TopicPartition("t", 1): 0})
        await wait_until_read(cast("AIOKafkaConsumer", consumer), "the ledger", poll_s=0)
        assert consumer.positions == {TopicPartition("t", 0): 3, TopicPartition("t", 1): 0}

    async def test_errors_name_the_reader(self) -> None:
        """A Kafka error says whose end offsets could not be read."""
        consumer = _TailedConsumer({TopicPartition("t", 0): 1}, fail=True)
        with pytest.raises(KafkaUnavailableError, match="reading the ledger's end offsets"):
            await wait_until_read(cast("AIOKafkaConsumer", consumer), "the ledger", poll_s=0)
