"""In-package fakes of the team app's ports, for tests that need no broker."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import HubError, KafkaUnavailableError
from schemas.common import Area
from schemas.outcome import OutcomeRecorded


@dataclass
class FakeOutcomePublisher:
    """Keeps published outcomes and refusal notes; ``fail`` makes writes fail like Kafka."""

    published: list[tuple[OutcomeRecorded, list[tuple[str, bytes]]]] = field(default_factory=list)
    partitions: list[int] = field(default_factory=list)
    set_aside_notes: list[tuple[Area, int, int, str]] = field(default_factory=list)
    fail: bool = False

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def publish(
        self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]], *, partition: int
    ) -> None:
        """Keep ``outcome``, or fail as an unreachable Kafka would."""
        if self.fail:
            raise KafkaUnavailableError("fake: Kafka unavailable")
        self.published.append((outcome, headers))
        self.partitions.append(partition)

    async def set_aside(self, area: Area, partition: int, offset: int, error: HubError) -> None:
        """Keep the note (area, partition, offset, error class), or fail like Kafka."""
        if self.fail:
            raise KafkaUnavailableError("fake: Kafka unavailable")
        self.set_aside_notes.append((area, partition, offset, type(error).__name__))
