"""Helpers for team app tests without a broker: real routed copies, the app in-process."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from hub.bootstrap import Hub
from hub.bootstrap.teams import area_keys, copy_check
from hub.router.handler import OutRecord, TaskState, route_record
from hub.router.history import HistoryStore
from hub.teams.accounts import AccountStore, Role
from hub.teams.app import create_app
from hub.teams.deps import TeamDeps
from hub.teams.intake import RoutedRecord, accept_routed
from hub.teams.ratelimit import SignInLimiter
from hub.teams.sessions import SessionStore
from hub.teams.store import QueueStore
from hub.teams.testing import FakeOutcomePublisher
from hub.web import TokenBuckets
from schemas.common import Area
from schemas.envelope import Envelope
from tests.factories import NOW
from tests.records import inbound_record

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def routed_copies(
    hub: Hub, env: Envelope, now: datetime = NOW, history: HistoryStore | None = None
) -> dict[str, list[OutRecord]]:
    """The router's routed copies of ``env``, by logical topic (real MACs and sealing)."""
    rec = inbound_record(hub, env)
    out = route_record(
        rec,
        hub.router_context(lambda: now),
        TaskState(rec.partition, history if history is not None else HistoryStore()),
    )
    found: dict[str, list[OutRecord]] = {}
    for o in out:
        if o.topic.startswith("route."):
            found.setdefault(o.topic, []).append(o)
    return found


def routed_values(
    hub: Hub, env: Envelope, now: datetime = NOW, history: HistoryStore | None = None
) -> dict[str, list[bytes]]:
    """The values of :func:`routed_copies`."""
    return {t: [o.value for o in c] for t, c in routed_copies(hub, env, now, history).items()}


def delivered(copy: OutRecord, offset: int = 0) -> RoutedRecord:
    """A routed copy as the team consumer reads it, at ``offset`` of its partition."""
    assert copy.partition is not None
    return RoutedRecord(copy.partition, offset, copy.value, copy.key, copy.headers)


def queue(
    store: QueueStore,
    hub: Hub,
    env: Envelope,
    area: Area,
    *,
    now: datetime = NOW,
    offset: int = 0,
    history: HistoryStore | None = None,
) -> int:
    """Route ``env`` and store its copies for ``area``; return how many rows were stored."""
    copies = routed_copies(hub, env, now, history).get(f"route.{area.value}", [])
    check = copy_check(hub, (area,))
    for i, copy in enumerate(copies):
        accept_routed(store, area, delivered(copy, offset + i), now, check)
    return len(copies)


def make_deps(
    hub: Hub,
    state: Path,
    areas: tuple[Area, ...],
    clock: Callable[[], datetime] = lambda: NOW,
    limiter: SignInLimiter | None = None,
) -> TeamDeps:
    accounts = state / "accounts.sqlite"
    return TeamDeps(
        store=QueueStore(state / "teams.sqlite"),
        accounts=AccountStore(accounts),
        sessions=SessionStore(accounts, b"k" * 32, timedelta(hours=8)),
        publisher=FakeOutcomePublisher(),
        consumer=None,
        keks=area_keys(hub, areas),
        calendar=hub.calendar(),
        areas=areas,
        clock=clock,
        limiter=limiter or SignInLimiter(TokenBuckets(100, 1), TokenBuckets(100, 1)),
    )


@dataclass
class TeamApp:
    client: httpx.AsyncClient
    deps: TeamDeps

    @property
    def published(self) -> FakeOutcomePublisher:
        assert isinstance(self.deps.publisher, FakeOutcomePublisher)
        return self.deps.publisher

    async def sign_in(self, username: str, password: str) -> httpx.Response:
        form = await self.client.get("/sign-in")
        token = csrf_of(form.text)
        return await self.client.post(
            "/sign-in", data={"username": username, "password": password, "csrf_token": token}
        )

    async def sign_in_as(
        self, username: str, area: Area, role: Role = Role.PRACTITIONER
    ) -> httpx.Response:
        """Add ``username`` to ``area`` in ``role``, and sign in with the password issued."""
        password = self.deps.accounts.add_user(username, area, role)
        return await self.sign_in(username, password)

    async def csrf(self, path: str) -> str:
        return csrf_of((await self.client.get(path)).text)

    async def post_outcome(
        self, area: Area, message_id: uuid.UUID, outcome: str, rationale: str
    ) -> httpx.Response:
        """Record an outcome through ``area``'s API with a new client token of that area."""
        token = self.deps.accounts.add_client(area)
        return await self.client.post(
            f"/api/v1/areas/{area.value}/messages/{message_id}/outcome",
            json={"message_id": str(message_id), "outcome": outcome, "rationale": rationale},
            headers={"Authorization": f"Bearer {token}"},
        )


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html[:500]
    return found.group(1)


@contextlib.asynccontextmanager
async def running_app(deps: TeamDeps) -> AsyncIterator[TeamApp]:
    app = create_app(deps)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://teams.test") as client:
            yield TeamApp(client, deps)


def teams_command() -> list[str]:
    """``hub teams`` once it is registered; until then the module runs on its own."""
    from hub.cli import app  # noqa: PLC0415 -- only to see what is registered

    registered = any(group.name == "teams" for group in app.registered_groups)
    return ["-m", "hub", "teams"] if registered else ["-m", "hub.cli.teams"]
