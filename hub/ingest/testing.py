"""In-memory fakes of the ingest's ports, for tests without a broker.

:class:`MemoryLedger` is the real index (:class:`~hub.ingest.ledger.LedgerIndex`)
with nothing to follow; :class:`MemoryPublisher` keeps what it is asked to write and
can be made to fail or to be unavailable, as Kafka can.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from hub.errors import KafkaUnavailableError
from hub.ingest.ledger import LedgerIndex
from hub.security.envelope import InboundRecord


@dataclass(kw_only=True)
class MemoryLedger(LedgerIndex):
    """The ledger's index, synced from the start; tests apply decisions themselves."""

    def __post_init__(self) -> None:
        self.synced.set()

    async def start(self) -> None:
        """Nothing to follow."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def sync(self, timeout_s: float = 60.0) -> None:
        """Already synced."""
        del timeout_s
        self.synced.set()

    def decide(
        self,
        message_id: UUID,
        destinations: Sequence[str],
        returned_reasons: Sequence[str] = (),
        decided_at: datetime | None = None,
    ) -> None:
        """Apply a decision as the router would record it."""
        decision = {
            "message_id": str(message_id),
            "destinations": list(destinations),
            "returned_reasons": list(returned_reasons),
            "decided_at": (decided_at or datetime.now(UTC)).isoformat(),
        }
        self.read_decision(json.dumps(decision).encode())


@dataclass
class MemoryPublisher:
    """Keeps each committed batch; ``fail_next`` makes the next write fail."""

    batches: list[tuple[InboundRecord, ...]] = field(default_factory=list)
    fail_next: bool = False
    healthy: asyncio.Event = field(default_factory=asyncio.Event)
    on_recovered: list[asyncio.Event] = field(default_factory=list)

    @property
    def records(self) -> list[InboundRecord]:
        """Every record written, in order."""
        return [r for batch in self.batches for r in batch]

    async def start(self) -> None:
        """Available at once."""
        self.healthy.set()

    async def stop(self) -> None:
        """Unavailable."""
        self.healthy.clear()

    async def publish(self, records: Sequence[InboundRecord]) -> None:
        """Keep ``records`` as one batch, or fail as Kafka would."""
        if not records:
            return
        if not self.healthy.is_set():
            raise KafkaUnavailableError("Kafka is not reachable; retry later")
        if self.fail_next:
            self.fail_next = False
            raise KafkaUnavailableError("the write was not acknowledged")
        self.batches.append(tuple(records))
