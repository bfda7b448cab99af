"""Helpers for ingest tests: the real app in-process against the real broker."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from hub.bootstrap import Hub
from hub.bootstrap.ingest import ingest_deps
from hub.ingest.app import IngestDeps
from hub.security.keys import init_keyring
from hub.settings import (
    ConnectorSettings,
    CryptoSettings,
    HubSettings,
    KafkaSettings,
    RouterSettings,
)
from schemas.common import Partner
from tests.memory_ingest import PartnerClient, ingest_client
from tests.orgs import TEST_ORGS

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT / "docs" / "formats" / "examples"


def ingest_hub(kafka: KafkaSettings, tmp: Path, **connectors: object) -> Hub:
    keys = tmp / "keys"
    init_keyring(keys)
    return Hub(
        HubSettings(
            kafka=kafka,
            crypto=CryptoSettings(keys_dir=keys),
            router=RouterSettings(state_dir=tmp / "router"),
            connectors=ConnectorSettings(state_dir=tmp / "connectors", **connectors),  # type: ignore[arg-type]
        )
    )


@dataclass
class Ingest(PartnerClient[Partner]):
    deps: IngestDeps


@contextlib.asynccontextmanager
async def running_ingest(hub: Hub) -> AsyncIterator[Ingest]:
    deps = ingest_deps(hub)
    tokens = {p: deps.credentials.add(p, TEST_ORGS[p]) for p in Partner}
    async with ingest_client(deps) as client:
        await deps.ledger.synced.wait()
        for publisher in deps.publishers.values():
            await publisher.healthy.wait()
        yield Ingest(client=client, tokens=tokens, deps=deps)
