"""What the hub's three web apps share: errors, security headers, rate limits, serving.

The partner ingest, the team queue and the monitor answer every error as RFC 9457
problem details (:func:`problem`), put the same security headers on every response,
errors included (:class:`SecurityHeaders`, a pure ASGI middleware, so that nothing a
handler or the framework raises escapes it), limit callers with token buckets
(:class:`TokenBuckets`), and are served with one configuration (:func:`http_config`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM = "application/problem+json"

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Headers on every response: a strict CSP, no framing, no referrer, no caching."""


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def validation_problems(errors: Any) -> list[dict[str, str]]:
    """A framework validation error's list as ``{"field", "message"}`` entries."""
    listed = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in {"body", "query", "path"}]
        listed.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", ""))})
    return listed


class HubApp(FastAPI):
    """A FastAPI app whose every response has the security headers and every error is a problem.

    The headers wrap the whole middleware stack, outside Starlette's own error
    middleware, so that even the ``500`` of a crashed handler carries them.
    ``cacheable`` paths (static assets) keep their own ``Cache-Control``.
    """

    def __init__(self, *, cacheable: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cacheable = cacheable
        add_problem_handlers(self)

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, inside the security headers."""
        return SecurityHeaders(super().build_middleware_stack(), self._cacheable)


def add_problem_handlers(app: FastAPI) -> None:
    """Answer the framework's own errors (404, 405, 422, 500) as problem details."""

    @app.exception_handler(Exception)
    async def _crash(_request: Request, _exc: Exception) -> Response:
        return problem(500, "Internal Server Error", "The request failed; nothing is exposed.")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        listed = validation_problems(exc.errors())
        detail = f"{len(listed)} problem(s) with the request; nothing was done."
        return problem(422, "Unprocessable Content", detail, errors=listed)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every HTTP response, errors too.

    ``cacheable`` paths (static assets) keep their own ``Cache-Control``.
    """

    def __init__(self, app: ASGIApp, cacheable: frozenset[str] = frozenset()) -> None:
        self._app = app
        self._cacheable = cacheable
        self._raw = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope``, adding the headers to its response start."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        keep_cache = scope.get("path", "") in self._cacheable

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                ours = {k for k, _ in self._raw}
                if keep_cache:
                    ours.discard(b"cache-control")
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                headers += [(k, v) for k, v in self._raw if k in ours]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_headers)


MAX_KEYS = 10_000
"""Token buckets kept at most; the least recently used are dropped past it."""


@dataclass
class TokenBuckets:
    """``burst`` requests at once per key, refilled at ``per_s`` a second."""

    burst: float
    per_s: float
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str) -> float:
        """Take one token for ``key``; return 0, or the seconds to wait when none is left."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_s)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_s
        self._buckets[key] = (tokens - 1, now)
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return 0.0

    def allow(self, key: str) -> bool:
        """Take one token for ``key``; False when none is left."""
        return self.take(key) == 0.0


def http_config(
    app: Any,
    host: str,
    port: int,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> uvicorn.Config:
    """How every hub web app is served: our logging, no access log, TLS when given."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        limit_concurrency=1000,
        timeout_graceful_shutdown=30,
    )
