"""Recording a team's decision: ``team.outcomes`` first, then the local queue.

:func:`record_outcome` is the handler behind the outcome form and the API. It claims
the queue row (one decision per row; a second practitioner gets a conflict), produces
an :class:`~schemas.outcome.OutcomeRecorded` to ``team.outcomes`` with an idempotent
``acks=all`` producer keyed by the message's subject key, and only after Kafka
acknowledged it marks the row decided. If Kafka does not acknowledge, the claim is
released and nothing is marked: the practitioner can try again. The outcome id is
the claim id, so a consumer of ``team.outcomes`` can recognise a repeat.

With ``HUB_SECURITY__PER_COMPONENT`` an area's outcomes are written as that area's
principal (:class:`AreaOutcomePublisher`). The producer is a port
(:class:`OutcomePublisher`); :mod:`hub.teams.testing` has a fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol
from uuid import uuid4

import structlog
from aiokafka import AIOKafkaProducer

from hub.errors import (
    AlreadyDecidedError,
    DecisionInProgressError,
    KafkaUnavailableError,
    NotInQueueError,
)
from hub.kafka import kafka_errors, make_producer
from hub.settings import KafkaSettings
from hub.teams.store import Claim, Decided, QueueItem, QueueStore
from hub.topology import OUTCOMES
from schemas.common import Area
from schemas.outcome import OutcomeRecorded, RecordOutcome

log = structlog.get_logger("hub.teams")


class OutcomePublisher(Protocol):
    """Where outcomes go: ``team.outcomes``."""

    async def publish(self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]]) -> None:
        """Write one outcome, returning only once the broker acknowledged it."""


class KafkaOutcomePublisher:
    """An idempotent, ``acks=all`` producer for ``team.outcomes`` (built by :mod:`hub.kafka`)."""

    def __init__(self, kafka: KafkaSettings, client_id: str, timeout_s: float = 20.0) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect the producer."""
        producer = make_producer(self._kafka, self._client_id, linger_ms=0)
        with kafka_errors("starting the outcome producer"):
            await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        """Flush and close the producer."""
        if self._producer is not None:
            await asyncio.shield(self._producer.stop())
            self._producer = None

    async def publish(self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]]) -> None:
        """Write one outcome keyed by the subject key; raise if not acknowledged in time."""
        if self._producer is None:
            raise KafkaUnavailableError("the outcome producer is not started")
        with kafka_errors("producing an outcome"):
            async with asyncio.timeout(self._timeout_s):
                await self._producer.send_and_wait(
                    self._kafka.topic(OUTCOMES),
                    outcome.model_dump_json().encode(),
                    key=outcome.subject_key.encode(),
                    headers=headers,
                )


class AreaOutcomePublisher:
    """Outcomes of each area through that area's producer (its own Kafka identity)."""

    def __init__(self, by_area: Mapping[Area, KafkaOutcomePublisher]) -> None:
        self._by_area = dict(by_area)
        self._distinct = list({id(p): p for p in by_area.values()}.values())

    async def start(self) -> None:
        """Connect every producer."""
        for publisher in self._distinct:
            await publisher.start()

    async def stop(self) -> None:
        """Flush and close every producer."""
        for publisher in self._distinct:
            await publisher.stop()

    async def publish(self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]]) -> None:
        """Write through the producer of the outcome's area."""
        publisher = self._by_area.get(outcome.area)
        if publisher is None:
            raise KafkaUnavailableError(f"no outcome producer for {outcome.area.value}")
        await publisher.publish(outcome, headers)


async def record_outcome(
    store: QueueStore,
    publisher: OutcomePublisher,
    item: QueueItem,
    command: RecordOutcome,
    *,
    decided_by: str,
    clock: Callable[[], datetime],
) -> OutcomeRecorded:
    """Record a decision on one queue row; return the event written to ``team.outcomes``."""
    area = Area(item.area)
    claim_id = uuid4()
    _check_claim(store.claim(item.key, claim_id, clock()))
    outcome = OutcomeRecorded(
        outcome_id=claim_id,
        message_id=item.message_id,
        area=area,
        subject_key=item.subject_key,
        outcome=command.outcome,
        rationale=command.rationale,
        decided_by=decided_by,
        decided_at=clock(),
        routed_at=item.routed_at,
        due_by=item.due_by,
    )
    headers = [("hub.area", area.value.encode()), ("hub.child-index", b"%d" % item.child_index)]
    try:
        await publisher.publish(outcome, headers)
    except BaseException:
        store.release(item.key, claim_id)
        raise
    store.decide(item.key, claim_id, _decided(outcome))
    log.info(
        "outcome_recorded",
        message_id=str(item.message_id),
        area=area.value,
        outcome=outcome.outcome.value,
        outcome_id=str(claim_id),
        decided_by=decided_by,
    )
    return outcome


def _check_claim(claim: Claim) -> None:
    if claim is Claim.MISSING:
        raise NotInQueueError("no such message in this area's queue")
    if claim is Claim.DECIDED:
        raise AlreadyDecidedError("this message was already decided")
    if claim is Claim.BUSY:
        raise DecisionInProgressError("a decision on this message is being recorded")


def _decided(outcome: OutcomeRecorded) -> Decided:
    return Decided(
        outcome_id=outcome.outcome_id,
        outcome=outcome.outcome,
        rationale=outcome.rationale,
        decided_by=outcome.decided_by,
        decided_at=outcome.decided_at,
    )
