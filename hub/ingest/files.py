"""File import: a partner's export file, record by record, with the HTTP app's validation.

A file is split into records (a CSV batch by ``reference``, keeping the header; a JSON
array by element; NDJSON by line; anything else is one record), each record is parsed
by the partner's connector exactly as the HTTP endpoint would, and the accepted
envelopes are written in transactions through the same publisher and ledger (a
re-import writes nothing twice). The command shows a progress bar, prints a summary
and a report of every rejected record, and exits non-zero when any was rejected.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import mimetypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from connectors.errors import FieldError, ParseFailed
from connectors.protocol import Connector, ParseContext
from connectors.registry import connector_for
from hub.errors import ConfigurationError
from hub.ingest.app import IngestDeps
from schemas.common import Partner
from schemas.envelope import Envelope

_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".ndjson": "application/json",
    ".jsonl": "application/json",
    ".xml": "application/xml",
}
BATCH = 200


@dataclass(frozen=True)
class FileRecord:
    """One record of a file: where it is, its bytes, its content type."""

    label: str
    raw: bytes
    content_type: str


@dataclass
class ImportReport:
    """What an import did."""

    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, tuple[FieldError, ...]]] = field(default_factory=list)


def content_type_of(path: Path, connector: Connector) -> str:
    """The content type of a file, by extension, as the connector names it."""
    guessed = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or ""
    if guessed in connector.content_types:
        return guessed
    family = guessed.split("/")[-1]
    for accepted in connector.content_types:
        if accepted.endswith(family):
            return accepted
    return guessed


def split_records(raw: bytes, content_type: str, suffix: str) -> Iterator[FileRecord]:
    """Split a file's bytes into records."""
    if content_type.endswith("csv"):
        yield from _split_csv(raw)
    elif suffix in {".ndjson", ".jsonl"}:
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                yield FileRecord(f"line {number}", line, content_type)
    elif content_type.endswith("json") and raw.lstrip()[:1] == b"[":
        yield from _split_json_array(raw, content_type)
    else:
        yield FileRecord("file", raw, content_type)


def _split_json_array(raw: bytes, content_type: str) -> Iterator[FileRecord]:
    try:
        items = json.loads(raw)
    except ValueError as exc:
        yield FileRecord("file", raw, content_type)  # the parser names the error
        del exc
        return
    for index, item in enumerate(items):
        yield FileRecord(f"item {index}", json.dumps(item).encode(), content_type)


def _split_csv(raw: bytes) -> Iterator[FileRecord]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield FileRecord("file", raw, "text/csv")
        return
    lines = text.splitlines(keepends=True)
    if not lines:
        yield FileRecord("file", raw, "text/csv")
        return
    header = lines[0]
    columns = next(csv.reader([header]))
    if "reference" not in columns:
        yield FileRecord("file", raw, "text/csv")
        return
    index = columns.index("reference")
    groups: dict[str, list[int]] = {}
    rows = list(csv.reader(io.StringIO(text)))[1:]
    for number, row in enumerate(rows, start=2):
        ref = row[index] if index < len(row) else ""
        groups.setdefault(ref, []).append(number)
    buffer_rows = list(csv.reader(io.StringIO(text)))
    for ref, numbers in groups.items():
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(buffer_rows[0])
        for number in numbers:
            writer.writerow(buffer_rows[number - 1])
        label = f"rows {numbers[0]}-{numbers[-1]} (reference {ref or 'blank'})"
        yield FileRecord(label, out.getvalue().encode(), "text/csv")


DepsFor = Callable[[Partner], IngestDeps]
"""Builds the ingest's parts for one partner (the composition root's ``ingest_deps``)."""


def run_import(
    deps_for: DepsFor, partner_name: str, path: Path, console: Console | None = None
) -> int:
    """Import ``path`` for ``partner_name``; return how many records were rejected."""
    try:
        partner = Partner(partner_name)
    except ValueError:
        raise ConfigurationError(
            f"unknown partner {partner_name!r}; partners: {', '.join(p.value for p in Partner)}"
        ) from None
    report = asyncio.run(_import(deps_for(partner), partner, path, console or Console()))
    _print_report(report, console or Console())
    return len(report.rejected)


async def _import(deps: IngestDeps, partner: Partner, path: Path, console: Console) -> ImportReport:
    connector = connector_for(partner)
    raw = await asyncio.to_thread(path.read_bytes)
    content_type = content_type_of(path, connector)
    records = list(split_records(raw, content_type, path.suffix.lower()))
    report = ImportReport(records=len(records))
    await deps.ledger.start()
    publisher = deps.publishers[partner]
    await publisher.start()
    try:
        await deps.ledger.sync()
        async with asyncio.timeout(60):
            await publisher.healthy.wait()
        pending: list[Envelope] = []
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task(f"importing {path.name}", total=len(records))
            for record in records:
                context = ParseContext(deps.clock(), deps.subject_key_secret)
                try:
                    envelopes = connector.parse(record.raw, record.content_type, context)
                except ParseFailed as exc:
                    report.rejected.append((record.label, exc.errors))
                else:
                    for env in envelopes:
                        if deps.ledger.status(partner, env.message_id) is None:
                            pending.append(env)
                        else:
                            report.duplicates += 1
                if len(pending) >= BATCH:
                    await _flush(deps, partner, pending, report)
                progress.advance(bar)
            await _flush(deps, partner, pending, report)
    finally:
        await publisher.stop()
        await deps.ledger.stop()
    return report


async def _flush(
    deps: IngestDeps, partner: Partner, pending: list[Envelope], report: ImportReport
) -> None:
    if not pending:
        return
    sealer = deps.sealers[partner]
    await deps.publishers[partner].publish([sealer.encode(e) for e in pending])
    deps.ledger.accept(pending)
    report.accepted += len(pending)
    pending.clear()


def _print_report(report: ImportReport, console: Console) -> None:
    summary = Table(title="import summary")
    for column in ("records", "messages accepted", "already accepted", "records rejected"):
        summary.add_column(column, justify="right")
    summary.add_row(
        str(report.records), str(report.accepted), str(report.duplicates), str(len(report.rejected))
    )
    console.print(summary)
    if report.rejected:
        rejected = Table(title="rejected records")
        rejected.add_column("record")
        rejected.add_column("field")
        rejected.add_column("reason")
        for label, errors in report.rejected:
            for error in errors:
                rejected.add_row(label, error.field, error.message)
        console.print(rejected)
