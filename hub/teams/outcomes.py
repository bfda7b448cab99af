"""Recording a team's decision: ``team.outcomes`` first, then the local queue.

:func:`record_outcome` is the handler behind the outcome form and the API. It claims
the queue row (one decision per row; a second practitioner gets a conflict), produces
an :class:`~schemas.outcome.OutcomeRecorded` to ``team.outcomes`` with an idempotent
``acks=all`` producer keyed by the message's subject key, and only after Kafka
acknowledged it marks the row decided. If Kafka does not acknowledge, the claim is
released and nothing is marked: the practitioner can try again. The outcome id is
the claim id, so the router applies an outcome once, however often it is replayed.

Each outcome carries the MAC of its area's ``outcome-mac`` key (the router applies an
outcome only with a key of the outcome's own area) and goes to the partition number
its routed copy came from, which is the router task that holds the subject's history;
the MAC covers that partition.

With ``HUB_SECURITY__PER_COMPONENT`` an area's outcomes are written as that area's
principal (:class:`AreaOutcomePublisher`). The same producer notes on ``hub.dlq``
each routed copy the consumer refuses (:meth:`KafkaOutcomePublisher.set_aside`), so
the monitor counts it and pages. The producer is a port (:class:`OutcomePublisher`);
:mod:`hub.teams.testing` has a fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid4

import structlog
from aiokafka import AIOKafkaProducer

from hub.errors import (
    AlreadyDecidedError,
    DecisionInProgressError,
    HubError,
    KafkaUnavailableError,
    NotInQueueError,
)
from hub.kafka import kafka_errors, make_producer
from hub.security.mac import RecordMac
from hub.settings import KafkaSettings
from hub.sla import SlaCalendar, authorisation_due_by
from hub.teams.store import (
    Authorised,
    Claim,
    Decided,
    QueueItem,
    QueueStore,
)
from hub.topology import DLQ, OUTCOMES, dlq_headers, route_topic
from schemas.common import Area
from schemas.outcome import (
    AuthoriseDecision,
    OutcomeRecorded,
    RecordOutcome,
    needs_authorisation,
)

log = structlog.get_logger("hub.teams")


class OutcomePublisher(Protocol):
    """Where outcomes go: ``team.outcomes``."""

    async def publish(
        self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]], *, partition: int
    ) -> None:
        """Write one outcome to ``partition``, returning once the broker acknowledged it."""


class RefusalPublisher(Protocol):
    """Where the consumer notes each routed copy it refuses: ``hub.dlq``."""

    async def set_aside(self, area: Area, partition: int, offset: int, error: HubError) -> None:
        """Note the refused record by position (no content), once acknowledged."""


def refusal_headers(
    area: Area, partition: int, offset: int, error: HubError
) -> list[tuple[str, bytes]]:
    """The dead-letter context headers of a refused routed copy (the router's, as in hub.dlq)."""
    return dlq_headers(route_topic(area), partition, offset, error)


@dataclass(eq=False)
class KafkaOutcomePublisher:
    """An idempotent, ``acks=all`` producer for ``team.outcomes`` (built by :mod:`hub.kafka`).

    ``macs`` holds the ``outcome-mac`` key of each area it writes for (None: outcomes
    go without a MAC, as with ``HUB_CRYPTO__SIGN=false``).
    """

    kafka: KafkaSettings
    client_id: str
    macs: Mapping[Area, RecordMac] | None = field(default=None, repr=False)
    timeout_s: float = 20.0
    _producer: AIOKafkaProducer | None = field(default=None, init=False, repr=False)

    async def start(self) -> None:
        """Connect the producer."""
        producer = make_producer(self.kafka, self.client_id, linger_ms=0)
        with kafka_errors("starting the outcome producer"):
            await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        """Flush and close the producer."""
        if self._producer is not None:
            await asyncio.shield(self._producer.stop())
            self._producer = None

    async def publish(
        self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]], *, partition: int
    ) -> None:
        """Write one outcome keyed by the subject key; raise if not acknowledged in time."""
        value, key = outcome.model_dump_json().encode(), outcome.subject_key.encode()
        if self.macs is not None:
            mac = self.macs.get(outcome.area)
            if mac is None:
                raise KafkaUnavailableError(f"no outcome key for {outcome.area.value}")
            headers = [*headers, *mac.headers(OUTCOMES, partition, key, value)]
        await self._send(OUTCOMES, value, key, headers, partition, "producing an outcome")

    async def set_aside(self, area: Area, partition: int, offset: int, error: HubError) -> None:
        """Note a refused routed copy on ``hub.dlq``: its position and why, no content."""
        headers = refusal_headers(area, partition, offset, error)
        await self._send(DLQ, b"", None, headers, None, "noting a refused routed copy")

    async def _send(  # noqa: PLR0917 -- one record's parts
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
        partition: int | None,
        action: str,
    ) -> None:
        if self._producer is None:
            raise KafkaUnavailableError("the outcome producer is not started")
        with kafka_errors(action):
            async with asyncio.timeout(self.timeout_s):
                await self._producer.send_and_wait(
                    self.kafka.topic(topic), value, key=key, headers=headers, partition=partition
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

    async def publish(
        self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]], *, partition: int
    ) -> None:
        """Write through the producer of the outcome's area."""
        await self._of(outcome.area).publish(outcome, headers, partition=partition)

    async def set_aside(self, area: Area, partition: int, offset: int, error: HubError) -> None:
        """Note a refused copy through the producer of its area."""
        await self._of(area).set_aside(area, partition, offset, error)

    def _of(self, area: Area) -> KafkaOutcomePublisher:
        publisher = self._by_area.get(area)
        if publisher is None:
            raise KafkaUnavailableError(f"no producer for {area.value}")
        return publisher


