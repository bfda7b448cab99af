"""The team app's reader of ``hub.checks`` and ``hub.check-responses``.

One consumer (group ``team-<area>-checks`` of the first asking area, ``read_committed``)
reads both topics. :func:`apply_check_record` is the handler: it verifies a record
(key is the subject key, MAC of the partner's check key), keeps requests of the areas
served here and answers to them, idempotently by check id, and ignores the rest. The
offset of a batch is committed only after every record of it was stored, so a crash
redelivers rather than loses; a redelivered record changes nothing (the store keeps
the first answer of a check). A record that fails verification is logged by error
class, counted, and passed over: it is never shown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer

from hub.checks.crypto import CheckKeys, Received, read_answer, read_request
from hub.errors import HubError, PermanentMessageError
from hub.kafka import kafka_errors, make_consumer, stop_tailing
from hub.settings import KafkaSettings
from hub.teams.checkstore import CheckStore
from hub.topology import CHECK_RESPONSES, CHECKS, check_answers_group
from schemas.checks import CheckPartner
from schemas.common import Area

log = structlog.get_logger("hub.teams")


def apply_check_record(
    store: CheckStore,
    keys: Mapping[CheckPartner, CheckKeys],
    areas: frozenset[Area],
    record: Received,
) -> bool:
    """Store one verified record of an area served here; return whether it was new.

    Raises :class:`~hub.errors.PermanentMessageError` for a record that does not verify.
    """
    if record.topic == CHECKS:
        request = read_request(keys, record)
        return request.area in areas and store.add_request(request)
    answered = read_answer(keys, record)
    if answered.area not in areas:
        return False
    new = store.add_answer(answered)
    if new:
        log.info(
            "check_answer_attached",
            check_id=str(answered.check_id),
            message_id=str(answered.message_id),
            area=answered.area.value,
            partner=answered.partner.value,
        )
    return new


@dataclass(eq=False)
class CheckConsumer:
    """Tails both check topics into the :class:`CheckStore`."""

    kafka: KafkaSettings
    store: CheckStore
    keys: Mapping[CheckPartner, CheckKeys] = field(repr=False)
    areas: frozenset[Area]
    client_id: str
    refused: int = field(default=0, init=False)
    """Records passed over because they did not verify."""
    _consumer: AIOKafkaConsumer | None = field(default=None, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(self) -> None:
        """Join the group and start tailing."""
        group = check_answers_group(min(self.areas, key=lambda a: a.value))
        consumer = make_consumer(
            self.kafka, self.client_id, CHECKS, CHECK_RESPONSES, group_id=group
        )
        with kafka_errors("starting the check consumer"):
            await consumer.start()
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(consumer), name="team-checks")

    async def stop(self) -> None:
        """Stop tailing and leave the group."""
        await stop_tailing(self._task, self._consumer)
        self._task = None
        self._consumer = None

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        prefix = len(self.kafka.topic_prefix)
        while True:
            try:
                with kafka_errors("reading checks"):
                    batch = await consumer.getmany(timeout_ms=500, max_records=200)
                for tp, records in batch.items():
                    for r in records:
                        self._apply(
                            Received(
                                tp.topic[prefix:], tp.partition, r.key, r.value or b"", r.headers
                            )
                        )
                if batch:
                    with kafka_errors("committing check offsets"):
                        await consumer.commit()
            except HubError as exc:
                # Not committed: seek back to the committed offsets and read again.
                log.warning("check_consumer_retry", error=str(exc)[:200])
                await asyncio.sleep(1.0)
                with contextlib.suppress(HubError, Exception):
                    for tp in consumer.assignment():
                        committed = await consumer.committed(tp)
                        if committed is None:
                            await consumer.seek_to_beginning(tp)
                        else:
                            consumer.seek(tp, committed)

    def _apply(self, record: Received) -> None:
        try:
            apply_check_record(self.store, self.keys, self.areas, record)
        except PermanentMessageError as exc:
            failure = type(exc).__name__
        else:
            return
        self.refused += 1
        log.error(
            "check_record_refused",
            topic=record.topic,
            partition=record.partition,
            error_class=failure,
        )
