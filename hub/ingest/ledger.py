"""What the ingest app knows about partners' messages, rebuilt from Kafka.

Kafka is the system of record, so the app keeps no database: at start-up it reads the
partners' inbound topics (routing metadata only, in clear) and ``hub.decisions``, and
then keeps tailing them. From that it answers two questions:

- *Was this message already accepted?* Message ids are derived from the partner, its
  organisation code and its reference, so a resend has the same ids: it returns them
  and writes nothing. The ledger is scoped by (partner, organisation): each entry
  keeps its organisation code, the ingest accepts a message only from a credential
  bound to its organisation (so nobody can claim another organisation's reference
  first) and shows a status only to such a credential. (The router also refuses a
  replayed id, so even a race between two app instances cannot route a message twice.)
- *What became of message X?* received, routed (to which areas) or returned (why).

After a failed write the app must not accept again until the ledger has read to the
end of the inbound topics: only then does it know whether the failed transaction
committed (:meth:`KafkaLedger.sync`).

:class:`LedgerIndex` is the index itself, with no I/O (the in-memory fake of
:mod:`hub.ingest.testing` is one); :class:`KafkaLedger` feeds it from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer

from hub.errors import HubError
from hub.kafka import kafka_errors, make_consumer, partitions_of, stop_tailing, wait_until_read
from hub.settings import KafkaSettings
from hub.topology import DECISIONS, inbound_topic
from schemas.common import Partner

log = structlog.get_logger("hub.ingest.ledger")


class WrittenSource(Protocol):
    """Who sent a message: the parts of :class:`~schemas.envelope.Source` the ledger keeps."""

    @property
    def org_code(self) -> str:
        """The sending organisation's code."""

    @property
    def partner_reference(self) -> str:
        """The partner's reference."""


class Written(Protocol):
    """What the ledger keeps of a message: an envelope, or a large batch's summary of one."""

    @property
    def message_id(self) -> UUID:
        """The hub's id."""

    @property
    def partner(self) -> Partner:
        """The sending partner."""

    @property
    def source(self) -> WrittenSource:
        """Who sent it."""

    @property
    def kind(self) -> str:
        """The message kind."""

    @property
    def received_at(self) -> datetime:
        """When the hub received it."""


@dataclass
class MessageStatus:
    """The life of one message as the partner may see it."""

    message_id: UUID
    partner: Partner
    org_code: str
    partner_reference: str
    kind: str
    received_at: datetime
    status: str = "received"
    destinations: tuple[str, ...] = ()
    returned_reasons: tuple[str, ...] = ()
    decided_at: datetime | None = None


