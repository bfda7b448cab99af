"""The apps under attack, in-process: the team app, the ingest and the monitor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.bootstrap import Hub
from hub.teams.app import create_app as team_app
from hub.teams.deps import TeamDeps
from schemas.common import Area
from tests.unit.teams.teamkit import make_deps

OFFICE = "198.51.100.7"
"""The practitioner's address."""
ELSEWHERE = "203.0.113.66"
"""The attacker's address."""


@dataclass
class BodyMeter:
    """Counts the request body bytes an app pulls through ASGI ``receive``."""

    app: ASGIApp
    read: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


@pytest.fixture
def team_deps(hub: Hub, tmp_path: Path) -> TeamDeps:
    return make_deps(hub, tmp_path / "teams", (Area.MASH, Area.EARLY_HELP))


@contextlib.asynccontextmanager
async def client_at(app: ASGIApp, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``address`` (the app's lifespan is not run)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@contextlib.asynccontextmanager
async def running(app: ASGIApp) -> AsyncIterator[None]:
    """Run a FastAPI app's lifespan around a test."""
    async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
        yield


@contextlib.asynccontextmanager
async def team_client(
    deps: TeamDeps, address: str = OFFICE
) -> AsyncIterator[tuple[httpx.AsyncClient, BodyMeter]]:
    """The team app with a body meter, and a client at ``address``."""
    app = team_app(deps)
    meter = BodyMeter(app)
    async with running(app), client_at(meter, address) as client:
        yield client, meter
