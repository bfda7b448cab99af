"""``/metrics`` of the ingest and the team app: HTTP requests by route, for operators only.

The same middleware opens each request's server span when tracing is on
(:mod:`hub.tracing`), under the caller's ``traceparent`` if it sent one.

Each app gets a registry of its own (never the process-global one), a middleware
that times every request into ``hub_http_request_duration_seconds`` (a histogram;
``_count`` is the request count), labelled by the route's *template*
(``/v1/police/messages/{message_id}``, never the path a caller sent: no identifier
and no unbounded label reaches Prometheus), and a ``GET /metrics`` under the access
rule of :mod:`hub.web.ops`. An app may register collectors of its own on the registry.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from opentelemetry.trace import SpanKind
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import Collector
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import tracing
from hub.web.ops import require_operator

REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Request durations, 5 ms to 30 s (a batch upload may take seconds)."""
UNMATCHED = "(unmatched)"
"""The route label of a request no route matched (404s, probes of made-up paths)."""


class HttpMetrics:
    """The registry of one app and its request histogram."""

    def __init__(self, app_name: str) -> None:
        self.app_name = app_name
        disable_created_metrics()  # type: ignore[no-untyped-call] # no `_created` series
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "hub_http_request_duration_seconds",
            "Time from a request's first byte in the app to its response's last byte.",
            ("app", "method", "route", "status"),
            buckets=REQUEST_BUCKETS_S,
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Time one request (each series's child is looked up once, not per request)."""
        key = (method, route, str(status))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self.requests.labels(self.app_name, *key)
        series.observe(seconds)

    def register(self, collectors: Iterable[Collector]) -> None:
        """Add an app's own collectors to the registry."""
        for collector in collectors:
            self.registry.register(collector)

    def render(self) -> bytes:
        """The text exposition."""
        return generate_latest(self.registry)


class _Timing:
    """ASGI middleware: time each HTTP request into :class:`HttpMetrics`."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        method = scope.get("method", "")

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        incoming = _trace_headers(scope) if tracing.TRACER is not None else None
        with tracing.span(method, SpanKind.SERVER, incoming) as current:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or UNMATCHED
                self.metrics.observe(method, template, status, time.perf_counter() - started)
                if current is not None:
                    current.update_name(f"{method} {template}")
                    tracing.set_attributes(
                        current,
                        {
                            "http.request.method": method,
                            "http.route": template,
                            "http.response.status_code": status,
                        },
                    )


def _trace_headers(scope: Scope) -> dict[str, str]:
    return {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in scope.get("headers", ())
        if k == tracing.TRACEPARENT.encode()
    }


def add_metrics(app: FastAPI, app_name: str, ops_token: SecretStr | None) -> HttpMetrics:
    """Time every request of ``app`` and serve ``GET /metrics`` to operators only."""
    metrics = HttpMetrics(app_name)
    app.add_middleware(_Timing, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def serve_metrics(request: Request) -> Response:
        require_operator(request, ops_token)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return metrics