async def record_outcome(
    store: QueueStore,
    publisher: OutcomePublisher,
    item: QueueItem,
    command: RecordOutcome,
    *,
    decided_by: str,
    clock: Callable[[], datetime],
    calendar: SlaCalendar | None = None,
) -> OutcomeRecorded:
    """Record a decision on one queue row; return the event written to ``team.outcomes``.

    A MASH threshold decision then waits for a manager's authorisation, due by the
    ``authorisation`` clock of ``calendar`` (without a calendar, nothing waits).
    """
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
    await _publish_claimed(store, publisher, item, claim_id, outcome)
    waits = calendar is not None and needs_authorisation(area, outcome.outcome)
    auth_due = authorisation_due_by(outcome.decided_at, calendar) if calendar and waits else None
    store.decide(item.key, claim_id, _decided(outcome), auth_due)
    log.info(
        "outcome_recorded",
        message_id=str(item.message_id),
        area=area.value,
        outcome=outcome.outcome.value,
        outcome_id=str(claim_id),
        decided_by=decided_by,
    )
    return outcome


async def record_authorisation(
    store: QueueStore,
    publisher: OutcomePublisher,
    item: QueueItem,
    command: AuthoriseDecision,
    *,
    decided_by: str,
    clock: Callable[[], datetime],
) -> OutcomeRecorded:
    """A manager authorises or returns a decision: on ``team.outcomes`` first, then locally.

    The record is an :class:`OutcomeRecorded` whose ``authorises`` names the decision's
    outcome id, MACed with the area's key like any outcome: the router applies it to
    the chronology only with that area's key.
    """
    decided = item.decided
    if decided is None or not item.awaiting_authorisation:
        raise AlreadyDecidedError("this decision is not waiting for authorisation")
    claim_id = uuid4()
    claim = store.claim_authorisation(item.key, claim_id, clock())
    if claim is Claim.DECIDED:
        raise AlreadyDecidedError("this decision is not waiting for authorisation")
    _check_claim(claim)
    area = Area(item.area)
    record = OutcomeRecorded(
        outcome_id=claim_id,
        message_id=item.message_id,
        area=area,
        subject_key=item.subject_key,
        outcome=decided.outcome,
        rationale=command.rationale,
        decided_by=decided_by,
        decided_at=clock(),
        routed_at=decided.decided_at,
        due_by=item.oversight.auth_due_by,
        authorises=decided.outcome_id,
        authorisation=command.decision,
    )
    await _publish_claimed(store, publisher, item, claim_id, record)
    done = Authorised(claim_id, command.decision, command.rationale, decided_by, record.decided_at)
    store.authorise(item.key, claim_id, done)
    log.info(
        "decision_authorised" if command.decision == "authorise" else "decision_returned",
        message_id=str(item.message_id),
        area=area.value,
        outcome_id=str(decided.outcome_id),
        decided_by=decided_by,
    )
    return record


async def _publish_claimed(
    store: QueueStore,
    publisher: OutcomePublisher,
    item: QueueItem,
    claim_id: UUID,
    record: OutcomeRecorded,
) -> None:
    """Write ``record`` to the partition of ``item``; on any failure release the claim."""
    area = record.area.value.encode()
    headers = [("hub.area", area), ("hub.child-index", b"%d" % item.child_index)]
    try:
        await publisher.publish(record, headers, partition=item.partition)
    except BaseException:
        store.release(item.key, claim_id)
        raise


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
