"""The monitor's HTTP app: ``/metrics``, the scorecard page ``/`` and ``/api/status``.

:func:`create_app` only serves what :class:`~hub.monitor.service.MonitorState`
holds; :func:`monitor_app` adds the lifespan that opens the collector and samples
every interval while the app runs (``hub monitor run``). Everything but the
stylesheet and ``/health`` (ready or not, nothing more) shows counts per area and
partner, so it is served to operators only (:mod:`hub.web.ops`): callers with the ops
token, or loopback clients when no token is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr

from hub.monitor.collector import Collector
from hub.monitor.metrics import monitor_registry, render_metrics
from hub.monitor.page import render_page
from hub.monitor.service import MonitorState, run_monitor
from hub.web import HubApp
from hub.web.ops import require_operator

__all__ = ["create_app", "monitor_app"]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
STYLESHEET = Path(__file__).resolve().parent / "scorecard.css"


def create_app(
    state: MonitorState,
    refresh_s: float = 10.0,
    lifespan: Lifespan | None = None,
    *,
    ops_token: SecretStr | None = None,
) -> FastAPI:
    """The app over ``state``; nothing in it talks to Kafka."""
    registry = monitor_registry(state)

    def operator(request: Request) -> None:
        require_operator(request, ops_token)

    app = HubApp(
        max_body=1024,
        cacheable=frozenset({"/static/scorecard.css"}),
        title="Safeguarding hub monitor",
        summary="Lag, consumer status, SLA and the partner scorecard.",
        lifespan=lifespan,
    )
    ops = [Depends(operator)]

    @app.get("/health", include_in_schema=False)
    def health() -> JSONResponse:
        """Liveness and readiness only: ready once the first sample was taken."""
        ready = state.latest is not None
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/static/scorecard.css", include_in_schema=False)
    def stylesheet() -> Response:
        return FileResponse(
            STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    @app.get("/metrics", include_in_schema=False, dependencies=ops)
    def metrics() -> Response:
        """Prometheus text exposition."""
        return Response(render_metrics(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, dependencies=ops)
    def scorecard() -> HTMLResponse:
        """The scorecard page (refreshes itself)."""
        return HTMLResponse(render_page(state, refresh_s))

    @app.get("/api/status", dependencies=ops)
    def status() -> JSONResponse:
        """The latest snapshot as JSON; 503 until the first sample has been taken."""
        body: dict[str, Any] = {
            "up": state.up,
            "sample_errors": state.sample_errors,
            "last_error": state.last_error,
            "snapshot": state.latest.model_dump(mode="json") if state.latest else None,
        }
        return JSONResponse(body, status_code=200 if state.latest else 503)

    return app


def monitor_app(
    collector_factory: Callable[[], Collector],
    interval_s: float,
    state: MonitorState | None = None,
    *,
    ops_token: SecretStr | None = None,
) -> FastAPI:
    """The app of ``hub monitor run``: samples in the background while it serves."""
    state = state or MonitorState()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_monitor(collector_factory, state, interval_s, lambda: datetime.now(UTC), stop),
            name="monitor-sampling",
        )
        try:
            yield
        finally:
            stop.set()
            try:
                async with asyncio.timeout(30):
                    await task
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return create_app(state, interval_s, lifespan, ops_token=ops_token)
