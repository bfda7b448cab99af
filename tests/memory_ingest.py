"""The ingest app in-process for tests: its parts on in-memory ports, and a client of it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from hub.ingest.app import IngestDeps, create_app
from hub.ingest.credentials import CredentialStore
from hub.ingest.testing import MemoryLedger, MemoryPublisher
from hub.security.envelope import Sealer
from schemas.common import Partner
from tests.orgs import TEST_ORGS


def memory_ingest_deps(
    state: Path, now: datetime, secret: bytes = b"unit-test-secret", **options: Any
) -> tuple[IngestDeps, dict[Partner, str]]:
    """The ingest's parts on in-memory ports and every partner's token.

    In-memory ledger and publishers, no sealing, the clock stopped at ``now``; each
    partner's credential is issued under ``state`` for its test organisations.

    ``options`` are further :class:`IngestDeps` fields (``checks``, ``limiter``, ...).
    """
    credentials = CredentialStore(state / "credentials.json")
    tokens = {p: credentials.add(p, TEST_ORGS[p]) for p in Partner}
    deps = IngestDeps(
        credentials=credentials,
        ledger=MemoryLedger(),
        publishers={p: MemoryPublisher() for p in Partner},
        sealers={p: Sealer(None, None, 6) for p in Partner},
        subject_key_secret=secret,
        clock=lambda: now,
        **options,
    )
    return deps, tokens


@contextlib.asynccontextmanager
async def ingest_client(deps: IngestDeps) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the ingest app over ``deps``, in this process, while its lifespan runs."""
    app = create_app(deps)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client


PartnerT = TypeVar("PartnerT", bound=StrEnum)


@dataclass
class PartnerClient(Generic[PartnerT]):
    """A client of the ingest app in-process, and the credential each partner sends."""

    client: httpx.AsyncClient
    tokens: dict[PartnerT, str]

    def auth(self, partner: PartnerT, **headers: str) -> dict[str, str]:
        """``headers`` with ``partner``'s credential."""
        return {"Authorization": f"Bearer {self.tokens[partner]}", **headers}
