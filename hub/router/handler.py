"""The router's handler: one inbound record in, the records to write out.

:func:`route_record` is a plain function of its inputs and dependencies, with no
Kafka in it: the service (:mod:`hub.router.service`) feeds it records and writes what it
returns inside one transaction per batch. For a valid message it returns one routed
copy per destination area (an Encompass notice per qualifying child, built from its
allow-list in :mod:`hub.router.encompass`), each with the area's MAC, exactly one
decision record, the subject's history changelog entry and the message's entry on
``hub.routed-ids``. A team outcome is applied to history only
when its MAC is made with a key of the outcome's own area. Anything unreadable,
unauthenticated, replayed or unknown becomes exactly one dead-letter record with
context headers.

Every record is written to the task's own partition: inbound topics, routes,
outcomes, decisions, history and routed ids are co-partitioned (``deploy/topics.yaml``),
and a team sends an outcome back to the partition its routed copy came from.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from hub.audit import ChainHead
from hub.errors import (
    PermanentMessageError,
    RecordKeyError,
    SchemaViolationError,
    UnknownKindError,
    first_problem,
)
from hub.policy import Decision, Policy, decide
from hub.router.chronology import chronology_json, gather
from hub.router.decisionjson import datetime_json, record_json, summary_json
from hub.router.encompass import encompass_copies, encompass_decision
from hub.router.history import Contact, HistoryStore, new_contact, summarise
from hub.router.household import HouseholdView, contact_key, contact_value
from hub.router.replay import RoutedIds, routed_id_value
from hub.security.envelope import Opener
from hub.security.keys import SecretKey
from hub.security.mac import RecordMac
from hub.security.signing import Signer
from hub.sla import SlaCalendar, due_by
from hub.topology import (
    DECISIONS,
    DLQ,
    HISTORY,
    HOUSEHOLD_HISTORY,
    INBOUND_PARTNER,
    OUTCOMES,
    ROUTED_IDS,
    dlq_headers,
    route_topic,
)
from schemas.common import KINDS, Area, Partner
from schemas.envelope import RoutingMetadata
from schemas.outcome import OutcomeRecorded
from schemas.routed import MessageRouted
from schemas.wire import MessageReceived

log = structlog.get_logger("hub.router.handler")

CHAIN_HEAD_KEY = b"__chain_head__"
"""Key of the record in each history partition holding that partition's chain head."""


class DuplicateMessageError(PermanentMessageError):
    """The message (or outcome) id was routed (applied) already: a replay, never twice."""


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
    """The state of one router task (one partition number): history, chain, routed ids."""

    partition: int
    history: HistoryStore
    chain: ChainHead = field(default_factory=ChainHead)
    routed: RoutedIds = field(default_factory=RoutedIds)
    households: HouseholdView = field(default_factory=HouseholdView)
    """The process's household view, shared by its tasks (read, never written here)."""
    committed_contacts: list[Contact] = field(default_factory=list)
    """Contacts written to ``hub.household-history`` in the batch in flight: the service
    puts them in the view once the transaction is committed (and drops them if not)."""


@dataclass(frozen=True)
class RouterMacs:
    """The MAC keys of the router's links: it verifies inbound and outcomes, MACs copies."""

    inbound: Mapping[Partner, RecordMac]
    routed: Mapping[Area, RecordMac]
    outcome: Mapping[Area, RecordMac]


@dataclass(frozen=True)
class RouterContext:
    """The router's dependencies, built once by the composition root.

    ``macs`` None turns record authentication off (benchmarks); ``checkpoints`` signs
    the audit checkpoints, which the service writes (none when None).
    """

    policy: Policy
    calendar: SlaCalendar
    macs: RouterMacs | None
    inbound_keks: Mapping[str, Mapping[str, SecretKey]]
    area_keks: Mapping[Area, SecretKey]
    clock: Callable[[], datetime]
    encrypt: bool = True
    checkpoints: Signer | None = None
    on_dead_letter: Callable[[str, str], None] = field(default=lambda _topic, _error: None)


def route_record(record: InRecord, ctx: RouterContext, task: TaskState) -> list[OutRecord]:
    """Route one record (or apply an outcome); never raises for bad input (dead letter)."""
    try:
        if record.topic == OUTCOMES:
            return _apply_outcome(record, ctx, task)
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
    """The DLQ record: the original key and bytes with Kafka Connect-style context headers.

    ``hub dlq replay`` writes key, value and the original headers back as they were.
    """
    context = dlq_headers(record.topic, record.partition, record.offset, exc)
    headers = (*context, *record.headers)
    return OutRecord(DLQ, record.key, record.value or b"", headers)


