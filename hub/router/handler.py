"""The router's handler: one inbound record in, the records to write out.

:func:`route_record` is a plain function of its inputs and dependencies, with no
Kafka in it: the service (:mod:`hub.router.service`) feeds it records and writes what it
returns inside one transaction per batch. For a valid message it returns one routed
copy per destination area (an Encompass notice per qualifying child), exactly one
decision record, and the subject's history changelog entry. Anything unreadable,
unverifiable or unknown becomes exactly one dead-letter record with context headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from hub.audit import GENESIS, seal_record
from hub.errors import PermanentMessageError, SchemaViolationError, UnknownKindError
from hub.policy import Decision, Policy, decide
from hub.router.history import HistoryStore
from hub.security.envelope import Opener
from hub.security.keys import SecretKey
from hub.security.signing import Verifier
from hub.sla import SlaCalendar, due_by
from hub.topology import (
    DECISIONS,
    DLQ,
    DLQ_ERROR_CLASS_HEADER,
    DLQ_ERROR_TEXT_HEADER,
    DLQ_OFFSET_HEADER,
    DLQ_PARTITION_HEADER,
    DLQ_TOPIC_HEADER,
    HISTORY,
    INBOUND_PARTNER,
    OUTCOMES,
    route_topic,
)
from schemas.common import KINDS, SCHOOL_AGE, Area
from schemas.envelope import RoutingMetadata, SensitiveContent
from schemas.history import HistorySummary
from schemas.outcome import OutcomeRecorded
from schemas.routed import DecisionSummary, EncompassNotice
from schemas.wire import MessageReceived

log = structlog.get_logger("hub.router.handler")

CHAIN_HEAD_KEY = b"__chain_head__"
"""Key of the record in each history partition holding that partition's chain head."""


class DuplicateMessageError(PermanentMessageError):
    """The message id was already routed: an exact replay, never routed twice."""


@dataclass(frozen=True)
class InRecord:
    """A consumed record (logical topic name)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class OutRecord:
    """A record to produce (logical topic; ``partition`` None means by key)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int | None = None


@dataclass
class TaskState:
    """The state of one router task (one partition number): history and chain head."""

    partition: int
    history: HistoryStore
    chain_head: str = GENESIS


@dataclass(frozen=True)
class RouterContext:
    """The router's dependencies, built once by the composition root."""

    policy: Policy
    calendar: SlaCalendar
    verifier: Verifier | None
    inbound_keks: Mapping[str, Mapping[str, SecretKey]]
    area_keks: Mapping[Area, SecretKey]
    clock: Callable[[], datetime]
    encrypt: bool = True
    on_dead_letter: Callable[[str, str], None] = field(default=lambda _topic, _error: None)


def route_record(record: InRecord, ctx: RouterContext, task: TaskState) -> list[OutRecord]:
    """Route one record; never raises for bad input (it is dead-lettered)."""
    if record.topic == OUTCOMES:
        return _apply_outcome(record, task)
    try:
        return _route(record, ctx, task)
    except PermanentMessageError as exc:
        ctx.on_dead_letter(record.topic, type(exc).__name__)
        log.warning(
            "message_dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_class=type(exc).__name__,
        )
        return [dead_letter(record, exc)]


def dead_letter(record: InRecord, exc: Exception) -> OutRecord:
    """The DLQ record: the original bytes with Kafka Connect-style context headers."""
    headers = (
        (DLQ_TOPIC_HEADER, record.topic.encode()),
        (DLQ_PARTITION_HEADER, str(record.partition).encode()),
        (DLQ_OFFSET_HEADER, str(record.offset).encode()),
        (DLQ_ERROR_CLASS_HEADER, type(exc).__name__.encode()),
        (DLQ_ERROR_TEXT_HEADER, str(exc)[:1000].encode()),
        *record.headers,
    )
    return OutRecord(DLQ, None, record.value or b"", headers)


def _route(record: InRecord, ctx: RouterContext, task: TaskState) -> list[OutRecord]:
    partner = INBOUND_PARTNER.get(record.topic)
    if partner is None:
        raise UnknownKindError(f"records on {record.topic} are not routed")
    if record.value is None:
        raise SchemaViolationError("empty record (tombstone) on an inbound topic")
    if ctx.verifier is not None:
        ctx.verifier.verify(partner.value, record.value, record.headers)
    message = _parse(record.value)
    meta = message.metadata
    if meta.partner is not partner:
        raise SchemaViolationError(
            f"metadata.partner is {meta.partner.value} but the record came from {partner.value}"
        )
    if meta.kind not in KINDS:
        raise UnknownKindError(f"metadata.kind: no contract for kind {meta.kind!r}")
    if record.key is not None and record.key != meta.subject_key.encode():
        raise SchemaViolationError("the record key is not the message's subject key")
    if task.history.state(meta.subject_key).seen(meta.message_id):
        raise DuplicateMessageError(f"message {meta.message_id} was already routed")
    structlog.contextvars.bind_contextvars(message_id=str(meta.message_id), partner=partner.value)
    history = task.history.summary(meta)
    decision = decide(ctx.policy, meta, history)
    decided_at = ctx.clock()
    out = _routed_copies(message, decision, history, decided_at, ctx)
    out.append(_decision_record(meta, decision, history, decided_at, task))
    out.append(
        OutRecord(
            HISTORY,
            meta.subject_key.encode(),
            task.history.record(meta, decision.destinations),
            partition=task.partition,
        )
    )
    log.debug(
        "message_routed",
        kind=meta.kind,
        destinations=[a.value for a in decision.destinations],
        rules=list(decision.rules),
    )
    return out


