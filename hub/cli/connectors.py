"""``hub connectors serve|import``: the partners' HTTP ingest, and file import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from fastapi import FastAPI

from hub.bootstrap import Hub
from hub.bootstrap.checks import partner_pages
from hub.bootstrap.ingest import ingest_deps
from hub.cli._async import serve_web_app
from hub.cli._common import HostOption, PortOption, current_hub, private_files
from hub.cli._progress import working
from hub.ingest.app import create_app
from hub.partners.page import add_partner_pages
from hub.settings import ConnectorSettings

app = typer.Typer(help="Partner connectors: HTTP ingest and file import.")


@app.command()
def serve(
    port: PortOption = None,
    host: HostOption = None,
) -> None:
    """Serve every partner's HTTP endpoints until SIGTERM."""
    serve_web_app(_ingest_app, host, port, traced_as="hub-ingest")


def _ingest_app(hub: Hub) -> tuple[FastAPI, ConnectorSettings]:
    deps = ingest_deps(hub)
    app_ = create_app(deps)
    pages = partner_pages(hub, deps.checks)
    if pages is not None:
        add_partner_pages(app_, pages)
    return app_, hub.settings.connectors


@app.command(name="import")
def import_file(
    partner: Annotated[str, typer.Argument(help="police, health, housing or domestic-abuse.")],
    file: Annotated[Path, typer.Argument(help="The partner's export file.", exists=True)],
) -> None:
    """Import a partner's file with the same validation as HTTP; exit 1 if any was rejected."""
    from hub.ingest.files import run_import  # noqa: PLC0415 -- heavy, only for this command

    private_files()
    hub = current_hub()
    with working(f"Importing {file.name}..."):
        rejected = run_import(lambda p: ingest_deps(hub, (p,)), partner, file)
    if rejected:
        raise typer.Exit(code=1)
