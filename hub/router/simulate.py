"""Policy simulation: what a candidate policy would have done with real traffic.

``hub policy simulate --policy candidate.yaml --from T --to T`` reads the partners'
inbound topics (routing metadata only; sealed content stays sealed) and the team
outcomes from the beginning of retention up to ``--to``, replays them in the order
they were received through the policy in force and through the candidate, each with
its own history (so history-based rules diverge as they would), and reports, for
the messages received in the window, the volume per area under each policy and every
message whose destinations would change. Nothing is written to Kafka.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pydantic import ValidationError

from hub.kafka import kafka_errors, make_consumer, partitions_of, read_to_end, started
from hub.policy import Policy, decide
from hub.router.history import HistoryStore
from hub.settings import KafkaSettings
from hub.topology import INBOUND_TOPICS, OUTCOMES
from schemas.common import Area
from schemas.envelope import RoutingMetadata
from schemas.outcome import OutcomeRecorded
from schemas.wire import MessageReceived


@dataclass(frozen=True)
class Change:
    """A message the candidate would route differently."""

    message_id: UUID
    partner: str
    kind: str
    current: tuple[Area, ...]
    candidate: tuple[Area, ...]
    current_rules: tuple[str, ...]
    candidate_rules: tuple[str, ...]


@dataclass
class Simulation:
    """The comparison over a window."""

    start: datetime
    end: datetime
    current_version: str
    candidate_version: str
    messages: int = 0
    current: Counter[Area] = field(default_factory=Counter)
    candidate: Counter[Area] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)


Event = tuple[datetime, RoutingMetadata | OutcomeRecorded]


def simulate(
    current: Policy, candidate: Policy, events: Iterable[Event], start: datetime, end: datetime
) -> Simulation:
    """Replay ``events`` (in time order) through both policies; compare inside the window."""
    result = Simulation(start, end, current.version, candidate.version)
    histories = (HistoryStore(), HistoryStore())
    for when, event in sorted(events, key=lambda e: e[0]):
        if when >= end:
            break
        if isinstance(event, OutcomeRecorded):
            for history in histories:
                history.apply_outcome(event)
            continue
        decisions = []
        for policy, history in zip((current, candidate), histories, strict=True):
            decision = decide(policy, event, history.summary(event))
            history.record(event, decision.destinations)
            decisions.append(decision)
        if when < start:
            continue
        now, then = decisions
        result.messages += 1
        result.current.update(now.destinations)
        result.candidate.update(then.destinations)
        if set(now.destinations) != set(then.destinations):
            result.changes.append(
                Change(
                    event.message_id,
                    event.partner.value,
                    event.kind,
                    now.destinations,
                    then.destinations,
                    now.rules,
                    then.rules,
                )
            )
    return result


async def read_events(kafka: KafkaSettings, until: datetime) -> list[Event]:
    """Every inbound message's metadata and every team outcome up to ``until``."""
    consumer = make_consumer(kafka, "policy-simulate", read_committed=True)
    events: list[Event] = []
    async with started(consumer, "starting the simulation's reader"):
        with kafka_errors("reading inbound topics for the simulation"):
            partitions = await partitions_of(
                consumer, [kafka.topic(t) for t in (*INBOUND_TOPICS, OUTCOMES)]
            )
            outcomes = kafka.topic(OUTCOMES)
            async for tp, records in read_to_end(consumer, partitions):
                for record in records:
                    event = _event(record.value, is_outcome=tp.topic == outcomes)
                    if event is not None and event[0] < until:
                        events.append(event)
    return events


def _event(value: bytes | None, *, is_outcome: bool) -> Event | None:
    if value is None:
        return None
    try:
        if is_outcome:
            outcome = OutcomeRecorded.model_validate_json(value)
            return outcome.decided_at, outcome
        meta = MessageReceived.model_validate_json(value).metadata
    except ValidationError:
        return None  # unreadable input was dead-lettered by the router; it was never routed
    return meta.received_at, meta


def run_simulation(
    kafka: KafkaSettings, current: Policy, candidate: Policy, start: datetime, end: datetime
) -> Simulation:
    """Read the topics and simulate (the CLI's entry point)."""
    events = asyncio.run(read_events(kafka, end))
    return simulate(current, candidate, events, start, end)
