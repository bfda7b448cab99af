"""Errors as RFC 9457 problem details, and the security headers on every response."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
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


@dataclass(frozen=True)
class Problem:
    """An error to answer: status, title, detail, extra headers, errors by field."""

    status: int
    title: str
    detail: str
    headers: Mapping[str, str] | None = None
    errors: tuple[Mapping[str, str], ...] | None = None

    def body(self) -> dict[str, Any]:
        """The RFC 9457 document."""
        found: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            found["errors"] = [dict(e) for e in self.errors]
        return found


ErrorRenderer = Callable[[Request, Problem], Response | None]
"""An app's own format for some callers' errors; None leaves the problem details."""


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_response(found: Problem) -> JSONResponse:
    """``found`` as problem details."""
    headers = dict(found.headers) if found.headers else None
    return JSONResponse(found.body(), status_code=found.status, media_type=PROBLEM, headers=headers)


def problem_bytes(status: int, detail: str, extra_headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 problem response that closes the connection, security headers included.

    For answers written by the server's protocol rather than the app (a request that
    never arrived in time, one that is not HTTP), which the app never sees.
    """
    body = json.dumps(Problem(status, title_of(status), detail).body()).encode()
    head = [
        f"HTTP/1.1 {status} {title_of(status)}",
        f"content-type: {PROBLEM}",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{k.lower()}: {v}" for k, v in SECURITY_HEADERS.items()),
        *(f"{k}: {v}" for k, v in extra_headers),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def validation_problems(errors: Any) -> list[dict[str, str]]:
    """A framework validation error's list as ``{"field", "message"}`` entries."""
    listed = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in {"body", "query", "path"}]
        listed.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", ""))})
    return listed


def title_of(status: int) -> str:
    """The standard reason phrase of ``status``."""
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
        raw = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        # Made once, not per response: the names ours replace, and the pairs added.
        self._ours = frozenset(k for k, _ in raw)
        self._raw = raw
        self._ours_cached = self._ours - {b"cache-control"}
        self._raw_cached = [(k, v) for k, v in raw if k in self._ours_cached]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope``, adding the headers to its response start."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if scope.get("path", "") in self._cacheable:
            ours, raw = self._ours_cached, self._raw_cached
        else:
            ours, raw = self._ours, self._raw

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                headers += raw
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_headers)
