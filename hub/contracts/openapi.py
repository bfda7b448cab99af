"""The OpenAPI documents of the ingest and of the team API, generated without starting anything."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

from hub.checks.crypto import CheckKeys
from hub.checks.index import CheckIndex
from hub.checks.testing import MemoryCheckWriter
from hub.ingest.app import IngestDeps, create_app
from hub.ingest.checkcredentials import CheckCredentialStore
from hub.ingest.checks import IngestChecks
from hub.ingest.credentials import CredentialStore
from hub.ingest.testing import MemoryLedger
from hub.security.keys import SecretKey
from hub.sla import CheckDeadlines, SlaCalendar, SlaSettings
from hub.teams.accounts import AccountStore
from hub.teams.app import create_app as create_team_app
from hub.teams.checks import TeamChecks
from hub.teams.checkstore import CheckStore
from hub.teams.deps import TeamDeps
from hub.teams.sessions import SessionStore
from hub.teams.store import QueueStore
from hub.teams.testing import FakeOutcomePublisher
from schemas.checks import CheckPartner
from schemas.common import Area

DOCUMENT_PATH = Path("docs") / "openapi.json"


def openapi_json() -> str:
    """The OpenAPI document of the partners' HTTP ingest, as committed."""
    deps = IngestDeps(
        credentials=CredentialStore(Path("/nonexistent/credentials.json")),
        ledger=MemoryLedger(),
        publishers={},
        sealers={},
        subject_key_secret=b"",
        checks=_document_checks(),
    )
    document = create_app(deps).openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _document_checks() -> IngestChecks:
    """Check endpoints for every partner, with keys that are never used (the document only)."""
    key = SecretKey("doc", b"\0" * 32)
    keys = {p: CheckKeys(p, {"doc": key}, lambda: "doc") for p in CheckPartner}
    return IngestChecks(
        index=CheckIndex(keys=keys),
        writers={p: MemoryCheckWriter() for p in CheckPartner},
        keys=keys,
        credentials=CheckCredentialStore(Path("/nonexistent/check-credentials.json")),
        partitions=1,
    )


TEAMS_DOCUMENT_PATH = Path("docs") / "openapi-teams.json"


def teams_openapi_json() -> str:
    """The OpenAPI document of the team app's case-management API (checks included)."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        keys = {p: CheckKeys(p, {}, lambda: "doc") for p in CheckPartner}
        checks = TeamChecks(
            store=CheckStore(state / "checks.sqlite"),
            writer=MemoryCheckWriter(),
            keys=keys,
            deadlines=CheckDeadlines(),
            partitions=1,
        )
        accounts = state / "accounts.sqlite"
        deps = TeamDeps(
            store=QueueStore(state / "queue.sqlite"),
            accounts=AccountStore(accounts),
            sessions=SessionStore(accounts, b"\0" * 32, timedelta(hours=1)),
            publisher=FakeOutcomePublisher(),
            consumer=None,
            keks={},
            calendar=SlaCalendar(SlaSettings()),
            areas=tuple(Area),
            checks=checks,
        )
        try:
            document = create_team_app(deps).openapi()
        finally:
            checks.store.close()
            deps.close()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
