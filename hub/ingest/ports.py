"""What the ingest app needs from the outside world, as Protocols.

The app (:mod:`hub.ingest.app`) depends on these, not on Kafka: the composition
root gives it :class:`~hub.ingest.ledger.KafkaLedger` and
:class:`~hub.ingest.publisher.TransactionalPublisher`; unit tests give it the
in-memory fakes of :mod:`hub.ingest.testing`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from uuid import UUID

from hub.ingest.ledger import MessageStatus, Written
from hub.security.envelope import InboundRecord
from schemas.common import Partner


class Publisher(Protocol):
    """Writes one partner's inbound records atomically, acknowledging after commit."""

    healthy: asyncio.Event
    """Set while the publisher can write."""
    on_recovered: list[asyncio.Event]
    """Events set each time the publisher becomes healthy again after a failure."""

    async def start(self) -> None:
        """Start writing (connecting may continue in the background)."""
        ...

    async def stop(self) -> None:
        """Stop; waiting writes fail."""
        ...

    async def publish(self, records: Sequence[InboundRecord]) -> None:
        """Write ``records`` in one transaction; return once committed, or raise."""
        ...


class Ledger(Protocol):
    """What the hub knows of partners' messages: accepted ids and their fate."""

    synced: asyncio.Event
    """Set once everything committed up to the last sync has been read."""

    async def start(self) -> None:
        """Start following the record of accepted messages and decisions."""
        ...

    async def stop(self) -> None:
        """Stop following."""
        ...

    async def sync(self, timeout_s: float = 60.0) -> None:
        """Wait until every committed message up to now is known."""
        ...

    def __len__(self) -> int: ...

    def status(self, partner: Partner, message_id: UUID) -> MessageStatus | None:
        """A partner's own message, or None."""
        ...

    def accept(self, envelopes: Iterable[Written]) -> None:
        """Record envelopes just written."""
        ...

    def claim(self, envelopes: Sequence[Written]) -> AbstractAsyncContextManager[None]:
        """Hold the envelopes' partner references while a request writes them."""
        ...
