"""The FastAPI app every hub front door is built on.

Its every error, the framework's own 404, 405 and 422 and a crashed handler's 500
included, is ``application/problem+json`` (an app may render some callers' errors in
their own format instead: the ingest answers FHIR callers with an OperationOutcome);
no body over the app's limit reaches it; and the security headers wrap the whole
middleware stack, so no response leaves without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Scope

from hub.web.body import BodyCap
from hub.web.problems import (
    ErrorRenderer,
    Problem,
    SecurityHeaders,
    problem_response,
    title_of,
    validation_problems,
)

log = structlog.get_logger("hub.web")


class HubApp(FastAPI):
    """A FastAPI app whose every response has the security headers and every error is a problem.

    The headers wrap the whole middleware stack, outside Starlette's own error
    middleware, so that even the ``500`` of a crashed handler carries them.
    ``cacheable`` paths (static assets) keep their own ``Cache-Control``.
    ``render_error`` may answer some callers' errors in their own format.
    """

    def __init__(
        self,
        *,
        max_body: int = 64 * 1024,
        cacheable: frozenset[str] = frozenset(),
        render_error: ErrorRenderer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_body = max_body
        self._cacheable = cacheable
        self._render_error = render_error
        self._gates: list[Callable[[ASGIApp], ASGIApp]] = []
        add_problem_handlers(self)

    def add_gate(self, gate: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put ``gate`` (ASGI middleware) outside everything but the security headers.

        A gate runs before the body cap and Starlette's own error middleware: an
        authentication gate answers an anonymous caller ``401`` whatever its body.
        """
        self._gates.append(gate)

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, inside the body cap, the gates and the security headers."""
        app: ASGIApp = BodyCap(super().build_middleware_stack(), self.max_body, self.answer_scope)
        for gate in self._gates:
            app = gate(app)
        return SecurityHeaders(app, self._cacheable)

    def answer_scope(self, scope: Scope, found: Problem) -> Response:
        """``found`` for the request in ``scope`` (for ASGI middleware)."""
        return self.answer(Request(scope), found)

    def answer(self, request: Request, found: Problem) -> Response:
        """``found`` in the caller's format: the app's own, or problem details."""
        if self._render_error is not None:
            rendered = self._render_error(request, found)
            if rendered is not None:
                return rendered
        return problem_response(found)


def answer(request: Request, found: Problem) -> Response:
    """``found`` answered by the request's app (problem details outside a :class:`HubApp`)."""
    app = request.app
    if isinstance(app, HubApp):
        return app.answer(request, found)
    return problem_response(found)


def add_problem_handlers(app: FastAPI) -> None:
    """Answer the framework's own errors (404, 405, 422, 500) as problem details."""

    @app.exception_handler(Exception)
    async def _crash(request: Request, _exc: Exception) -> Response:
        detail = "The request failed; nothing is exposed."
        return answer(request, Problem(500, "Internal Server Error", detail))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client went away (or was cut off for sending too slowly) while its body
        # was read: nobody will see this answer, and a traceback per cut body would
        # flood the log.
        log.debug("client_disconnected", path=request.url.path)
        return answer(request, Problem(400, "Bad Request", "The request body did not arrive."))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers) if exc.headers else None
        status = exc.status_code
        return answer(request, Problem(status, title_of(status), str(exc.detail), headers))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        listed = validation_problems(exc.errors())
        detail = f"{len(listed)} problem(s) with the request; nothing was done."
        found = Problem(422, "Unprocessable Content", detail, errors=tuple(listed))
        return answer(request, found)
