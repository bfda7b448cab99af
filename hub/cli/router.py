"""``hub router run``: the router service."""

from __future__ import annotations

import asyncio

import typer

from hub.cli._async import run_until_signalled
from hub.cli._common import current_hub, private_files
from hub.router.service import Router

app = typer.Typer(help="The router: inbound topics -> policy -> route topics and decisions.")


@app.command()
def run() -> None:
    """Route inbound messages until SIGTERM (then finish the batch in flight)."""
    private_files()
    hub = current_hub()
    settings = hub.settings
    router = Router(
        hub.kafka_as("router"),
        hub.router_context(),
        settings.router.state_dir,
        instance=settings.router.instance,
        max_batch=settings.router.max_batch,
    )

    async def service(stop: asyncio.Event) -> None:
        await router.run(stop)

    run_until_signalled(service)
