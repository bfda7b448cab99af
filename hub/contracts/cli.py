"""JSON Schemas of the ``hub`` commands' ``--json`` outputs (``docs/cli/``).

Runbooks and monitoring scripts parse these outputs, so each is a contract like the
records on Kafka: generated from the model that prints it, committed, and checked for
drift by ``hub schemas export --check``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from hub.contracts.outputs import (
    AuditVerification,
    PartnersListing,
    PolicySimulation,
    TeamUsersListing,
)
from hub.monitor.snapshot import MonitorSnapshot
from hub.router.deadletters import DeadLettersListing

CLI_DIR = Path("docs") / "cli"
"""Where the output schemas live, relative to the project root."""

OUTPUTS: dict[str, type[BaseModel]] = {
    "status": MonitorSnapshot,
    "partners-list": PartnersListing,
    "teams-list-users": TeamUsersListing,
    "policy-simulate": PolicySimulation,
    "audit-verify": AuditVerification,
    "dlq-list": DeadLettersListing,
}
"""Each command with ``--json`` (its words joined by ``-``) and the model it prints."""


def cli_schema_files() -> dict[Path, str]:
    """Each output schema's path (relative to the project root) and text."""
    files = {}
    for name, model in OUTPUTS.items():
        schema = model.model_json_schema(mode="serialization")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:safeguarding-hub:cli:{name}",
            **schema,
        }
        files[CLI_DIR / f"{name}.schema.json"] = json.dumps(schema, indent=2) + "\n"
    return files
