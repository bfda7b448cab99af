"""Dead letters: reading ``hub.dlq`` and replaying a record after a fix (``hub dlq``).

A dead letter holds the original record's key, bytes and headers, with Kafka
Connect-style context headers (``hub.dlq.topic|partition|offset|error.class|error.text``).
What an operator sees is never the content: the position, the error class, the
reason with identifier-shaped text scrubbed, the message id and kind when the record's
clear metadata parses, and the names of the original headers.

A replay writes the original record back to its original topic and partition, with
its original key and headers (so its MAC still verifies), and in the same
transaction a record on ``hub.dlq-replays`` keyed by the dead letter's position: the
replay marker, and the audit of who replayed what and when. The transactional id is
one for every replayer, so a second replayer fences the first; the markers are read
only after the producer has taken the id, so a dead letter is replayed at most once
even by two operators at the same moment. A message whose id is on ``hub.routed-ids``
already is refused (and, were it resent between the check and the commit, the router
would dead-letter the replay as a duplicate: routed once, ever).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import AwareDatetime, Field, ValidationError

from hub.errors import KafkaError, ReplayRefusedError
from hub.kafka import (
    kafka_errors,
    make_consumer,
    make_producer,
    partitions_of,
    read_to_end,
    started,
)
from hub.logging import scrub_text
from hub.router.replay import message_key, outcome_key
from hub.settings import KafkaSettings
from hub.topology import (
    DLQ,
    DLQ_ERROR_CLASS_HEADER,
    DLQ_ERROR_TEXT_HEADER,
    DLQ_OFFSET_HEADER,
    DLQ_PARTITION_HEADER,
    DLQ_REPLAY_TRANSACTION,
    DLQ_REPLAYS,
    DLQ_TOPIC_HEADER,
    INBOUND_TOPICS,
    OUTCOMES,
    ROUTED_IDS,
)
from schemas.common import FrozenModel
from schemas.outcome import OutcomeRecorded
from schemas.wire import MessageReceived

log = structlog.get_logger("hub.router.deadletters")

_CONTEXT_PREFIX = "hub.dlq."
_REASON_LIMIT = 300
REPLAYABLE_TOPICS: frozenset[str] = frozenset((*INBOUND_TOPICS, OUTCOMES))
"""Topics whose dead letters hold the whole original record (the router's input)."""

Headers = tuple[tuple[str, bytes], ...]


class DeadLetterView(FrozenModel):
    """One dead letter as an operator sees it: where, why, what, never the content."""

    partition: int = Field(description="Partition of hub.dlq.")
    offset: int = Field(description="Offset on hub.dlq; with the partition, its address.")
    dead_lettered_at: AwareDatetime = Field(description="When it was written to hub.dlq.")
    topic: str = Field(description="Logical topic of the original record.")
    topic_partition: int = Field(description="Partition of the original record.")
    topic_offset: int = Field(description="Offset of the original record.")
    error_class: str = Field(description="The error's class, e.g. SchemaViolationError.")
    reason: str = Field(description="The error text, identifier-shaped text redacted.")
    message_id: UUID | None = Field(description="The message or outcome id, when readable.")
    kind: str | None = Field(description="The message kind (outcome for an outcome).")
    headers: list[str] = Field(description="Names of the original record's headers.")
    replayable: bool = Field(description="It holds a whole record of the router's input.")
    replayed_at: AwareDatetime | None = Field(description="When it was replayed; None if never.")


class DeadLettersListing(FrozenModel):
    """``hub dlq list --json``: dead letters, oldest first."""

    dead_letters: list[DeadLetterView] = Field(description="Each matching dead letter.")


class DeadLetterReplayed(FrozenModel):
    """The value of a ``hub.dlq-replays`` record: one replay, for the audit."""

    dlq_partition: int = Field(description="Partition of the dead letter on hub.dlq.")
    dlq_offset: int = Field(description="Its offset on hub.dlq.")
    topic: str = Field(description="Logical topic the record was written back to.")
    partition: int = Field(description="Partition it was written back to.")
    offset: int = Field(description="Offset of the replayed copy.")
    message_id: UUID | None = Field(description="The message or outcome id replayed.")
    error_class: str = Field(description="Why it had been dead-lettered.")
    replayed_at: AwareDatetime = Field(description="When it was replayed.")
    replayed_by: str = Field(description="The operating-system account that replayed it.")


@dataclass(frozen=True)
class DeadLetter:
    """A committed record of ``hub.dlq``."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: Headers

    def context(self, name: str) -> str:
        """A context header's text ('' when absent)."""
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")

    @property
    def address(self) -> str:
        """``partition:offset`` on hub.dlq."""
        return f"{self.partition}:{self.offset}"

    @property
    def original_headers(self) -> Headers:
        """The original record's headers, in order."""
        return tuple((k, v) for k, v in self.headers if not k.startswith(_CONTEXT_PREFIX))

    @property
    def source(self) -> tuple[str, int, int]:
        """The original record's logical topic, partition and offset."""
        return (
            self.context(DLQ_TOPIC_HEADER),
            _int(self.context(DLQ_PARTITION_HEADER)),
            _int(self.context(DLQ_OFFSET_HEADER)),
        )

    @property
    def error_class(self) -> str:
        """The class of the error that dead-lettered it."""
        return self.context(DLQ_ERROR_CLASS_HEADER)

    @property
    def replayable(self) -> bool:
        """A whole record of the router's input (a team's note of a refusal is not)."""
        return self.source[0] in REPLAYABLE_TOPICS and bool(self.value)

    def identity(self) -> tuple[UUID | None, str | None, bytes | None]:
        """Message (or outcome) id, kind, and ``hub.routed-ids`` key, from clear metadata."""
        topic = self.source[0]
        try:
            if topic == OUTCOMES:
                outcome = OutcomeRecorded.model_validate_json(self.value)
                return outcome.outcome_id, "outcome", outcome_key(outcome.outcome_id)
            if topic in REPLAYABLE_TOPICS:
                meta = MessageReceived.model_validate_json(self.value).metadata
                return meta.message_id, meta.kind, message_key(meta.message_id)
        except (ValidationError, UnicodeDecodeError):
            pass
        return None, None, None

    def view(self, replayed_at: datetime | None = None) -> DeadLetterView:
        """What an operator may see."""
        topic, partition, offset = self.source
        message_id, kind, _key = self.identity()
        reason = scrub_text(self.context(DLQ_ERROR_TEXT_HEADER))[:_REASON_LIMIT]
        return DeadLetterView(
            partition=self.partition,
            offset=self.offset,
            dead_lettered_at=datetime.fromtimestamp(self.timestamp_ms / 1000, UTC),
            topic=topic,
            topic_partition=partition,
            topic_offset=offset,
            error_class=self.error_class,
            reason=reason,
            message_id=message_id,
            kind=kind,
            headers=[k for k, _v in self.original_headers],
            replayable=self.replayable,
            replayed_at=replayed_at,
        )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def parse_address(text: str) -> tuple[int, int]:
    """``partition:offset`` as two numbers; ValueError naming the expected form."""
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        msg = f"{text!r} is not <partition>:<offset> on hub.dlq, e.g. 0:42"
        raise ValueError(msg)
    return int(partition), int(offset)


def matches(
    letter: DeadLetter, *, error_class: str | None = None, since: datetime | None = None
) -> bool:
    """Whether a dead letter passes ``hub dlq list``'s filters."""
    if error_class is not None and letter.error_class != error_class:
        return False
    return since is None or letter.timestamp_ms >= since.timestamp() * 1000


# ------------------------------------------------------------------------ reading


async def _read_all(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> list[tuple[int, Any]]:
    """Every committed record of ``partitions``, as (partition, record), in offset order."""
    return [
        (tp.partition, r)
        async for tp, records in read_to_end(consumer, partitions)
        for r in records
    ]


async def _read_topic(
    kafka: KafkaSettings, topic: str, only: Iterable[int] | None = None
) -> list[tuple[int, Any]]:
    consumer = make_consumer(kafka, "hub-dlq", read_committed=True)
    async with started(consumer, f"reading {topic}"):
        with kafka_errors(f"reading {topic}"):
            partitions = await partitions_of(consumer, [kafka.topic(topic)])
            if not partitions:
                raise KafkaError(f"topic {kafka.topic(topic)} does not exist")
            if only is not None:
                wanted = set(only)
                partitions = [tp for tp in partitions if tp.partition in wanted]
            return await _read_all(consumer, partitions)


async def read_dead_letters(kafka: KafkaSettings) -> list[DeadLetter]:
    """Every committed dead letter, by partition and offset."""
    found = await _read_topic(kafka, DLQ)
    return [
        DeadLetter(
            p,
            r.offset,
            r.timestamp,
            r.key,
            r.value or b"",
            tuple((k, bytes(v)) for k, v in r.headers or ()),
        )
        for p, r in found
    ]


async def read_replays(kafka: KafkaSettings) -> dict[tuple[int, int], DeadLetterReplayed]:
    """Every replay recorded so far, by the dead letter's (partition, offset)."""
    replays = {}
    for _p, r in await _read_topic(kafka, DLQ_REPLAYS):
        try:
            done = DeadLetterReplayed.model_validate_json(r.value or b"")
        except ValidationError:
            continue
        replays[done.dlq_partition, done.dlq_offset] = done
    return replays


async def _routed_keys(kafka: KafkaSettings, partitions: Iterable[int]) -> set[bytes]:
    return {r.key for _p, r in await _read_topic(kafka, ROUTED_IDS, partitions) if r.key}


# ------------------------------------------------------------------------ replaying


@dataclass(frozen=True)
class ReplayOutcome:
    """What became of one dead letter asked to be replayed."""

    letter: DeadLetter
    replayed: DeadLetterReplayed | None
    refused: str | None


def _refusal(
    letter: DeadLetter,
    replays: dict[tuple[int, int], DeadLetterReplayed],
    routed: set[bytes],
) -> str | None:
    if not letter.replayable:
        return "not a record of the router's input (a team's note of a refused copy, or empty)"
    done = replays.get((letter.partition, letter.offset))
    if done is not None:
        return f"replayed already at {done.replayed_at.isoformat()} by {done.replayed_by}"
    _id, _kind, key = letter.identity()
    if key is not None and key in routed:
        return "its message id was routed already (a replay would be a duplicate)"
    return None


async def replay(
    kafka: KafkaSettings, letters: Sequence[DeadLetter], *, now: datetime
) -> list[ReplayOutcome]:
    """Replay each dead letter once, in one transaction per record; refuse the rest.

    Raises :class:`ReplayRefusedError` only for a problem with the whole request; each
    refused dead letter is reported in its outcome.
    """
    producer = make_producer(
        kafka, "hub-dlq-replay", transactional_id=DLQ_REPLAY_TRANSACTION, linger_ms=0
    )
    outcomes = []
    async with started(producer, "starting the replay producer"):
        # The id is ours now (a concurrent replayer is fenced): read the markers after.
        replays = await read_replays(kafka)
        routed = await _routed_keys(kafka, {letter.source[1] for letter in letters})
        for letter in letters:
            refused = _refusal(letter, replays, routed)
            if refused is not None:
                outcomes.append(ReplayOutcome(letter, None, refused))
                continue
            done = await _replay_one(kafka, producer, letter, now)
            replays[letter.partition, letter.offset] = done
            outcomes.append(ReplayOutcome(letter, done, None))
    return outcomes


async def _replay_one(
    kafka: KafkaSettings, producer: Any, letter: DeadLetter, now: datetime
) -> DeadLetterReplayed:
    topic, partition, _offset = letter.source
    message_id, _kind, _key = letter.identity()
    with kafka_errors("replaying a dead letter"):
        await producer.begin_transaction()
        sent = await producer.send_and_wait(
            kafka.topic(topic),
            value=letter.value,
            key=letter.key,
            partition=partition,
            headers=list(letter.original_headers),
        )
        done = DeadLetterReplayed(
            dlq_partition=letter.partition,
            dlq_offset=letter.offset,
            topic=topic,
            partition=partition,
            offset=sent.offset,
            message_id=message_id,
            error_class=letter.error_class,
            replayed_at=now,
            replayed_by=getpass.getuser(),
        )
        await producer.send_and_wait(
            kafka.topic(DLQ_REPLAYS),
            value=done.model_dump_json().encode(),
            key=letter.address.encode(),
        )
        await producer.commit_transaction()
    log.info(
        "dead_letter_replayed",
        dlq=letter.address,
        topic=topic,
        partition=partition,
        offset=sent.offset,
        error_class=letter.error_class,
    )
    return done


def refuse_unknown(address: tuple[int, int], letters: Sequence[DeadLetter]) -> DeadLetter:
    """The dead letter at ``address``, or :class:`ReplayRefusedError`."""
    for letter in letters:
        if (letter.partition, letter.offset) == address:
            return letter
    partition, offset = address
    raise ReplayRefusedError(f"no dead letter at {partition}:{offset} on hub.dlq")
