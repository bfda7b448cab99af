"""The FastStream shim: one subscriber per served area, reading only ``route.<area>``.

Each subscriber joins group ``team-<area>`` with ``read_committed`` (the router
writes in transactions) and the ``MANUAL`` ack policy: FastStream's default for Kafka
(``ACK_FIRST``) commits before the handler runs and would lose a message on a crash.
Here the offset is committed only after :func:`~hub.teams.intake.accept_routed`
stored the row durably. A record that can never be queued (one the router did not
make for this area, clear content while encryption is on, or unreadable) is set
aside: noted by position in the local ``rejected`` table, noted on ``hub.dlq`` (the
monitor counts it; a trust failure pages), and committed past, never shown. Any other
failure (the disk, SQLite, the note not acknowledged) seeks back to the record and
retries it after a pause, so nothing is skipped.

FastStream decodes every header as UTF-8 before a handler runs; a routed copy's
``hub-mac`` is 32 raw bytes, and a hostile record may carry any bytes at all. So each
subscriber parses with :func:`lenient_parser`: FastStream sees only the headers it can
decode, and the handler reads the record exactly as it came.

Brokers are built from the same :class:`~hub.settings.KafkaSettings` as every other
client: :func:`broker_options` derives FastStream's connection and security options
from :func:`hub.kafka.client_options`. There is one broker per Kafka identity: with
``HUB_SECURITY__PER_COMPONENT`` each area's subscriber logs in as that area's
principal ``team-<area>``, which may read ``route.<area>`` and nothing else. Brokers
run consumer-only (no producer, no admin client) and never create topics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import KW_ONLY, InitVar, dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from opentelemetry.trace import SpanKind

from hub import tracing
from hub.errors import HubError, PermanentMessageError
from hub.kafka import client_options, kafka_errors
from hub.settings import KafkaSettings
from hub.teams.intake import CopyCheck, RoutedRecord, accept_routed
from hub.teams.outcomes import RefusalPublisher
from hub.teams.store import QueueStore
from hub.topology import route_topic, team_group
from schemas.common import Area

log = structlog.get_logger("hub.teams")


def broker_options(kafka: KafkaSettings, client_id: str) -> dict[str, Any]:
    """FastStream ``KafkaBroker`` options equal to :func:`hub.kafka.client_options`."""
    options = client_options(kafka, client_id)
    security: BaseSecurity | None = None
    protocol = options["security_protocol"]
    if protocol.startswith("SASL"):
        scram = SASLScram256 if options["sasl_mechanism"] == "SCRAM-SHA-256" else SASLScram512
        tls = protocol == "SASL_SSL"
        security = scram(
            options["sasl_plain_username"] or "",
            options["sasl_plain_password"] or "",
            ssl_context=ssl.create_default_context() if tls else None,
            use_ssl=tls,
        )
    return {
        "bootstrap_servers": options["bootstrap_servers"],
        "client_id": options["client_id"],
        "request_timeout_ms": options["request_timeout_ms"],
        "security": security,
    }


def _decodable(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


async def lenient_parser(
    record: ConsumerRecord[Any, Any],
    original: Callable[[ConsumerRecord[Any, Any]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream's parser on a copy without undecodable headers; the record kept whole."""
    readable = [(k, v) for k, v in record.headers or () if _decodable(bytes(v))]
    message = await original(dataclasses.replace(record, headers=readable))
    message.raw_message = record  # the MAC check reads the headers as they came
    return message


# Topic creation is off on purpose (``hub topics apply`` owns topics); not worth a warning.
_EXPECTED = "Auto create topics is disabled"


