"""In-package fakes of the team app's ports, for tests that need no broker."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import KafkaUnavailableError
from schemas.outcome import OutcomeRecorded


@dataclass
class FakeOutcomePublisher:
    """Keeps published outcomes in a list; ``fail`` makes the next publishes fail like Kafka."""

    published: list[tuple[OutcomeRecorded, list[tuple[str, bytes]]]] = field(default_factory=list)
    fail: bool = False

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def publish(self, outcome: OutcomeRecorded, headers: list[tuple[str, bytes]]) -> None:
        """Keep ``outcome``, or fail as an unreachable Kafka would."""
        if self.fail:
            raise KafkaUnavailableError("fake: Kafka unavailable")
        self.published.append((outcome, headers))
