"""Routed once, ever: the ids of every message routed and every outcome applied.

A router task keeps the ids in memory (an ``int`` each) and writes each new one to the
compacted ``hub.routed-ids`` topic, partition = the task's partition, inside the
routing transaction; on assignment it reads its partition back, like the history
changelog. Unlike the per-subject history (bounded to twelve months and 200 contacts),
nothing here is ever trimmed, so a message id is refused however old the replay.

The topic's partition is the task's because a message can be valid in one partition
only: the partition is covered by the record's MAC, and the Kafka key must be the
subject key. So a replay always reaches the task that routed the original.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

_OUTCOME = 1 << 128
_OUTCOME_PREFIX = b"o"
_UUID_BYTES = 16


def message_key(message_id: UUID) -> bytes:
    """The ``hub.routed-ids`` key of a routed message: its 16 id bytes."""
    return message_id.bytes


def outcome_key(outcome_id: UUID) -> bytes:
    """The ``hub.routed-ids`` key of an applied outcome: ``o`` and its 16 id bytes."""
    return _OUTCOME_PREFIX + outcome_id.bytes


class RoutedIds:
    """The ids a router task has routed or applied (one ``int`` each)."""

    def __init__(self) -> None:
        self._ids: set[int] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def routed(self, message_id: UUID) -> bool:
        """Whether the message was routed already."""
        return message_id.int in self._ids

    def applied(self, outcome_id: UUID) -> bool:
        """Whether the outcome was applied already."""
        return (outcome_id.int | _OUTCOME) in self._ids

    def add_message(self, message_id: UUID) -> bytes:
        """Remember a routed message; return its key."""
        self._ids.add(message_id.int)
        return message_key(message_id)

    def add_outcome(self, outcome_id: UUID) -> bytes:
        """Remember an applied outcome; return its key."""
        self._ids.add(outcome_id.int | _OUTCOME)
        return outcome_key(outcome_id)

    def restore(self, key: bytes) -> None:
        """Apply one record of the topic (a malformed key is ignored)."""
        if len(key) == _UUID_BYTES + 1 and key.startswith(_OUTCOME_PREFIX):
            self._ids.add(int.from_bytes(key[1:], "big") | _OUTCOME)
        elif len(key) == _UUID_BYTES:
            self._ids.add(int.from_bytes(key, "big"))


def routed_id_value(at: datetime, topic: str, partition: int, offset: int) -> bytes:
    """The record's value: where and when the id was routed (for operators)."""
    return (
        f'{{"at":"{at.isoformat()}","topic":"{topic}","partition":{partition},"offset":{offset}}}'
    ).encode()
