"""The partner ingest's index of agency checks, rebuilt from Kafka on every start.

A :class:`CheckIndex` holds every check the ingest's keys can verify, and whether it
was answered. :class:`KafkaCheckIndex` feeds it by tailing ``hub.checks`` and
``hub.check-responses`` from the beginning with ``read_committed`` (a global table:
each instance reads every partition, no consumer group): a restarted ingest knows
every open check and every answer again before it answers a partner (``synced``), so
a check is answered once across restarts. A record of a partner this ingest holds no
key for is not its business and is skipped; one that fails verification is counted
and skipped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer

from hub.checks.crypto import CheckKeys, Received, read_answer, read_request
from hub.checks.visibility import visible_to
from hub.errors import HubError, PermanentMessageError
from hub.kafka import kafka_errors, make_consumer, partitions_of, stop_tailing, wait_until_read
from hub.settings import KafkaSettings
from hub.topology import CHECK_RESPONSES, CHECKS
from schemas.checks import CheckAnswered, CheckPartner, CheckRequested

log = structlog.get_logger("hub.agency")


@dataclass
class IndexedCheck:
    """One check and, once answered, when."""

    request: CheckRequested
    answered_at: datetime | None = None


@dataclass
class CheckIndex:
    """Every verifiable check, by id."""

    keys: Mapping[CheckPartner, CheckKeys] = field(repr=False)
    checks: dict[UUID, IndexedCheck] = field(default_factory=dict)
    answers: dict[UUID, datetime] = field(default_factory=dict)
    refused: int = 0
    synced: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Nothing to start: this index is fed directly (tests)."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def sync(self, timeout_s: float = 60.0) -> None:  # noqa: ARG002 -- as the Kafka index
        """Caught up at once."""
        self.synced.set()

    def read(self, record: Received) -> None:
        """Apply one record of either topic."""
        partner = _partner_of(record.value)
        if partner is not None and partner not in self.keys:
            return  # another partner's check: not this ingest's business
        try:
            if record.topic == CHECKS:
                self.add_request(read_request(self.keys, record))
            else:
                self.add_answer(read_answer(self.keys, record))
        except PermanentMessageError as exc:
            failure = type(exc).__name__
        else:
            return
        self.refused += 1
        log.error("check_record_refused", topic=record.topic, error_class=failure)

    def add_request(self, request: CheckRequested) -> None:
        """Index a request (a replayed one changes nothing)."""
        if request.check_id not in self.checks:
            answered = self.answers.get(request.check_id)
            self.checks[request.check_id] = IndexedCheck(request, answered)

    def add_answer(self, answered: CheckAnswered) -> None:
        """Note an answer; the first one counts."""
        self.mark_answered(answered.check_id, answered.answered_at)

    def mark_answered(self, check_id: UUID, at: datetime) -> None:
        """Note that ``check_id`` was answered at ``at`` (kept if it was already)."""
        self.answers.setdefault(check_id, at)
        found = self.checks.get(check_id)
        if found is not None and found.answered_at is None:
            found.answered_at = self.answers[check_id]

    def find(
        self, partner: CheckPartner, check_id: UUID, orgs: Collection[str] = ()
    ) -> IndexedCheck | None:
        """A check of ``partner`` the caller may see, answered or not; else None."""
        found = self.checks.get(check_id)
        if found is None or found.request.partner is not partner:
            return None
        if not visible_to(found.request.organisations, orgs):
            return None
        return found

    def open_for(self, partner: CheckPartner, orgs: Collection[str] = ()) -> list[CheckRequested]:
        """The unanswered checks of ``partner`` the caller may see, most urgent first."""
        found = [
            c.request
            for c in self.checks.values()
            if c.answered_at is None
            and c.request.partner is partner
            and visible_to(c.request.organisations, orgs)
        ]
        return sorted(found, key=lambda r: (r.due_by, r.asked_at))


def _partner_of(value: bytes) -> CheckPartner | None:
    """The partner a record names, read before it is verified (None: not a check at all)."""
    try:
        found = json.loads(value)
        return CheckPartner(found["partner"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(kw_only=True)
class KafkaCheckIndex(CheckIndex):
    """The index, fed by tailing both check topics from the beginning."""

    kafka: KafkaSettings
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start tailing; :meth:`sync` waits until it has caught up."""
        consumer = make_consumer(self.kafka, "connectors-checks", read_committed=True)
        with kafka_errors("starting the check index"):
            await consumer.start()
            topics = [self.kafka.topic(CHECKS), self.kafka.topic(CHECK_RESPONSES)]
            partitions = await partitions_of(consumer, topics)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        self._consumer = consumer
        self._task = asyncio.create_task(self._tail(consumer), name="check-index")

    async def stop(self) -> None:
        """Stop tailing."""
        await stop_tailing(self._task, self._consumer)
        self._task = None
        self._consumer = None

    async def sync(self, timeout_s: float = 60.0) -> None:
        """Wait until every committed record up to now has been read."""
        consumer = self._consumer
        if consumer is None:
            return
        async with asyncio.timeout(timeout_s):
            await wait_until_read(consumer, "the check index", poll_s=0.05)
        self.synced.set()
        log.info("check_index_synced", checks=len(self.checks), answers=len(self.answers))

    async def _tail(self, consumer: AIOKafkaConsumer) -> None:
        prefix = len(self.kafka.topic_prefix)
        while True:
            try:
                with kafka_errors("tailing the check index"):
                    batch = await consumer.getmany(timeout_ms=500, max_records=500)
            except HubError as exc:
                log.warning("check_index_tail_failed", error=str(exc)[:200])
                await asyncio.sleep(1.0)
                continue
            for tp, records in batch.items():
                for r in records:
                    if r.value is not None:
                        topic = tp.topic[prefix:]
                        self.read(Received(topic, tp.partition, r.key, r.value, r.headers))