@dataclass(kw_only=True)
class LedgerIndex:
    """In-memory index of accepted messages and their decisions (no I/O)."""

    _messages: dict[UUID, MessageStatus] = field(default_factory=dict)
    _pending_decisions: dict[UUID, dict[str, object]] = field(default_factory=dict)
    _in_flight: set[tuple[str, str, str]] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    synced: asyncio.Event = field(default_factory=asyncio.Event)

    # ------------------------------------------------------------------ queries
    def status(self, partner: Partner, message_id: UUID) -> MessageStatus | None:
        """A partner's own message, or None (another partner's is never shown).

        The caller checks :attr:`MessageStatus.org_code` against the credential's orgs.
        """
        found = self._messages.get(message_id)
        return found if found is not None and found.partner is partner else None

    def __len__(self) -> int:
        return len(self._messages)

    # ------------------------------------------------------------------ updates
    def accept(self, envelopes: Iterable[Written]) -> None:
        """Record envelopes this app has just written."""
        for env in envelopes:
            self._add(
                MessageStatus(
                    env.message_id,
                    env.partner,
                    env.source.org_code,
                    env.source.partner_reference,
                    env.kind,
                    env.received_at,
                )
            )

    @contextlib.asynccontextmanager
    async def claim(self, envelopes: Sequence[Written]) -> AsyncIterator[None]:
        """Hold the partner references of a request so a concurrent resend waits."""
        if len(envelopes) > CLAIM_INLINE:
            keys = await asyncio.to_thread(_ref_keys, envelopes)
        else:
            keys = _ref_keys(envelopes)
        async with self._changed:
            await self._changed.wait_for(lambda: not keys & self._in_flight)
            self._in_flight |= keys
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= keys
                self._changed.notify_all()

    def _add(self, status: MessageStatus) -> None:
        message_id = status.message_id
        if message_id in self._messages:
            return
        self._messages[message_id] = status
        pending = self._pending_decisions.pop(message_id, None)
        if pending is not None:
            self._apply_decision(message_id, pending)

    def _apply_decision(self, message_id: UUID, decision: dict[str, object]) -> None:
        found = self._messages.get(message_id)
        if found is None:
            self._pending_decisions[message_id] = decision
            return
        destinations = tuple(str(d) for d in decision.get("destinations", []))  # type: ignore[attr-defined]
        found.destinations = destinations
        found.returned_reasons = tuple(str(r) for r in decision.get("returned_reasons", []))  # type: ignore[attr-defined]
        found.status = "returned" if destinations == ("returned",) else "routed"
        decided = decision.get("decided_at")
        found.decided_at = datetime.fromisoformat(str(decided)) if decided else None

    def read_inbound(self, value: bytes, topic: str) -> None:
        """Index one inbound record's routing metadata (unreadable ones are skipped)."""
        known = _known_prefix_id(value)
        if known is not None and known in self._messages:
            return  # written by this app (accepted already): no need to parse it again
        try:
            meta = json.loads(value)["metadata"]
            partner = Partner(meta["partner"])
            if topic != inbound_topic(partner):
                return
            self._add(
                MessageStatus(
                    UUID(meta["message_id"]),
                    partner,
                    meta["org_code"],
                    meta["partner_reference"],
                    meta["kind"],
                    datetime.fromisoformat(meta["received_at"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            return  # unreadable records are the router's to dead-letter

    def read_decision(self, value: bytes) -> None:
        """Apply one decision record to its message (kept until the message is known)."""
        try:
            decision = json.loads(value)
            self._apply_decision(UUID(decision["message_id"]), decision)
        except (ValueError, KeyError, TypeError):
            return


TAIL_BATCH = 500
"""Records fetched per poll when following the topics."""
TAIL_SLICE = 100
"""Records indexed between two turns of the event loop (a 20 MiB batch is 60,000)."""
CLAIM_INLINE = 1000
"""A request with more messages than this computes its claim in a worker thread."""


@dataclass(kw_only=True)
class KafkaLedger(LedgerIndex):
    """The index, fed by tailing the inbound topics and ``hub.decisions``."""

    kafka: KafkaSettings
    partners: tuple[Partner, ...] = tuple(Partner)
    readers: dict[Partner, KafkaSettings] = field(default_factory=dict)
    """Per-partner identities (a principal each); empty: the app's one identity."""
    status_reader: KafkaSettings | None = None
    """The identity that reads ``hub.decisions`` when partners have principals."""
    _consumers: list[AIOKafkaConsumer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def sources(self) -> list[tuple[KafkaSettings, list[str]]]:
        """Which identity reads which logical topics.

        With one identity for the app (development, tests) one consumer reads every
        partner's inbound topic and ``hub.decisions``. With a principal per partner
        (``readers``), each reads only its own inbound topic, and ``status_reader``
        (the ``connectors-status`` principal) reads the decisions: a partner's principal
        may read nothing of another partner's.
        """
        if not self.readers:
            topics = [inbound_topic(p) for p in self.partners] + [DECISIONS]
            return [(self.kafka, topics)]
        out = [(kafka, [inbound_topic(p)]) for p, kafka in self.readers.items()]
        out.append((self.status_reader or self.kafka, [DECISIONS]))
        return out

    async def start(self) -> None:
        """Start tailing; :meth:`sync` waits until it has caught up."""
        for kafka, topics in self.sources():
            consumer = make_consumer(kafka, "connectors-ledger", read_committed=True)
            with kafka_errors("starting the ledger"):
                await consumer.start()
                partitions = await partitions_of(consumer, [kafka.topic(t) for t in topics])
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
            self._consumers.append(consumer)
            self._tasks.append(asyncio.create_task(self._tail(consumer), name="ledger-tail"))

    async def stop(self) -> None:
        """Stop tailing."""
        for task, consumer in zip(self._tasks, self._consumers, strict=True):
            await stop_tailing(task, consumer)
        self._tasks.clear()
        self._consumers.clear()

    async def sync(self, timeout_s: float = 60.0) -> None:
        """Wait until every committed inbound record up to now has been read."""
        self.synced.clear()
        async with asyncio.timeout(timeout_s):
            for consumer in self._consumers:
                await wait_until_read(consumer, "the ledger", poll_s=0.1)
        self.synced.set()
        log.info("ledger_synced", messages=len(self._messages))

    async def _tail(self, consumer: AIOKafkaConsumer) -> None:
        prefix = self.kafka.topic_prefix
        decisions = self.kafka.topic(DECISIONS)
        while True:
            try:
                with kafka_errors("tailing the ledger"):
                    batch = await consumer.getmany(timeout_ms=500, max_records=TAIL_BATCH)
            except HubError as exc:
                log.warning("ledger_tail_failed", error=str(exc)[:200])
                await asyncio.sleep(1.0)
                continue
            read = 0
            for tp, records in batch.items():
                for record in records:
                    read += 1
                    if read % TAIL_SLICE == 0:
                        await asyncio.sleep(0)  # a large batch comes back in thousands
                    if record.value is None:
                        continue
                    if tp.topic == decisions:
                        self.read_decision(record.value)
                    else:
                        self.read_inbound(record.value, tp.topic[len(prefix) :])


_ID_PREFIX = b'{"metadata":{"message_id":"'
_UUID_TEXT = 36


def _known_prefix_id(value: bytes) -> UUID | None:
    """The message id of a record as the connectors write it (metadata first), or None."""
    if not value.startswith(_ID_PREFIX):
        return None
    end = len(_ID_PREFIX) + _UUID_TEXT
    if value[end : end + 1] != b'"':
        return None
    try:
        return UUID(value[len(_ID_PREFIX) : end].decode())
    except (ValueError, UnicodeDecodeError):
        return None


def _ref_keys(envelopes: Sequence[Written]) -> set[tuple[str, str, str]]:
    return {_ref_key(e) for e in envelopes}


def _ref_key(envelope: Written) -> tuple[str, str, str]:
    return (envelope.partner.value, envelope.source.org_code, envelope.source.partner_reference)