def _parse(value: bytes) -> MessageReceived:
    try:
        return MessageReceived.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise SchemaViolationError(f"{where}: {first['msg']}") from exc
    except UnicodeDecodeError as exc:
        raise SchemaViolationError("value: not UTF-8") from exc


def _routed_copies(
    message: MessageReceived,
    decision: Decision,
    history: HistorySummary,
    decided_at: datetime,
    ctx: RouterContext,
) -> list[OutRecord]:
    meta = message.metadata
    summary = DecisionSummary.model_construct(
        destinations=decision.destinations,
        rules=decision.rules,
        rationale=decision.rationale,
        returned_reasons=decision.returned_reasons,
        policy_version=decision.policy_version,
        shared_without_consent=decision.shared_without_consent,
        decided_at=decided_at,
        history=history,
    )
    opener = Opener(
        message,
        ctx.inbound_keks.get(meta.partner.value, {}),
        ctx.area_keks,
        encrypt=ctx.encrypt,
    )
    out = []
    key = meta.subject_key.encode()
    # Every copy carries the same metadata and decision: serialise them once.
    shared = _SharedParts(str(meta.message_id), meta.model_dump_json(), summary.model_dump_json())
    for area in decision.destinations:
        due = due_by(area, decided_at, meta.risk.level, ctx.calendar)
        if area is Area.ENCOMPASS:
            for notice in _encompass_notices(meta, opener.content()):
                payload = notice.model_dump_json().encode()
                value = shared.copy(area, "encompass_notice", due, opener.seal_new(payload, area))
                out.append(OutRecord(route_topic(area), key, value))
            continue
        value = shared.copy(area, "envelope", due, opener.for_area(area))
        out.append(OutRecord(route_topic(area), key, value))
    return out


@dataclass(frozen=True)
class _SharedParts:
    """The JSON of a routed copy that is the same for every area."""

    message_id: str
    metadata: str
    decision: str

    def copy(
        self, area: Area, payload_type: str, due: datetime | None, content: dict[str, Any]
    ) -> bytes:
        """The ``MessageRouted`` JSON of one copy (tests validate it against the model)."""
        sealed = content.get("sealed")
        payload = content.get("payload")
        return (
            f'{{"area":"{area.value}","message_id":"{self.message_id}",'
            f'"metadata":{self.metadata},"payload_type":"{payload_type}",'
            f'"sealed":{sealed.model_dump_json() if sealed is not None else "null"},'
            f'"payload":{json.dumps(payload) if payload is not None else "null"},'
            f'"decision":{self.decision},'
            f'"due_by":{json.dumps(due.isoformat()) if due is not None else "null"}}}'
        ).encode()


def _encompass_notices(meta: RoutingMetadata, content: SensitiveContent) -> list[EncompassNotice]:
    notices = []
    for subject, details in zip(meta.subjects, content.subjects, strict=True):
        school_age = subject.age_years in SCHOOL_AGE
        if subject.is_child and school_age and details.school_urn:
            notices.append(
                EncompassNotice(
                    child_given_name=details.given_name,
                    child_family_name=details.family_name,
                    child_date_of_birth=details.date_of_birth,
                    school_urn=details.school_urn,
                    police_reference=meta.partner_reference,
                    occurred_at=meta.occurred_at,
                    present=subject.present,
                )
            )
    return notices


def _decision_record(
    meta: RoutingMetadata,
    decision: Decision,
    history: HistorySummary,
    decided_at: datetime,
    task: TaskState,
) -> OutRecord:
    digest, value = seal_record(
        {
            "message_id": meta.message_id,
            "partner": meta.partner,
            "source_reference": meta.partner_reference,
            "kind": meta.kind,
            "subject_key": meta.subject_key,
            "received_at": meta.received_at,
            "decided_at": decided_at,
            "destinations": decision.destinations,
            "rules": decision.rules,
            "rationale": decision.rationale,
            "returned_reasons": decision.returned_reasons,
            "policy_version": decision.policy_version,
            "consent_status": meta.consent.status,
            "lawful_basis": meta.consent.lawful_basis,
            "shared_without_consent": decision.shared_without_consent,
            "history": history,
        },
        task.chain_head,
    )
    task.chain_head = digest
    return OutRecord(DECISIONS, meta.subject_key.encode(), value, partition=task.partition)


def _apply_outcome(record: InRecord, task: TaskState) -> list[OutRecord]:
    """A team outcome may open or close a case in the subject's history."""
    if record.value is None:
        return []
    try:
        outcome = OutcomeRecorded.model_validate_json(record.value)
    except ValidationError:
        log.warning("outcome_unreadable", partition=record.partition, offset=record.offset)
        return []
    changed = task.history.apply_outcome(outcome)
    if changed is None:
        return []
    return [OutRecord(HISTORY, outcome.subject_key.encode(), changed, partition=task.partition)]
