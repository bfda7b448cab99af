"""The ingest's parts on in-memory ports, for tests that run the ingest app in-process."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from hub.ingest.app import IngestDeps
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
