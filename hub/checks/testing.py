"""An in-memory fake of the check writer, for tests without a broker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.checks.crypto import Received
from hub.checks.writer import CheckRecord
from hub.errors import KafkaUnavailableError


@dataclass
class MemoryCheckWriter:
    """Keeps each committed batch; ``fail`` makes writes fail as an unreachable Kafka would."""

    batches: list[list[CheckRecord]] = field(default_factory=list)
    fail: bool = False

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def write(self, records: Sequence[CheckRecord]) -> None:
        """Keep ``records``, or fail."""
        if self.fail:
            raise KafkaUnavailableError("fake: Kafka unavailable")
        self.batches.append(list(records))

    def delivered(self) -> list[Received]:
        """Every record written, as a reader would receive it."""
        return [
            Received(r.topic, r.partition, r.key, r.value, r.headers)
            for batch in self.batches
            for r in batch
        ]
