"""Request bodies: read only after authenticating, and never beyond a limit.

- :class:`BodyCap` (every app, outermost but for the security headers): a declared
  ``Content-Length`` over the app's limit is ``413`` before anything else runs; a
  chunked body is cut off at the limit and answered ``413`` too.
- :class:`BearerGate` (the team API): the bearer token is checked, and the body's
  declared length bounded (``411`` without one), before FastAPI reads a byte. FastAPI
  reads and parses a route's pydantic body *before* its dependencies run, so a
  dependency alone cannot authenticate first; the gate can, and the routes keep their
  typed bodies and OpenAPI schemas.
- :func:`read_body` reads a body up to a limit, for handlers that read their own
  (the ingest, the forms); :func:`parse_form` parses an URL-encoded form from it
  (Starlette's form parser has no size limit).

A client that goes away mid-body (or is cut off by the receipt deadline) surfaces as
Starlette's ``ClientDisconnect``, which :class:`~hub.web.problems.HubApp` answers
quietly: no traceback per cut body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.web.problems import Problem, problem_response

Answer = Callable[[Scope, Problem], Response]
"""How a middleware answers an error: the app's format for the request in ``scope``."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM = "application/x-www-form-urlencoded"


class FormError(Exception):
    """A form that cannot be read: not URL-encoded, too many fields, not UTF-8."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, if it is at most ``limit`` bytes; None otherwise (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(raw: bytes, content_type: str, *, max_fields: int = 20) -> dict[str, str]:
    """An URL-encoded form's fields (the first value of each name)."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() != FORM:
        raise FormError(415, "The form must be sent URL-encoded.")
    try:
        pairs = parse_qsl(
            raw.decode("ascii"),
            keep_blank_values=True,
            max_num_fields=max_fields,
            encoding="utf-8",
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "The form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def plain_answer(_scope: Scope, found: Problem) -> Response:
    """Problem details, whoever asks."""
    return problem_response(found)


def too_large(limit: int) -> Problem:
    """The ``413`` of a body over ``limit`` bytes."""
    return Problem(413, "Content Too Large", f"The body is larger than {limit} bytes.")


def _declared_length(scope: Scope) -> str | None:
    """The request's ``Content-Length`` as sent, or None (header names arrive lower-case)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return str(value.decode("latin-1"))
    return None


class BodyCap:
    """Pure ASGI middleware: no request body over ``limit`` bytes reaches the app."""

    def __init__(self, app: ASGIApp, limit: int, answer: Answer = plain_answer) -> None:
        self._app = app
        self._limit = limit
        self._answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared length over the limit; cut a chunked body off at it."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared.isdigit():
            if int(declared) > self._limit:
                await self._answer(scope, too_large(self._limit))(scope, receive, send)
                return
            # The server's parser delivers exactly the declared length and no more (a
            # request with a Content-Length and a chunked body is refused as not HTTP),
            # so a declared body within the limit needs no counting.
            await self._app(scope, receive, send)
            return
        state = {"seen": 0, "over": False, "answered": False}

        async def bounded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > self._limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def replacing_send(message: Message) -> None:
            if not state["over"]:
                await send(message)
            elif not state["answered"] and message["type"] == "http.response.start":
                state["answered"] = True
                await self._answer(scope, too_large(self._limit))(scope, receive, send)

        await self._app(scope, bounded_receive, replacing_send)


class BearerGate:
    """Pure ASGI middleware: under ``prefix``, authenticate and bound the body before the app.

    ``authenticate`` maps a bearer token to its principal (None: unknown). The
    principal is put in the request state under ``key``. Without a valid token the
    answer is ``401`` and not a byte of the body is read; then a body method needs a
    ``Content-Length`` (``411``) of at most ``limit`` (``413``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        authenticate: Callable[[str], Any],
        limit: int,
        key: str = "principal",
        detail: str = "A valid bearer token is required.",
        answer: Answer = plain_answer,
    ) -> None:
        self._app = app
        self._answer = answer
        self._prefix = prefix
        self._authenticate = authenticate
        self._limit = limit
        self._key = key
        self._detail = detail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token and the declared length, then serve."""
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self._prefix):
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        principal = self._authenticate(token.strip()) if scheme.lower() == "bearer" else None
        refusal = None
        declared = headers.get("content-length")
        if principal is None:
            challenge = {"WWW-Authenticate": "Bearer"}
            refusal = Problem(401, "Unauthorized", self._detail, challenge)
        elif scope["method"] in BODY_METHODS or declared is not None:
            if declared is None or not declared.isdigit():
                detail = "Send the body with a Content-Length."
                refusal = Problem(411, "Length Required", detail)
            elif int(declared) > self._limit:
                refusal = too_large(self._limit)
        if refusal is not None:
            await self._answer(scope, refusal)(scope, receive, send)
            return
        scope.setdefault("state", {})[self._key] = principal
        await self._app(scope, receive, send)
