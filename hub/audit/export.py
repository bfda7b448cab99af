"""``hub audit export``: the information-sharing record, as CSV and JSON.

Values in the record come from partners (references, identifiers) and from the policy
file, so a CSV cell could start like a spreadsheet formula (``=HYPERLINK(...)``).
Every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is written with a leading apostrophe (OWASP, CSV injection), which spreadsheets
show as text. The files hold personal data and are created readable by their owner
only (0600).
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.audit.log import read_partitions
from hub.settings import KafkaSettings
from schemas.decision import DecisionRecorded

EXPORT_FIELDS = (
    "decided_at",
    "message_id",
    "partner",
    "source_reference",
    "kind",
    "shared_with",
    "rules",
    "why",
    "consent_status",
    "lawful_basis",
    "shared_without_consent",
    "returned_reasons",
    "policy_version",
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def sharing_record(record: DecisionRecorded) -> dict[str, Any]:
    """One row of the information-sharing record: what, with whom, why, when, consent."""
    return {
        "decided_at": record.decided_at.isoformat(),
        "message_id": str(record.message_id),
        "partner": record.partner.value,
        "source_reference": record.source_reference,
        "kind": record.kind,
        "shared_with": [a.value for a in record.destinations],
        "rules": list(record.rules),
        "why": list(record.rationale),
        "consent_status": record.consent_status.value,
        "lawful_basis": record.lawful_basis.value,
        "shared_without_consent": record.shared_without_consent,
        "returned_reasons": list(record.returned_reasons),
        "policy_version": record.policy_version,
    }


async def export_sharing(
    kafka: KafkaSettings, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The information-sharing record for decisions made in [start, end), oldest first."""
    rows = []
    for records in (await read_partitions(kafka)).values():
        for _offset, value in records:
            try:
                record = DecisionRecorded.model_validate_json(value)
            except ValidationError:
                continue  # a damaged record is reported by verify, not exported
            if start <= record.decided_at < end:
                rows.append(sharing_record(record))
    return sorted(rows, key=lambda r: (r["decided_at"], r["message_id"]))


def neutralise(value: Any) -> Any:
    """A CSV cell that no spreadsheet reads as a formula (text only; numbers unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _private(path: Path) -> int:
    """A new or emptied file descriptor for ``path``, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    return fd


def write_export(rows: list[dict[str, Any]], out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write the rows as JSON and CSV (lists joined with ' | '), both mode 0600."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / f"{stem}.json", out_dir / f"{stem}.csv"
    with os.fdopen(_private(json_path), "w") as handle:
        handle.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    with os.fdopen(_private(csv_path), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: neutralise(" | ".join(v) if isinstance(v, list) else v) for k, v in row.items()}
            )
    return json_path, csv_path
