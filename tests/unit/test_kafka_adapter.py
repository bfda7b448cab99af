"""The Kafka adapter: partitioning as Kafka's default, error translation."""

from __future__ import annotations

import aiokafka.errors as ak_errors
import pytest
from aiokafka.partitioner import DefaultPartitioner

from hub.errors import KafkaAuthorizationError, KafkaUnavailableError, ProducerFencedError
from hub.kafka import TXN_RETRY_BACKOFF_MS, kafka_errors, keyed_partitioner, make_producer
from hub.settings import KafkaSettings


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
