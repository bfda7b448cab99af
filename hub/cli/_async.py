"""Running a long-lived service until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

import uvicorn
import uvloop

from hub import tracing
from hub.bootstrap import Hub
from hub.cli._common import current_hub, private_files
from hub.settings import HttpSettings
from hub.web import http_config

YOUNG_COLLECTION_EVERY = 20_000
"""Net new container objects between two young collections (CPython's default: 700).

A request or a routed message makes thousands of short-lived objects, nearly all freed
by reference counting; at 700 the collector ran several times per request, each run
also walking whatever the request still held (docs/performance.md)."""


def settle_collector() -> None:
    """Freeze what start-up built and collect the young generation less often.

    Called once a long-running process has imported and built everything, before it
    serves: the frozen objects (modules, pydantic schemas, the app) are never scanned
    again, so neither an older-generation collection nor a full one walks them while a
    request or a batch waits (they are long-lived by construction). The collector still
    runs: only its young-generation threshold is raised.
    """
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)


def run_until_signalled(service: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``service(stop)``; SIGTERM/SIGINT set ``stop`` so it can finish cleanly."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await service(stop)

    settle_collector()
    asyncio.run(main())


def serve_http(config: uvicorn.Config) -> None:
    """Serve an ASGI app until SIGTERM; a graceful stop exits with status 0.

    uvicorn re-raises the signal it stopped for once it has shut down, so that the
    process dies of it; a no-op SIGTERM handler underneath makes that re-raise harmless
    and the exit status honest (0 after a clean, requested shutdown).

    The event loop is uvloop's (libuv): its socket transports and scheduling cost
    a fraction of the standard loop's CPU per request (docs/performance.md).
    """
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    settle_collector()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(uvicorn.Server(config).serve())


class Listener(Protocol):
    """Where a web app listens, from its settings section (connectors, teams, monitor)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def tls_certfile(self) -> Path | None: ...
    @property
    def tls_keyfile(self) -> Path | None: ...


def serve_app(
    app: Any, listener: Listener, http: HttpSettings, host: str | None, port: int | None
) -> None:
    """Serve ``app`` where ``listener`` says, ``--host``/``--port`` overriding, until SIGTERM."""
    serve_http(
        http_config(
            app,
            host or listener.host,
            port or listener.port,
            http,
            certfile=listener.tls_certfile,
            keyfile=listener.tls_keyfile,
        )
    )


def serve_web_app(
    build: Callable[[Hub], tuple[Any, Listener]],
    host: str | None,
    port: int | None,
    *,
    traced_as: str | None = None,
) -> None:
    """Serve the app ``build`` makes of this process's hub where it says, until SIGTERM.

    Every file the process creates is private; ``traced_as`` names the service its
    traces carry (None: not traced).
    """
    private_files()
    if traced_as is not None:
        tracing.configure(traced_as)
    hub = current_hub()
    app, listener = build(hub)
    serve_app(app, listener, hub.settings.http, host, port)
