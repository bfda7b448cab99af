"""The consumer's handler: one record of ``route.<area>`` in, one queue row stored.

:func:`accept_routed` is a plain function of the record and the store, with no Kafka
in it; :mod:`hub.teams.consumer` is the FastStream shim around it. It never decrypts:
the content stays sealed until a practitioner opens the message.

Before anything is stored the copy must prove it came from the router
(:class:`CopyCheck`): its MAC must verify with this area's ``route-mac`` key over
this topic, partition, key and value, and while encryption is on its content must be
sealed. A copy that fails is never queued, so never shown: the consumer sets it aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import ValidationError

from hub.errors import SchemaViolationError, SignatureError, UnsealedContentError, first_problem
from hub.security.mac import RecordMac
from hub.teams.store import Incoming, QueueStore
from hub.topology import route_topic
from schemas.common import SCHOOL_AGE, Area
from schemas.envelope import RoutingMetadata
from schemas.routed import EncompassMetadata, MessageRouted


@dataclass(frozen=True)
class RoutedRecord:
    """A consumed record of ``route.<area>`` (only what the handler needs)."""

    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class CopyCheck:
    """How a team tells the router's copies from anything else written to its topic.

    ``macs`` holds the ``route-mac`` key of each area served (None turns authentication
    off, as the router's ``HUB_CRYPTO__SIGN=false`` does); ``sealed_only`` refuses a
    clear ``payload`` (on whenever encryption is on).
    """

    macs: Mapping[Area, RecordMac] | None
    sealed_only: bool = True

    def authenticate(self, area: Area, record: RoutedRecord) -> None:
        """Raise :class:`SignatureError` unless the router made this record for ``area``."""
        if self.macs is None:
            return
        mac = self.macs.get(area)
        if mac is None:
            raise SignatureError(f"this instance holds no route key of {area.value}")
        value = record.value if record.value is not None else b""
        mac.verify(route_topic(area), record.partition, record.key, value, record.headers)

    def content(self, routed: MessageRouted) -> None:
        """Raise :class:`UnsealedContentError` for clear content while encryption is on."""
        clear = routed.payload is not None or routed.chronology is not None
        if self.sealed_only and (clear or routed.sealed is None):
            raise UnsealedContentError("payload: clear content while encryption is on")


def parse_routed(value: bytes | None, area: Area) -> MessageRouted:
    """The routed copy in ``value``, checked to be for ``area``.

    Raises :class:`SchemaViolationError` naming the field, never quoting the input.
    """
    if value is None:
        raise SchemaViolationError("value: empty record")
    try:
        routed = MessageRouted.model_validate_json(value)
    except ValidationError as exc:
        raise SchemaViolationError(first_problem(exc, detail="type")) from exc
    if routed.area is not area:
        raise SchemaViolationError(f"area: {routed.area.value} on the {area.value} topic")
    if routed.sealed is None and routed.payload is None:
        raise SchemaViolationError("sealed: neither sealed nor clear content")
    return routed


def child_positions(routed: MessageRouted) -> tuple[int, ...]:
    """The rows a routed copy may become: one per notified child for Encompass, else (0,)."""
    if routed.payload_type != "encompass_notice":
        return (0,)
    if isinstance(routed.metadata, EncompassMetadata):
        return (routed.metadata.child_index,)
    return encompass_children(routed.metadata) or (0,)


def encompass_children(meta: RoutingMetadata) -> tuple[int, ...]:
    """Positions, in ``meta.subjects``, of the children the router writes a notice for."""
    return tuple(
        i
        for i, s in enumerate(meta.subjects)
        if s.is_child and s.age_years in SCHOOL_AGE and (s.has_school or s.elective_home_education)
    )


def accept_routed(
    store: QueueStore, area: Area, record: RoutedRecord, now: datetime, check: CopyCheck
) -> tuple[bool, UUID]:
    """Store one routed record (idempotently); raise a permanent error for a bad one.

    Answers whether it was stored (False: a duplicate) and the message id.

    A record the router did not make for ``area`` raises :class:`SignatureError`
    (or :class:`UnsealedContentError`) before anything of it is parsed or stored.
    """
    check.authenticate(area, record)
    routed = parse_routed(record.value, area)
    check.content(routed)
    assert record.value is not None  # parse_routed refuses an empty record
    incoming = Incoming(
        routed=routed,
        routed_json=record.value.decode(),
        partition=record.partition,
        offset=record.offset,
        child_positions=child_positions(routed),
    )
    return store.add(incoming, now), routed.message_id
