"""Dead letters without Kafka: what an operator sees, addresses, and what is refused."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from hub.bootstrap import Hub
from hub.errors import SchemaViolationError, SignatureError
from hub.router.deadletters import (
    DeadLetter,
    DeadLetterReplayed,
    _refusal,
    matches,
    parse_address,
)
from hub.router.handler import InRecord, dead_letter
from hub.router.replay import message_key
from schemas.wire import MessageReceived
from tests.factories import NOW, envelope
from tests.records import inbound_record


def letter_of(record: InRecord, exc: Exception, offset: int = 3) -> DeadLetter:
    out = dead_letter(record, exc)
    stamp = int(NOW.timestamp() * 1000)
    return DeadLetter(0, offset, stamp, out.key, out.value, out.headers)


class TestView:
    def test_the_reason_is_redacted_and_the_content_never_shown(self, hub: Hub) -> None:
        """An NHS number or a date of birth in an error text does not reach the operator."""
        record = inbound_record(hub, envelope())
        letter = letter_of(
            record, SchemaViolationError("subjects.0.nhs_number: 999 123 4567 born 2015-03-02")
        )
        view = letter.view()
        text = view.model_dump_json()
        assert "999 123 4567" not in text
        assert "2015-03-02" not in text
        assert "[redacted]" in view.reason
        assert record.value is not None
        assert record.value.decode() not in text
        meta = MessageReceived.model_validate_json(record.value).metadata
        assert view.message_id == meta.message_id
        assert meta.subject_key not in text
        assert (view.topic, view.topic_partition, view.topic_offset) == (
            record.topic,
            record.partition,
            record.offset,
        )
        assert view.error_class == "SchemaViolationError"
        assert view.replayable
        assert view.headers == [k for k, _v in record.headers]

    def test_a_teams_note_is_not_replayable(self) -> None:
        """A team's note of a refused copy has no content to write back."""
        note = DeadLetter(
            0, 1, 0, None, b"", (("hub.dlq.topic", b"route.mash"), ("hub.dlq.partition", b"2"))
        )
        assert not note.view().replayable
        assert _refusal(note, {}, set()) is not None


class TestAddress:
    @pytest.mark.parametrize("text", ["0", "a:1", "1:", ":3", "1:2:3", "-1:2"])
    def test_malformed(self, text: str) -> None:
        with pytest.raises(ValueError, match="<partition>:<offset>"):
            parse_address(text)

    def test_well_formed(self) -> None:
        assert parse_address("2:41") == (2, 41)


class TestRefusal:
    def test_replayed_once_and_never_a_routed_message(self, hub: Hub) -> None:
        record = inbound_record(hub, envelope())
        letter = letter_of(record, SignatureError("bad MAC"))
        assert _refusal(letter, {}, set()) is None
        done = DeadLetterReplayed(
            dlq_partition=0,
            dlq_offset=letter.offset,
            topic=record.topic,
            partition=record.partition,
            offset=9,
            message_id=None,
            error_class="SignatureError",
            replayed_at=datetime(2026, 1, 2, tzinfo=UTC),
            replayed_by="ops",
        )
        assert "replayed already" in (_refusal(letter, {(0, letter.offset): done}, set()) or "")
        _id, _kind, key = letter.identity()
        assert key is not None
        assert key == message_key(_id)  # type: ignore[arg-type]
        assert "routed already" in (_refusal(letter, {}, {key}) or "")

    def test_filters(self, hub: Hub) -> None:
        letter = letter_of(inbound_record(hub, envelope()), SignatureError("bad MAC"))
        assert matches(letter, error_class="SignatureError")
        assert not matches(letter, error_class="SchemaViolationError")
        assert matches(letter, since=NOW)
        earlier = dataclasses.replace(letter, timestamp_ms=letter.timestamp_ms - 1)
        assert not matches(earlier, since=NOW)
