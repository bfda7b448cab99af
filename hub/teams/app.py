"""The team queue app: practitioners' pages, the case-management API, and the consumers.

The lifespan starts the outcome producer, then the area subscribers, and stops them
in reverse. Every response carries security headers (a strict Content Security
Policy, no framing, no referrer, no caching: pages hold personal data). The API's
bearer token is checked before a byte of a request body is read
(:class:`~hub.web.body.BearerGate`); no body over 64 KiB is read at all. ``/health``
says only whether the app is ready, except to operators (:mod:`hub.web.ops`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hub.teams.api import api_router
from hub.teams.auth import API_CLIENT, PageError, ProblemError, SignInRequired, current_session
from hub.teams.checkroutes import check_api_router, check_page_router
from hub.teams.deps import TeamDeps
from hub.teams.metrics import QueueCollector
from hub.teams.pages import MAX_FORM_BYTES, page_router, templates
from hub.teams.validation import field_errors
from hub.web import HubApp, problem
from hub.web.body import BearerGate
from hub.web.metrics import add_metrics
from hub.web.ops import is_operator

STATIC = Path(__file__).resolve().parent / "static"
API_MAX_BODY = 64 * 1024
"""The largest API request body (an outcome's rationale is at most 5,000 characters)."""


def create_app(deps: TeamDeps) -> FastAPI:
    """Build the team app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Started in order and stopped in reverse, each only once started; the stores
        # close after the publisher stops.
        async with AsyncExitStack() as running:
            await deps.publisher.start()
            running.callback(deps.close)
            running.push_async_callback(deps.publisher.stop)
            for service in (deps.checks, deps.consumer):
                if service is not None:
                    await service.start()
                    running.push_async_callback(service.stop)
            yield

    app = HubApp(
        max_body=max(MAX_FORM_BYTES, API_MAX_BODY),
        cacheable=frozenset({"/static/teams.css"}),
        title="Safeguarding hub: team queue",
        version="1.0",
        description=__doc__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.deps = deps
    app.add_gate(
        lambda inner: BearerGate(
            inner,
            prefix="/api/",
            authenticate=deps.accounts.authenticate_client,
            limit=API_MAX_BODY,
            key=API_CLIENT,
            detail="A valid API client token is required.",
            answer=app.answer_scope,
        )
    )
    pages = templates()
    _add_error_handlers(app, pages)
    _add_service_routes(app, deps)
    add_metrics(app, "teams", deps.ops_token).register([QueueCollector(deps.store, deps.areas)])
    app.include_router(page_router(pages))
    app.include_router(api_router())
    app.include_router(check_page_router())
    app.include_router(check_api_router())
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
    async def health(request: Request) -> JSONResponse:
        """200 once the area consumers have joined their groups; 503 until then."""
        consumer_ready = deps.consumer.ready if deps.consumer is not None else True
        body: dict[str, object] = {"ready": consumer_ready}
        if is_operator(request, deps.ops_token):
            counts = deps.store.counts()
            body |= {
                "areas": [a.value for a in deps.areas],
                "undecided": {a: c[0] for a, c in counts.items()},
                "rejected_records": deps.store.rejected_count(),
            }
        return JSONResponse(body, status_code=200 if consumer_ready else 503)

    @app.get("/static/teams.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return FileResponse(
            STATIC / "teams.css",
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )
