"""The ingest app's OpenAPI document, generated without starting anything."""

from __future__ import annotations

import json
from pathlib import Path

from hub.ingest.app import IngestDeps, create_app
from hub.ingest.credentials import CredentialStore
from hub.ingest.testing import MemoryLedger

DOCUMENT_PATH = Path("docs") / "openapi.json"


def openapi_json() -> str:
    """The OpenAPI document of the partners' HTTP ingest, as committed."""
    deps = IngestDeps(
        credentials=CredentialStore(Path("/nonexistent/credentials.json")),
        ledger=MemoryLedger(),
        publishers={},
        sealers={},
        subject_key_secret=b"",
    )
    document = create_app(deps).openapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
