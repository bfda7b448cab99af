"""``hub monitor run`` (metrics collector, /metrics and the scorecard) and ``hub status``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from fastapi import FastAPI
from rich.console import Console

from hub.bootstrap import Hub
from hub.cli._async import serve_web_app
from hub.cli._common import HostOption, PortOption, current_hub
from hub.cli._progress import working
from hub.errors import HubError
from hub.monitor.check import check, unknown
from hub.monitor.console import print_status
from hub.monitor.service import build_collector
from hub.monitor.snapshot import MonitorSnapshot
from hub.monitor.web import monitor_app
from hub.settings import MonitorSettings

app = typer.Typer(help="The monitor: lag, consumer status, SLA and the partner scorecard.")

_ONE_SHOT_BUDGET_S = 300.0
"""How long ``hub status`` may spend reading the retained decisions and outcomes."""


@app.command()
def run(
    port: PortOption = None,
    host: HostOption = None,
) -> None:
    """Sample every interval and serve /metrics, /api/status and the scorecard until SIGTERM."""
    serve_web_app(_monitor_app, host, port)


def _monitor_app(hub: Hub) -> tuple[FastAPI, MonitorSettings]:
    settings = hub.settings
    app_ = monitor_app(
        lambda: build_collector(settings, kafka=hub.kafka_as("monitor")),
        settings.monitor.interval_s,
        ops_token=settings.http.ops_token,
    )
    return app_, settings.monitor


def status(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the snapshot as JSON (docs/cli/status.schema.json)."),
    ] = False,
    nagios: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Print one plugin line; exit 0 OK, 1 warning, 2 critical, 3 unknown.",
        ),
    ] = False,
) -> None:
    """Lag, consumer status, undecided messages and SLA per area, and the partner scorecard.

    Exits 0 whenever the status could be read (``--check``: Nagios codes instead).
    """
    hub = current_hub()
    settings = hub.settings

    async def collect() -> MonitorSnapshot:
        async with build_collector(settings, kafka=hub.kafka_as("monitor")) as collector:
            return await collector.sample(catch_up_budget_s=_ONE_SHOT_BUDGET_S)

    try:
        with working(
            "Reading the queues, decisions and outcomes from Kafka...", quiet=as_json or nagios
        ):
            snapshot = asyncio.run(collect())
    except HubError as exc:
        if not nagios:
            raise
        result = unknown(str(exc))
        print(result.line)
        raise typer.Exit(code=result.state) from None
    if nagios:
        result = check(snapshot)
        print(result.line)
        raise typer.Exit(code=result.state)
    if as_json:
        print(snapshot.model_dump_json(indent=2))
        return
    print_status(snapshot, Console())