def _route(record: InRecord, ctx: RouterContext, task: TaskState) -> list[OutRecord]:
    partner = INBOUND_PARTNER.get(record.topic)
    if partner is None:
        raise UnknownKindError(f"records on {record.topic} are not routed")
    if record.value is None:
        raise SchemaViolationError("empty record (tombstone) on an inbound topic")
    if ctx.macs is not None:
        mac = ctx.macs.inbound[partner]
        mac.verify(record.topic, record.partition, record.key, record.value, record.headers)
    message = _parse(record.value)
    meta = message.metadata
    if meta.partner is not partner:
        raise SchemaViolationError(
            f"metadata.partner is {meta.partner.value} but the record came from {partner.value}"
        )
    if meta.kind not in KINDS:
        raise UnknownKindError(f"metadata.kind: no contract for kind {meta.kind!r}")
    key = meta.subject_key.encode()
    if record.key != key:
        raise RecordKeyError("the record's Kafka key is not the message's subject key")
    if task.routed.routed(meta.message_id):
        raise DuplicateMessageError(f"message {meta.message_id} was already routed")
    structlog.contextvars.bind_contextvars(message_id=str(meta.message_id), partner=partner.value)
    state = task.history.state(meta.subject_key)
    contact = new_contact(meta, ())
    related = gather(meta, state.contacts, task.households, contact)
    history = summarise(meta, state, [r.contact for r in related if r.same_child])
    decision = decide(ctx.policy, meta, history)
    decided_at = ctx.clock()
    chronology = chronology_json(related, meta) if related else None
    # The decision's JSON parts, made once for the copies and the decision record.
    parts = _DecisionParts(
        decision, decided_at, datetime_json(decided_at), history.model_dump_json()
    )
    out = _routed_copies(message, parts, ctx, task.partition, chronology)
    out.append(_decision_record(meta, parts, task))
    contact = dataclasses.replace(
        contact, destinations=tuple(a.value for a in decision.destinations)
    )
    changed = task.history.record_contact(meta, contact)
    task.committed_contacts.append(contact)
    out.append(OutRecord(HISTORY, key, changed, partition=task.partition))
    out.append(OutRecord(HOUSEHOLD_HISTORY, contact_key(contact), contact_value(contact)))
    out.append(_routed_id(task, task.routed.add_message(meta.message_id), record, decided_at))
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
        raise SchemaViolationError(first_problem(exc)) from exc
    except UnicodeDecodeError as exc:
        raise SchemaViolationError("value: not UTF-8") from exc


def _routed_id(task: TaskState, key: bytes, source: InRecord, at: datetime) -> OutRecord:
    value = routed_id_value(at, source.topic, source.partition, source.offset)
    return OutRecord(ROUTED_IDS, key, value, partition=task.partition)


@dataclass(frozen=True)
class _DecisionParts:
    """One message's decision, and its time and history summary as JSON."""

    decision: Decision
    decided_at: datetime
    decided_at_json: str
    history_json: str


def _routed_copies(
    message: MessageReceived,
    parts: _DecisionParts,
    ctx: RouterContext,
    partition: int,
    chronology: bytes | None = None,
) -> list[OutRecord]:
    meta = message.metadata
    decision, decided_at = parts.decision, parts.decided_at
    opener = Opener(
        message,
        ctx.inbound_keks.get(meta.partner.value, {}),
        ctx.area_keks,
        encrypt=ctx.encrypt,
    )
    out = []
    key = meta.subject_key.encode()
    # Every copy carries the same metadata and decision: serialise them once.
    summary = summary_json(decision, parts.decided_at_json, parts.history_json)
    shared = _SharedParts(str(meta.message_id), meta.model_dump_json(), summary)
    for area in decision.destinations:
        due = due_by(area, decided_at, meta.risk.level, ctx.calendar)
        if area is Area.ENCOMPASS:
            values = _encompass_values(message, decision, decided_at, due, ctx, opener)
        else:
            values = [
                shared.copy(
                    area,
                    "envelope",
                    due,
                    opener.for_area(area),
                    opener.seal_shared(chronology, area) if chronology is not None else None,
                )
            ]
        topic = route_topic(area)
        for value in values:
            headers = (
                ctx.macs.routed[area].headers(topic, partition, key, value) if ctx.macs else ()
            )
            out.append(OutRecord(topic, key, value, headers, partition))
    return out


