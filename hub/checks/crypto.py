"""Sealing and authenticating agency checks (DESIGN.md sections 14 and 17).

Each partner has two keys, held by the asking team (MASH) and that partner's ingest
only: ``check-<p>``, the key-encryption key, and ``check-mac-<p>``, the MAC key. A
request's :class:`~schemas.checks.CheckQuestion` (the question and the child's and
household's details) is sealed for ``partner:<p>``; an answer for ``area:<a>``, the
asking area. The check id is the associated data, so a sealed part moved to another
check does not open, and the recipient is bound into each wrapped key, so a request's
key does not open an answer. Every record carries the MAC of its partner's key over
its topic, partition, key and value (:mod:`hub.security.mac`, links ``check`` and
``check-answer``): a record changed, forged with another partner's key or copied
elsewhere is refused. ``DecryptionError`` and ``SignatureError`` are what fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from hub.checks.writer import CheckRecord
from hub.errors import RecordKeyError, SchemaViolationError, SignatureError
from hub.kafka import partition_for
from hub.security.keys import SecretKey
from hub.security.mac import Headers, RecordMac
from hub.security.sealing import Recipient, area_recipient, decrypt_for, seal
from hub.topology import CHECK_RESPONSES, CHECKS
from schemas.checks import (
    AnswerCheck,
    CheckAnswered,
    CheckPartner,
    CheckQuestion,
    CheckRequested,
)
from schemas.common import Area
from schemas.wire import Sealed

_M = TypeVar("_M", bound=BaseModel)


def partner_recipient(partner: CheckPartner) -> str:
    """The recipient name of a partner's wrapped key."""
    return f"partner:{partner.value}"


@dataclass(frozen=True)
class CheckKeys:
    """One partner's check keys: every KEK id, the current one, and the MACs (None: off)."""

    partner: CheckPartner
    keks: Mapping[str, SecretKey] = field(repr=False)
    current: Callable[[], str]
    request_mac: RecordMac | None = None
    answer_mac: RecordMac | None = None

    def seal_question(self, check_id: UUID, content: CheckQuestion) -> Sealed:
        """Seal a request's content for this partner only."""
        name = partner_recipient(self.partner)
        return seal(_json(content), check_id, [Recipient(name, self.keks[self.current()])])

    def open_question(self, request: CheckRequested) -> CheckQuestion:
        """Open a request's content (this partner's ingest, or the asking team)."""
        raw = decrypt_for(
            request.sealed, request.check_id, partner_recipient(self.partner), self.keks
        )
        return _parse(CheckQuestion, raw)

    def seal_answer(self, check_id: UUID, area: Area, answer: AnswerCheck) -> Sealed:
        """Seal an answer for the asking area only."""
        name = area_recipient(area.value)
        return seal(_json(answer), check_id, [Recipient(name, self.keks[self.current()])])

    def open_answer(self, answered: CheckAnswered) -> AnswerCheck:
        """Open an answer (the asking area's team)."""
        raw = decrypt_for(
            answered.sealed, answered.check_id, area_recipient(answered.area.value), self.keks
        )
        return _parse(AnswerCheck, raw)


def _json(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def _parse(model: type[_M], raw: bytes) -> _M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise SchemaViolationError(f"sealed {model.__name__} is invalid") from exc


def request_record(keys: CheckKeys, request: CheckRequested, partitions: int) -> CheckRecord:
    """The ``hub.checks`` record of a request, keyed and MACed."""
    return _record(CHECKS, keys.request_mac, request, request.subject_key, partitions)


def answer_record(keys: CheckKeys, answered: CheckAnswered, partitions: int) -> CheckRecord:
    """The ``hub.check-responses`` record of an answer, keyed and MACed."""
    return _record(CHECK_RESPONSES, keys.answer_mac, answered, answered.subject_key, partitions)


def _record(
    topic: str, mac: RecordMac | None, event: BaseModel, subject_key: str, partitions: int
) -> CheckRecord:
    key, value = subject_key.encode(), _json(event)
    partition = partition_for(key, partitions)
    headers = list(mac.headers(topic, partition, key, value)) if mac is not None else []
    return CheckRecord(topic, partition, key, value, headers)


@dataclass(frozen=True)
class Received:
    """A record as read from Kafka (logical topic)."""

    topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: Headers


def read_request(keys: Mapping[CheckPartner, CheckKeys], record: Received) -> CheckRequested:
    """A verified request: valid JSON, keyed by its subject, MACed with its partner's key."""
    request = _parse(CheckRequested, record.value)
    _verify(keys, request.partner, request.subject_key, record, answer=False)
    return request


def read_answer(keys: Mapping[CheckPartner, CheckKeys], record: Received) -> CheckAnswered:
    """A verified answer: valid JSON, keyed by its subject, MACed with its partner's key."""
    answered = _parse(CheckAnswered, record.value)
    _verify(keys, answered.partner, answered.subject_key, record, answer=True)
    return answered


def _verify(
    keys: Mapping[CheckPartner, CheckKeys],
    partner: CheckPartner,
    subject_key: str,
    record: Received,
    *,
    answer: bool,
) -> None:
    if record.key != subject_key.encode():
        raise RecordKeyError("the record's key is not its subject key")
    held = keys.get(partner)
    if held is None:
        raise SignatureError(f"no check key for {partner.value}")
    mac = held.answer_mac if answer else held.request_mac
    if mac is not None:
        mac.verify(record.topic, record.partition, record.key, record.value, record.headers)
