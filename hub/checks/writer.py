"""All-or-nothing writes of agency-check records, in Kafka transactions.

One transactional producer per writer (``checks-<area>-<instance>`` for a team's
requests, ``check-answers-<partner>-<instance>`` for a partner's answers). A call
returns only once its records are committed; on any failure the transaction is
aborted, nothing of it is visible to ``read_committed`` readers, the producer is
rebuilt on the next call (fencing whatever was left open) and the caller gets
:class:`~hub.errors.KafkaUnavailableError`. Checks are few (a practitioner asks a
handful an hour), so one transaction per call is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from aiokafka import AIOKafkaProducer

from hub.errors import HubError, KafkaUnavailableError
from hub.kafka import kafka_errors, make_producer
from hub.settings import KafkaSettings

log = structlog.get_logger("hub.agency")


@dataclass(frozen=True)
class CheckRecord:
    """One record to write: logical topic, partition (its MAC names it), key, value, headers."""

    topic: str
    partition: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class CheckWriter(Protocol):
    """Where check records go (a fake in :mod:`hub.checks.testing`)."""

    async def start(self) -> None:
        """Connect."""

    async def stop(self) -> None:
        """Close."""

    async def write(self, records: Sequence[CheckRecord]) -> None:
        """Write ``records`` atomically; return once committed, or raise."""


class TransactionalCheckWriter:
    """A transactional, ``acks=all`` writer of check records."""

    def __init__(
        self, kafka: KafkaSettings, transactional_id: str, timeout_s: float = 20.0
    ) -> None:
        self._kafka = kafka
        self._txn_id = transactional_id
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Nothing to do until the first write (the producer connects then)."""

    async def stop(self) -> None:
        """Close the producer."""
        async with self._lock:
            await self._close()

    async def write(self, records: Sequence[CheckRecord]) -> None:
        """Write ``records`` in one transaction; raise KafkaUnavailableError if not committed."""
        if not records:
            return
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout_s):
                    producer = await self._ready()
                    with kafka_errors(f"writing checks as {self._txn_id}"):
                        async with producer.transaction():
                            for r in records:
                                await producer.send(
                                    self._kafka.topic(r.topic),
                                    r.value,
                                    key=r.key,
                                    headers=r.headers,
                                    partition=r.partition,
                                )
            except (HubError, TimeoutError) as exc:
                log.warning("check_write_failed", transactional_id=self._txn_id, error=str(exc))
                await self._close()
                raise KafkaUnavailableError("Kafka did not commit the checks") from exc

    async def _ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self._kafka, self._txn_id, transactional_id=self._txn_id)
            with kafka_errors(f"starting producer {self._txn_id}"):
                await producer.start()
            self._producer = producer
        return self._producer

    async def _close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await asyncio.shield(producer.stop())