class _StructlogBridge:
    """FastStream's service log, as hub events; only warnings and errors, never payloads."""

    def log(
        self,
        level: int,
        msg: Any,
        /,
        *,
        exc_info: Any = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if level < logging.WARNING or str(msg).startswith(_EXPECTED):
            return
        where = dict(extra or {})
        error = type(exc_info).__name__ if isinstance(exc_info, BaseException) else None
        log.warning(
            "kafka_consumer_warning",
            detail=str(msg)[:300],
            error_class=error,
            topic=where.get("topic"),
            group=where.get("group_id"),
        )


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Sets ``event`` once the group gave this member its partitions."""

    def __init__(self, event: asyncio.Event) -> None:
        self.event = event

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to flush: every stored row was committed or will be redelivered."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Joined the group (possibly with no partitions when members outnumber them)."""
        del assigned
        self.event.set()


@dataclass(eq=False)
class TeamConsumer:
    """The subscribers of one team app instance, on one FastStream broker."""

    identities: InitVar[Sequence[tuple[KafkaSettings, Sequence[Area]]]]
    store: QueueStore
    clock: Callable[[], datetime]
    _: KW_ONLY
    check: CopyCheck
    refusals: RefusalPublisher | None = None
    client_id: InitVar[str] = "teams"
    retry_s: float = 1.0
    assigned: dict[Area, asyncio.Event] = field(init=False)
    brokers: list[KafkaBroker] = field(init=False)

    def __post_init__(
        self, identities: Sequence[tuple[KafkaSettings, Sequence[Area]]], client_id: str
    ) -> None:
        self.assigned = {area: asyncio.Event() for _, areas in identities for area in areas}
        self.brokers = [self._broker(kafka, areas, client_id) for kafka, areas in identities]

    @property
    def ready(self) -> bool:
        """Every area's subscriber has joined its group."""
        return all(event.is_set() for event in self.assigned.values())

    async def start(self) -> None:
        """Connect and start every subscriber (a missing topic fails the start)."""
        try:
            with kafka_errors("starting the team consumers"):
                for broker in self.brokers:
                    await broker.start()
        except BaseException:
            await self.stop()
            raise
        log.info("team_consumers_started", areas=[a.value for a in self.assigned])

    async def stop(self) -> None:
        """Finish the record in hand and leave the groups."""
        for broker in self.brokers:
            await broker.stop()
        log.info("team_consumers_stopped")

    def _broker(self, kafka: KafkaSettings, areas: Sequence[Area], client_id: str) -> KafkaBroker:
        """One broker per Kafka identity, with a subscriber per area that logs in as it."""
        broker = KafkaBroker(
            **broker_options(kafka, client_id),
            consumer_only=True,
            allow_auto_create_topics=False,
            logger=_StructlogBridge(),
            graceful_timeout=30.0,
        )
        for area in areas:
            subscriber = broker.subscriber(
                kafka.topic(route_topic(area)),
                group_id=kafka.group(team_group(area)),
                ack_policy=AckPolicy.MANUAL,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                partition_assignment_strategy=(RangePartitionAssignor,),
                listener=_Assigned(self.assigned[area]),
                parser=lenient_parser,
                no_reply=True,
            )
            subscriber(self._handler(area))
        return broker

    def _handler(self, area: Area) -> Callable[[KafkaMessage], Awaitable[None]]:
        async def on_routed(message: KafkaMessage) -> None:
            await self.handle(area, message)

        return on_routed

    async def handle(self, area: Area, message: KafkaMessage) -> None:
        """Store one record, then commit its offset; on a store failure retry it."""
        raw = message.raw_message
        assert not isinstance(raw, tuple)  # not a batch subscriber
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            topic=route_topic(area), partition=raw.partition, offset=raw.offset
        )
        headers = tuple((k, bytes(v)) for k, v in raw.headers or ())
        record = RoutedRecord(raw.partition, raw.offset, raw.value, raw.key, headers)
        try:
            with tracing.span(
                f"queue {route_topic(area)}",
                SpanKind.CONSUMER,
                headers,
                {"hub.area": area.value, "messaging.kafka.offset": raw.offset},
            ) as current:
                refused = self._store_one(area, record)
                tracing.set_attributes(current, {"hub.outcome": "refused" if refused else "queued"})
            if refused is not None and self.refusals is not None:
                await self.refusals.set_aside(area, record.partition, record.offset, refused)
        except Exception as exc:  # noqa: BLE001 -- any store failure: retry, never skip
            log.warning("routed_record_not_stored", error_class=type(exc).__name__)
            await asyncio.sleep(self.retry_s)
            await message.nack()  # seeks back to this record
            return
        finally:
            structlog.contextvars.clear_contextvars()
        try:
            with kafka_errors("committing a team offset"):
                await message.ack()
        except HubError as exc:
            # Stored already; whoever owns the partition next gets it again, a duplicate.
            log.warning("offset_commit_failed", area=area.value, error=str(exc)[:200])

    def _store_one(self, area: Area, record: RoutedRecord) -> PermanentMessageError | None:
        """Store the record; return why it was set aside instead, if it was."""
        try:
            stored, message_id = accept_routed(self.store, area, record, self.clock(), self.check)
        except PermanentMessageError as exc:
            self.store.reject(area.value, (record.partition, record.offset), exc, self.clock())
            log.warning(
                "routed_record_rejected", error_class=type(exc).__name__, error=str(exc)[:200]
            )
            return exc
        event = "routed_record_stored" if stored else "routed_record_duplicate"
        log.info(event, area=area.value, message_id=str(message_id))
        return None