@dataclass(frozen=True)
class _SharedParts:
    """The JSON of a routed copy that is the same for every area."""

    message_id: str
    metadata: str
    decision: str

    def copy(
        self,
        area: Area,
        payload_type: str,
        due: datetime | None,
        content: dict[str, Any],
        chronology: dict[str, Any] | None = None,
    ) -> bytes:
        """The ``MessageRouted`` JSON of one copy (tests validate it against the model)."""
        sealed = content.get("sealed")
        sealed_json = content.get("sealed_json") or (
            sealed.model_dump_json() if sealed is not None else "null"
        )
        payload = content.get("payload")
        return (
            f'{{"area":"{area.value}","message_id":"{self.message_id}",'
            f'"metadata":{self.metadata},"payload_type":"{payload_type}",'
            f'"sealed":{sealed_json},'
            f'"payload":{json.dumps(payload) if payload is not None else "null"},'
            f'"decision":{self.decision},'
            f'"due_by":{json.dumps(due.isoformat()) if due is not None else "null"}'
            f"{_chronology_fields(chronology)}}}"
        ).encode()


def _encompass_values(  # noqa: PLR0917 -- the parts of one decision
    message: MessageReceived,
    decision: Decision,
    decided_at: datetime,
    due: datetime | None,
    ctx: RouterContext,
    opener: Opener,
) -> list[bytes]:
    """One Operation Encompass copy per notified child, built from its allow-list."""
    summary = encompass_decision(ctx.policy, decision, decided_at)
    values = []
    for copy in encompass_copies(message.metadata, opener.content()):
        sealed = opener.seal_new(copy.notice.model_dump_json().encode(), Area.ENCOMPASS)
        routed = MessageRouted(
            area=Area.ENCOMPASS,
            message_id=copy.metadata.message_id,
            metadata=copy.metadata,
            payload_type="encompass_notice",
            sealed=sealed.get("sealed"),
            payload=sealed.get("payload"),
            decision=summary,
            due_by=due,
        )
        values.append(routed.model_dump_json().encode())
    return values


def _chronology_fields(chronology: dict[str, Any] | None) -> str:
    """The copy's chronology: sealed, or in clear with encryption off; nothing if none."""
    if chronology is None:
        return ""
    sealed = chronology.get("sealed_json")
    if sealed is not None:
        return f',"chronology_sealed":{sealed}'
    return f',"chronology":{chronology["payload"]}'


def _decision_record(meta: RoutingMetadata, parts: _DecisionParts, task: TaskState) -> OutRecord:
    digest, value = record_json(
        meta, parts.decision, parts.decided_at_json, parts.history_json, task.chain.head
    )
    task.chain = task.chain.advance(digest)
    return OutRecord(DECISIONS, meta.subject_key.encode(), value, partition=task.partition)


def _apply_outcome(record: InRecord, ctx: RouterContext, task: TaskState) -> list[OutRecord]:
    """A team outcome may open or close a case: only with its own area's key, and once."""
    if record.value is None:
        return []
    try:
        outcome = OutcomeRecorded.model_validate_json(record.value)
    except ValidationError as exc:
        raise SchemaViolationError(f"outcome {first_problem(exc)}") from exc
    if ctx.macs is not None:
        # The key must be one of the outcome's own area: a team cannot speak for another.
        mac = ctx.macs.outcome[outcome.area]
        mac.verify(record.topic, record.partition, record.key, record.value, record.headers)
    key = outcome.subject_key.encode()
    if record.key != key:
        raise RecordKeyError("the outcome's Kafka key is not its subject key")
    if task.routed.applied(outcome.outcome_id):
        raise DuplicateMessageError(f"outcome {outcome.outcome_id} was already applied")
    out = [_routed_id(task, task.routed.add_outcome(outcome.outcome_id), record, ctx.clock())]
    changed, contact = task.history.apply_outcome(outcome)
    if changed is not None:
        out.append(OutRecord(HISTORY, key, changed, partition=task.partition))
        if contact is not None:
            out.append(OutRecord(HOUSEHOLD_HISTORY, contact_key(contact), contact_value(contact)))
            task.committed_contacts.append(contact)
    return out
