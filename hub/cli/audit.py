"""``hub audit verify|export``: the decision log's integrity and the information-sharing record."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.audit import AuditReport, export_sharing, verify_log, write_export
from hub.bootstrap import utc_now
from hub.cli._common import current_hub, fail, parse_moment, private_files
from hub.cli._progress import working
from hub.contracts.outputs import AuditFinding, AuditVerification
from hub.security.keys import ROUTER_SIGNING

app = typer.Typer(help="The tamper-evident decision log and the information-sharing record.")


@app.command()
def verify(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (docs/cli/audit-verify.schema.json).")
    ] = False,
) -> None:
    """Check every partition of hub.decisions against the router's signed checkpoints.

    Names each edited, removed, reordered, truncated, rebuilt or unanchored record
    (partition and offset); exits 0 when the log is intact, 1 otherwise. Needs the
    router's public key (signing-router/*.public) in the keyring.
    """
    hub = current_hub()
    keys = hub.keyring()
    public = keys.public_keys(ROUTER_SIGNING)
    if not public:
        raise fail(
            f"no {ROUTER_SIGNING} public key in {keys.root}: "
            "copy one there with `hub keys export --for audit DIR`"
        )
    now = utc_now()
    with working("Reading hub.decisions and the signed checkpoints...", quiet=as_json):
        report = asyncio.run(verify_log(hub.settings.kafka, public, now=now))
    if as_json:
        print(_verification(report, now).model_dump_json(indent=2))
        if report.findings:
            raise typer.Exit(code=1)
        return
    for finding in report.findings:
        print(finding)
    if report.findings:
        raise fail(f"audit log not intact: {len(report.findings)} finding(s)")
    print(
        f"audit log intact: {report.records} decision records in {report.partitions} "
        f"partitions, anchored by {report.checkpoints} signed checkpoints"
    )


def _verification(report: AuditReport, now: datetime) -> AuditVerification:
    return AuditVerification(
        intact=not report.findings,
        records=report.records,
        partitions=report.partitions,
        checkpoints=report.checkpoints,
        findings=[
            AuditFinding(
                topic=f.topic, partition=f.partition, offset=f.offset, kind=f.kind, text=f.text
            )
            for f in report.findings
        ],
        checked_at=now,
    )


@app.command()
def export(
    start: Annotated[str, typer.Option("--from", help="From (ISO date or date-time).")],
    end: Annotated[str, typer.Option("--to", help="To, exclusive (ISO date or date-time).")],
    out: Annotated[Path, typer.Option(help="Directory for the CSV and JSON files.")] = Path(),
) -> None:
    """Write what was shared, with whom, why, when, with or without consent (CSV and JSON)."""
    private_files()
    window = (parse_moment(start, "--from"), parse_moment(end, "--to"))
    with working("Reading the decisions of the window from Kafka..."):
        rows = asyncio.run(export_sharing(current_hub().settings.kafka, *window))
    stem = f"information-sharing-{window[0]:%Y%m%d}-{window[1]:%Y%m%d}"
    json_path, csv_path = write_export(rows, out, stem)
    for written in (json_path, csv_path):
        written.chmod(0o600)  # an earlier export of the same window kept its own mode
    without = sum(1 for r in rows if r["shared_without_consent"])
    print(f"{len(rows)} decisions ({without} shared without consent) written to:")
    print(f"  {csv_path}")
    print(f"  {json_path}")
