"""What the team app needs, built once by :mod:`hub.bootstrap.teams` (or by a test)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pydantic import SecretStr

from hub.security.keys import SecretKey
from hub.sla import SlaCalendar
from hub.teams.accounts import AccountStore
from hub.teams.checks import Tailer, TeamChecks, ask_checks
from hub.teams.outcomes import OutcomePublisher, record_authorisation, record_outcome
from hub.teams.ratelimit import SignInLimiter
from hub.teams.sessions import SessionStore
from hub.teams.store import QueueItem, QueueStore
from schemas.checks import AskChecks, CheckRequested
from schemas.common import Area
from schemas.envelope import Envelope
from schemas.outcome import AuthoriseDecision, OutcomeRecorded, RecordOutcome


class ManagedPublisher(OutcomePublisher, Protocol):
    """An outcome publisher the app starts and stops with itself."""

    async def start(self) -> None:
        """Connect."""

    async def stop(self) -> None:
        """Flush and close."""


class Consumer(Tailer, Protocol):
    """The area subscribers (:class:`~hub.teams.consumer.TeamConsumer`), started and stopped."""

    @property
    def ready(self) -> bool:
        """Every area's subscriber has joined its group."""


@dataclass
class TeamDeps:
    """Everything the app uses; the app itself holds no other state."""

    store: QueueStore
    accounts: AccountStore
    sessions: SessionStore
    publisher: ManagedPublisher
    consumer: Consumer | None
    keks: Mapping[Area, Mapping[str, SecretKey]] = field(repr=False)
    calendar: SlaCalendar
    areas: tuple[Area, ...]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    secure_cookies: bool = False
    retry_after_s: int = 5
    hashing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    """Bounds concurrent password hashes (each takes 32 MiB)."""
    ops_token: SecretStr | None = field(default=None, repr=False)
    """Who may see counts per area on ``/health`` (:mod:`hub.web.ops`)."""
    checks: TeamChecks | None = None
    """Agency checks (DESIGN.md section 17); None: this instance asks none."""

    def record_outcome(
        self, item: QueueItem, command: RecordOutcome, *, decided_by: str
    ) -> Awaitable[OutcomeRecorded]:
        """:func:`~hub.teams.outcomes.record_outcome` with this app's store, clock and calendar."""
        return record_outcome(
            self.store,
            self.publisher,
            item,
            command,
            decided_by=decided_by,
            clock=self.clock,
            calendar=self.calendar,
        )

    def record_authorisation(
        self, item: QueueItem, command: AuthoriseDecision, *, decided_by: str
    ) -> Awaitable[OutcomeRecorded]:
        """:func:`~hub.teams.outcomes.record_authorisation` with this app's store and clock."""
        return record_authorisation(
            self.store, self.publisher, item, command, decided_by=decided_by, clock=self.clock
        )

    async def ask_checks(
        self, checks: TeamChecks, envelope: Envelope, area: Area, command: AskChecks, by: str
    ) -> list[CheckRequested]:
        """:func:`~hub.teams.checks.ask_checks` on this app's calendar and clock."""
        return await ask_checks(
            checks,
            envelope,
            area,
            command,
            asked_by=by,
            calendar=self.calendar,
            clock=self.clock,
        )

    def close(self) -> None:
        """Close the local files."""
        self.store.close()
        self.sessions.close()
        self.accounts.close()
