"""Helpers for the attack tests: a keyring, the router in-process, records as written."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable

from hub.bootstrap import Hub
from hub.router.handler import InRecord, OutRecord, RouterContext, TaskState, route_record
from hub.router.history import HistoryStore
from hub.security.keys import KeyIds, Keyring, outcome_mac, route_mac
from hub.security.mac import CurrentId, Link, RecordMac
from hub.topology import OUTCOMES
from schemas.common import Area
from schemas.envelope import Envelope
from schemas.outcome import Outcome, OutcomeRecorded
from tests.factories import NOW, hub_with_keys
from tests.records import inbound_record

__all__ = [
    "Router",
    "area_writer",
    "dead_letter_class",
    "hub_with_keys",
    "outcome_from",
    "topics",
]


def area_writer(hub: Hub, link: Link, area: Area) -> RecordMac:
    """What the holder of ``area``'s key for ``link`` can MAC with (route or outcome)."""
    keys = Keyring(hub.settings.crypto.keys_dir)
    name = route_mac(area) if link is Link.ROUTED else outcome_mac(area)
    return RecordMac(link, KeyIds(keys, name), CurrentId(keys, name))


def outcome_from(
    hub: Hub,
    *,
    signer_area: Area,
    area: Area,
    subject_key: str,
    outcome: Outcome,
    partition: int,
    outcome_id: uuid.UUID | None = None,
) -> InRecord:
    """An outcome claiming ``area``, MACed by whoever holds ``signer_area``'s outcome key."""
    record = OutcomeRecorded(
        outcome_id=outcome_id or uuid.uuid4(),
        message_id=uuid.uuid4(),
        area=area,
        subject_key=subject_key,
        outcome=outcome,
        rationale="Synthetic rationale.",
        decided_by="sw-0001",
        decided_at=NOW,
    )
    key, value = subject_key.encode(), record.model_dump_json().encode()
    headers = area_writer(hub, Link.OUTCOME, signer_area).headers(OUTCOMES, partition, key, value)
    return InRecord(OUTCOMES, partition, 0, key, value, headers)


def topics(out: Iterable[OutRecord]) -> list[str]:
    return sorted(o.topic for o in out)


def dead_letter_class(out: list[OutRecord]) -> str:
    """The error class of the one dead letter ``out`` must be."""
    assert [o.topic for o in out] == ["hub.dlq"], topics(out)
    return dict(out[0].headers)["hub.dlq.error.class"].decode()


@dataclasses.dataclass
class Router:
    """One router task in-process, fed records as the service would feed them."""

    hub: Hub
    ctx: RouterContext
    task: TaskState

    @classmethod
    def for_partition(cls, hub: Hub, partition: int) -> Router:
        ctx = hub.router_context(lambda: NOW)
        return cls(hub, ctx, TaskState(partition, HistoryStore()))

    @classmethod
    def for_envelope(cls, hub: Hub, env: Envelope) -> Router:
        return cls.for_partition(hub, inbound_record(hub, env).partition)

    def route(self, record: InRecord) -> list[OutRecord]:
        return route_record(record, self.ctx, self.task)

    def send(self, env: Envelope, offset: int = 0) -> list[OutRecord]:
        return self.route(inbound_record(self.hub, env, offset))

    def destinations(self, out: list[OutRecord]) -> set[str]:
        decision = next(o for o in out if o.topic == "hub.decisions")
        return set(json.loads(decision.value)["destinations"])
