"""The team queue app: practitioners' pages, the case-management API, and the consumers.

The lifespan starts the outcome producer, then the area subscribers, and stops them
in reverse. Every response carries security headers (a strict Content Security
Policy, no framing, no referrer, no caching: pages hold personal data).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hub.teams.api import api_router
from hub.teams.auth import PageError, ProblemError, SignInRequired, current_session
from hub.teams.deps import TeamDeps
from hub.teams.pages import page_router, templates
from hub.teams.validation import field_errors

PROBLEM = "application/problem+json"
STATIC = Path(__file__).resolve().parent / "static"
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


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


def create_app(deps: TeamDeps) -> FastAPI:
    """Build the team app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await deps.publisher.start()
        try:
            if deps.consumer is not None:
                await deps.consumer.start()
            try:
                yield
            finally:
                if deps.consumer is not None:
                    await deps.consumer.stop()
        finally:
            await deps.publisher.stop()
            deps.close()

    app = FastAPI(
        title="Safeguarding hub: team queue",
        version="1.0",
        description=__doc__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.deps = deps
    pages = templates()

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        if request.url.path != "/static/teams.css":
            response.headers["Cache-Control"] = "no-store"
        return response

    _add_error_handlers(app, pages)
    _add_service_routes(app, deps)
    app.include_router(page_router(pages))
    app.include_router(api_router())
    return app


def _add_error_handlers(app: FastAPI, pages: Jinja2Templates) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> Response:
        extra = {"errors": exc.errors} if exc.errors is not None else {}
        return problem(exc.status, exc.title, exc.detail, headers=exc.headers, **extra)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        context = {"session": current_session(request), "title": exc.title, "detail": exc.detail}
        return pages.TemplateResponse(request, "error.html", context, status_code=exc.status)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, _exc: SignInRequired) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = field_errors(exc.errors())
        listed = [{"field": f, "message": m} for f, m in errors.items()]
        if request.url.path.startswith("/api/"):
            detail = f"{len(listed)} problem(s) with the request; nothing was recorded."
            return problem(422, "Unprocessable Content", detail, errors=listed)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in listed)
        context = {"session": current_session(request), "title": "Not understood", "detail": detail}
        return pages.TemplateResponse(request, "error.html", context, status_code=422)


def _add_service_routes(app: FastAPI, deps: TeamDeps) -> None:
    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, object]:
        consumer_ready = deps.consumer.ready if deps.consumer is not None else True
        counts = deps.store.counts()
        return {
            "ready": consumer_ready,
            "areas": [a.value for a in deps.areas],
            "undecided": {a: c[0] for a, c in counts.items()},
            "rejected_records": deps.store.rejected_count(),
        }

    @app.get("/static/teams.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return FileResponse(
            STATIC / "teams.css",
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )
