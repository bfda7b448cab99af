"""The Kafka side of the household view: read ``hub.household-history`` whole, and keep up.

:class:`HouseholdReader` assigns itself every partition of the topic (no consumer
group: every router process reads all of it, like a Kafka Streams GlobalKTable),
reads it ``read_committed`` to the end before the router joins its group
(:meth:`HouseholdReader.catch_up`), then tails it in the background
(:meth:`HouseholdReader.follow`). Each record is applied to the process's
:class:`~hub.router.household.HouseholdView`; contacts older than a year are pruned
once an hour.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer

from hub.errors import KafkaError
from hub.kafka import kafka_errors, make_consumer, partitions_of
from hub.router.household import HouseholdView
from hub.settings import KafkaSettings
from hub.topology import HOUSEHOLD_HISTORY

log = structlog.get_logger("hub.router.globaltable")

PRUNE_EVERY_S = 3600.0


class HouseholdReader:
    """Feeds one process's household view from ``hub.household-history``."""

    def __init__(self, kafka: KafkaSettings, client_id: str, view: HouseholdView) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._view = view
        self._consumer: AIOKafkaConsumer | None = None
        self._pruned_at = time.monotonic()

    async def catch_up(self, timeout_s: float = 120.0) -> None:
        """Assign every partition and read to the current end (before routing starts)."""
        consumer = make_consumer(self._kafka, self._client_id, read_committed=True)
        with kafka_errors("starting the household reader"):
            await consumer.start()
        self._consumer = consumer
        topic = self._kafka.topic(HOUSEHOLD_HISTORY)
        tps = await partitions_of(consumer, [topic])
        if not tps:
            raise KafkaError(f"{HOUSEHOLD_HISTORY} has no partitions: run `hub topics apply`")
        with kafka_errors("reading the household view"):
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            pending = {tp for tp, end in ends.items() if end > 0}
            deadline = time.monotonic() + timeout_s
            while pending and time.monotonic() < deadline:
                await self._poll(200)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        if pending:
            raise KafkaError(f"household view did not reach the end of {len(pending)} partitions")
        pruned = self._view.prune(datetime.now(UTC))
        log.info("household_view_restored", contacts=len(self._view), pruned=pruned)

    async def follow(self, stop: asyncio.Event) -> None:
        """Apply new records until ``stop`` is set; transient errors are logged and retried."""
        while not stop.is_set():
            try:
                with kafka_errors("following the household view"):
                    await self._poll(500)
            except KafkaError as exc:
                log.warning("household_view_lagging", error=str(exc)[:300])
                await asyncio.sleep(1.0)
            if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                self._view.prune(datetime.now(UTC))

    async def stop(self) -> None:
        """Close the consumer."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _poll(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        for msgs in batch.values():
            for msg in msgs:
                if msg.key is not None:
                    self._view.restore(msg.key, msg.value)
