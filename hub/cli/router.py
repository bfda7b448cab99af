"""``hub router run``: the router service."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from hub import tracing
from hub.cli._async import run_until_signalled
from hub.cli._common import current_hub, private_files
from hub.router.metrics import OpsEndpoint, serve_ops
from hub.router.service import Router
from hub.router.supervisor import Supervisor, child_environment, default_environment

app = typer.Typer(help="The router: inbound topics -> policy -> route topics and decisions.")


@app.command()
def run(
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Router processes in the group, one core each (a supervisor runs them).",
        ),
    ] = 1,
) -> None:
    """Route inbound messages until SIGTERM (then finish the batch in flight)."""
    private_files()
    hub = current_hub()
    settings = hub.settings
    if processes > 1:
        r = settings.router
        supervisor = Supervisor(
            processes,
            lambda i: child_environment(
                default_environment(), i, r.instance, r.state_dir, r.metrics_port
            ),
        )
        raise typer.Exit(code=supervisor.run())
    tracing.configure("hub-router")
    router = Router(
        hub.kafka_as("router"),
        hub.router_context(),
        settings.router.state_dir,
        instance=settings.router.instance,
        max_batch=settings.router.max_batch,
        batch_window_ms=settings.router.batch_window_ms,
        checkpoint_every_s=settings.router.checkpoint_interval_s,
    )

    async def service(stop: asyncio.Event) -> None:
        port = settings.router.metrics_port
        if port is None:
            await router.run(stop)
            return
        endpoint = OpsEndpoint(
            ready=lambda: router.ready.is_set() and not stop.is_set(),
            metrics=router.metrics,
            ops_token=settings.http.ops_token,
        )
        ops = asyncio.create_task(serve_ops(endpoint, settings.router.metrics_host, port, stop))
        try:
            await router.run(stop)
        finally:
            stop.set()
            await ops

    run_until_signalled(service)
