"""Helpers for agency-check tests without a broker: the team app and the ingest in-process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from hub.bootstrap import Hub
from hub.bootstrap.checks import check_keys
from hub.checks.index import CheckIndex
from hub.checks.testing import MemoryCheckWriter
from hub.ingest.checkcredentials import CheckCredentialStore
from hub.ingest.checks import IngestChecks
from hub.teams.checks import TeamChecks
from hub.teams.checkstore import CheckStore
from hub.teams.deps import TeamDeps
from schemas.checks import CheckPartner
from schemas.common import Area
from tests.memory_ingest import PartnerClient, ingest_client, memory_ingest_deps


def team_checks(hub: Hub, state: Path) -> TeamChecks:
    """The MASH's checks with real keys and MACs, writing to memory."""
    keys = check_keys(hub, CheckPartner)
    assert keys is not None
    return TeamChecks(
        store=CheckStore(state / "checks.sqlite"),
        writer=MemoryCheckWriter(),
        keys=keys,
        deadlines=hub.settings.checks,
        partitions=6,
    )


@dataclass
class Ingest(PartnerClient[CheckPartner]):
    checks: IngestChecks

    async def answer(
        self,
        partner: CheckPartner,
        check_id: str,
        body: dict[str, object],
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``body`` to ``partner``'s answer path, with its credential unless ``headers``."""
        url = f"/v1/{partner}/checks/{check_id}/response"
        return await self.client.post(url, json=body, headers=headers or self.auth(partner))

    async def first_check_id(self, partner: CheckPartner) -> str:
        """The id of the first check ``partner`` lists with its own credential."""
        listed = await self.client.get(f"/v1/{partner}/checks", headers=self.auth(partner))
        check_id: str = listed.json()["checks"][0]["check_id"]
        return check_id

    @property
    def writer(self) -> dict[CheckPartner, MemoryCheckWriter]:
        found = {}
        for p, w in self.checks.writers.items():
            assert isinstance(w, MemoryCheckWriter)
            found[p] = w
        return found


@contextlib.asynccontextmanager
async def ingest(hub: Hub, state: Path, now: datetime) -> AsyncIterator[Ingest]:
    """The ingest app with its check endpoints, every partner's credential issued."""
    answer_only = CheckCredentialStore(state / "check-credentials.json")
    keys = check_keys(hub, CheckPartner)
    assert keys is not None
    checks = IngestChecks(
        index=CheckIndex(keys=keys),
        writers={p: MemoryCheckWriter() for p in CheckPartner},
        keys=keys,
        credentials=answer_only,
        partitions=6,
        clock=lambda: now,
    )
    deps, partner_tokens = memory_ingest_deps(state, now, checks=checks)
    tokens = {CheckPartner(p.value): token for p, token in partner_tokens.items()}
    tokens |= {p: answer_only.add(p) for p in CheckPartner if p not in tokens}
    async with ingest_client(deps) as client:
        yield Ingest(client=client, tokens=tokens, checks=checks)


def asked_writer(deps: TeamDeps) -> MemoryCheckWriter:
    assert deps.checks is not None
    writer = deps.checks.writer
    assert isinstance(writer, MemoryCheckWriter)
    return writer


MASH = frozenset({Area.MASH})
