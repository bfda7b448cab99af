"""The practitioners' pages: sign in, the area's queue, one message, recording an outcome.

A message page shows the chronology of the message's children and household (within
the area's need to know, :func:`~hub.teams.views.visible_chronology`). Managers also
get the area's oversight page (drift), an assign form and, on a MASH threshold
decision awaiting authorisation, the authorise-or-return form.

Server-rendered HTML (Jinja2, autoescaped) with plain forms: no script is needed.
Every form carries a CSRF token; the sign-in form's token is bound to a short-lived
cookie (there is no session yet), the others to the session; a missing, wrong or
malformed token is ``403``. A form body is read up to :data:`MAX_FORM_BYTES` (``413``
beyond) before it is parsed. Failed sign-ins are throttled per (username, address)
and per address (:mod:`hub.teams.ratelimit`), and the password check runs off the
event loop.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any

import jinja2
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from hub.errors import AlreadyDecidedError, DecisionInProgressError, KafkaError, NotInQueueError
from hub.policy.returns import what_to_add
from hub.teams.accounts import Practitioner, verify_password
from hub.teams.auth import (
    PageArea,
    PageError,
    PageSession,
    current_session,
    deps_of,
    read_page_form,
    read_session_form,
    same_token,
    session_cookie_name,
)
from hub.teams.checkroutes import chronology_checks, page_checks
from hub.teams.content import try_open
from hub.teams.deps import TeamDeps
from hub.teams.sessions import Session
from hub.teams.store import QueueItem, Status
from hub.teams.validation import field_errors
from hub.teams.views import (
    AREA_NAMES,
    CLOCK_NAMES,
    OUTCOME_NAMES,
    history_text,
    local_time,
    queue_entry,
    visible_chronology,
    words,
)
from hub.web import client_key
from schemas.common import Area
from schemas.envelope import RoutingMetadata
from schemas.outcome import AuthoriseDecision, Outcome, OutcomeRecorded, RecordOutcome

log = structlog.get_logger("hub.teams")

TEMPLATES = Path(__file__).resolve().parent / "templates"
SIGN_IN_COOKIE = "hub_team_sign_in"
PAGE_SIZE = 25
MAX_FORM_BYTES = 64 * 1024
Child = Annotated[int, Query(ge=0, le=1000, description="Encompass: the child's position.")]


def templates() -> Jinja2Templates:
    """The page templates, autoescaped, failing on an undefined name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        area_names=AREA_NAMES,
        clock_names=CLOCK_NAMES,
        outcome_names=OUTCOME_NAMES,
        outcomes=list(Outcome),
        what_to_add=what_to_add,
    )
    env.filters.update(local_time=local_time, words=words, history_text=history_text)
    return Jinja2Templates(env=env)


def page_router(pages: Jinja2Templates) -> APIRouter:
    """The HTML routes."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def home(request: Request) -> Response:
        session = current_session(request)
        target = "/sign-in" if session is None else _queue_url(session.area)
        return RedirectResponse(target, status_code=303)

    @router.get("/sign-in")
    async def sign_in_form(request: Request) -> Response:
        session = current_session(request)
        if session is not None:
            return RedirectResponse(_queue_url(session.area), status_code=303)
        return _sign_in_page(pages, request)

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        return await _sign_in(pages, request)

    @router.post("/sign-out")
    async def sign_out(request: Request, session: PageSession) -> Response:
        deps = deps_of(request)
        await read_session_form(request, session, MAX_FORM_BYTES)
        cookie_name = session_cookie_name(deps)
        deps.sessions.delete(request.cookies.get(cookie_name, ""))
        log.info("signed_out", user=session.username, area=session.area.value)
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(cookie_name, path="/", secure=deps.secure_cookies, httponly=True)
        return response

    @router.get("/areas/{area}/queue")
    async def queue(
        request: Request,
        area: PageArea,
        session: PageSession,
        status: Status = Status.UNDECIDED,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        deps = deps_of(request)
        items, total = deps.store.page(
            area.value, status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        now = deps.clock()
        undecided, decided = deps.store.counts().get(area.value, (0, 0))
        context = {
            "session": session,
            "manager": _is_manager(request, session),
            "area": area,
            "status": status.value,
            "entries": [queue_entry(i, deps.calendar, now) for i in items],
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PAGE_SIZE)),
            "undecided": undecided,
            "decided": decided,
        }
        return pages.TemplateResponse(request, "queue.html", context)

    @router.get("/areas/{area}/messages/{message_id}")
    async def message(
        request: Request,
        area: PageArea,
        session: PageSession,
        message_id: str,
        *,
        child: Child = 0,
        recorded: bool = False,
    ) -> Response:
        item = _item(deps_of(request), area, message_id, child)
        banner = "The outcome was recorded." if recorded and item.decided else None
        return _message_page(pages, request, session, item, banner=banner)

    @router.post("/areas/{area}/messages/{message_id}/outcome")
    async def outcome(
        request: Request, area: PageArea, session: PageSession, message_id: str, child: Child = 0
    ) -> Response:
        return await _record(pages, request, session, (area, message_id, child))

    _manager_pages(router, pages)
    return router


def _manager_pages(router: APIRouter, pages: Jinja2Templates) -> None:
    @router.get("/areas/{area}/oversight")
    async def oversight(request: Request, area: PageArea, session: PageSession) -> Response:
        deps = deps_of(request)
        _require_manager(request, session)
        figures = deps.store.oversight(area.value, deps.clock())
        context = {"session": session, "manager": True, "area": area, "figures": figures}
        return pages.TemplateResponse(request, "oversight.html", context)

    @router.post("/areas/{area}/messages/{message_id}/authorisation")
    async def authorisation(
        request: Request, area: PageArea, session: PageSession, message_id: str, child: Child = 0
    ) -> Response:
        return await _authorise(pages, request, session, (area, message_id, child))

    @router.post("/areas/{area}/messages/{message_id}/assignment")
    async def assignment(
        request: Request, area: PageArea, session: PageSession, message_id: str, child: Child = 0
    ) -> Response:
        deps = deps_of(request)
        form = await read_session_form(request, session, MAX_FORM_BYTES)
        _require_manager(request, session)
        item = _item(deps, area, message_id, child)
        name = form.get("assignee", "").strip().lower()
        who = deps.accounts.user(name) if name else None
        if name and (who is None or who.area is not area):
            problem = "The message was not assigned: that person is not in your area."
            return _message_page(pages, request, session, item, status=422, problem=problem)
        deps.store.assign(item.key, who.username if who else None)
        log.info("message_assigned", message_id=str(item.message_id), area=item.area)
        return RedirectResponse(_outcome_url(item, recorded=True), status_code=303)


def _is_manager(request: Request, session: Session) -> bool:
    who = deps_of(request).accounts.user(session.username)
    return who is not None and who.is_manager


def _require_manager(request: Request, session: Session) -> None:
    if not _is_manager(request, session):
        raise PageError(403, "Managers only", "Only a manager of this area can do this.")


# ---------------------------------------------------------------------- sign-in


def _sign_in_page(
    pages: Jinja2Templates,
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    deps = deps_of(request)
    token = secrets.token_urlsafe(32)
    context = {"session": None, "csrf_token": token, "error": error, "username": username}
    response = pages.TemplateResponse(
        request, "sign_in.html", context, status_code=status, headers=headers
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=900,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=deps.secure_cookies,
    )
    return response


async def _sign_in(pages: Jinja2Templates, request: Request) -> Response:
    deps = deps_of(request)
    form = await read_page_form(request, MAX_FORM_BYTES)
    username = form.get("username", "").strip()[:200]
    password = form.get("password", "")[:1024]
    address = client_key(request)
    refused = _refusal(request, form, username, password, address)
    if refused is not None:
        status, error, headers = refused
        return _sign_in_page(
            pages, request, status=status, error=error, username=username, headers=headers
        )
    who, stored = deps.accounts.sign_in_record(username)
    async with deps.hashing:
        matches = await asyncio.to_thread(verify_password, password, stored)
    if who is None or not matches:
        log.info("sign_in_failed", address=address)
        error = "The username or password is not right."
        return _sign_in_page(pages, request, status=401, error=error, username=username)
    deps.limiter.succeeded(username, address)
    return _signed_in(deps, who)


def _refusal(
    request: Request, form: dict[str, str], username: str, password: str, address: str
) -> tuple[int, str, dict[str, str] | None] | None:
    """Why a sign-in attempt is refused before any password check, if it is."""
    if not same_token(form.get("csrf_token"), request.cookies.get(SIGN_IN_COOKIE, "")):
        return 403, "The sign-in form expired. Please sign in again.", None
    if not username or not password:
        return 422, "Enter your username and your password.", None
    wait = deps_of(request).limiter.attempt(username, address)
    if wait > 0:
        log.warning("sign_in_rate_limited", address=address)
        seconds = str(math.ceil(wait))
        error = f"Too many sign-in attempts. Wait {seconds} seconds, then try again."
        return 429, error, {"Retry-After": seconds}
    return None


def _signed_in(deps: TeamDeps, who: Practitioner) -> Response:
    cookie, _session = deps.sessions.create(who.username, who.area, deps.clock())
    log.info("signed_in", user=who.username, area=who.area.value)
    response = RedirectResponse(_queue_url(who.area), status_code=303)
    response.set_cookie(
        session_cookie_name(deps),
        cookie,
        max_age=int(deps.sessions.lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=deps.secure_cookies,
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in", secure=deps.secure_cookies)
    return response


# ---------------------------------------------------------------------- messages


def _message_page(
    pages: Jinja2Templates,
    request: Request,
    session: Session,
    item: QueueItem,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    banner: str | None = None,
    problem: str | None = None,
    headers: dict[str, str] | None = None,
    auth_errors: dict[str, str] | None = None,
    auth_form: dict[str, str] | None = None,
) -> Response:
    deps = deps_of(request)
    routed = item.routed()
    opened = try_open(routed, deps.keks.get(routed.area, {}))
    if opened is None:
        raise PageError(
            500,
            "This message cannot be opened",
            "Its content does not open with this area's key. Operators can see why in the log.",
        )
    log.info(
        "message_opened", message_id=str(item.message_id), area=item.area, user=session.username
    )
    # An Encompass copy carries no other subject in clear (its allow-list); an older
    # copy's clear metadata still names the child by position.
    subjects = routed.metadata.subjects if isinstance(routed.metadata, RoutingMetadata) else ()
    manager = _is_manager(request, session)
    chronology, totals = visible_chronology(opened.chronology, routed.area, manager=manager)
    context: dict[str, Any] = {
        "session": session,
        "manager": manager,
        "chronology": chronology_checks(deps, routed.area, chronology),
        "chronology_totals": totals,
        "auth_errors": auth_errors or {},
        "auth_form": auth_form or {"decision": "", "rationale": ""},
        "auth_action": f"/areas/{item.area}/messages/{item.message_id}/authorisation"
        f"?child={item.child_index}",
        "assign_action": f"/areas/{item.area}/messages/{item.message_id}/assignment"
        f"?child={item.child_index}",
        "area": routed.area,
        "entry": queue_entry(item, deps.calendar, deps.clock()),
        "metadata": routed.metadata,
        "envelope": opened.envelope,
        "notice": opened.notice,
        "child": subjects[item.child_index]
        if opened.notice and item.child_index < len(subjects)
        else None,
        "errors": errors or {},
        "form": form or {"outcome": "", "rationale": ""},
        "banner": banner,
        "problem": problem,
        "action": _outcome_url(item),
        "agency": page_checks(deps, item),
    }
    return pages.TemplateResponse(
        request, "message.html", context, status_code=status, headers=headers
    )


async def _recorded(
    pages: Jinja2Templates,
    request: Request,
    session: Session,
    item: QueueItem,
    *,
    writing: Awaitable[OutcomeRecorded],
    what: str,
    typed: dict[str, str],
) -> Response:
    """Back to the message once ``writing`` recorded the ``what``; else the page says why.

    A conflict (``409``) shows the message as it is now; when Kafka did not take it
    (``503``) the page keeps what was typed into the outcome or authorisation form.
    """
    deps = deps_of(request)
    try:
        await writing
    except (AlreadyDecidedError, DecisionInProgressError, NotInQueueError) as exc:
        fresh = _item(deps, Area(item.area), str(item.message_id), item.child_index)
        problem = f"The {what} was not recorded: {exc}."
        return _message_page(pages, request, session, fresh, status=409, problem=problem)
    except KafkaError:
        problem = (
            f"The {what} could not be recorded because the hub cannot reach its message "
            "store. Nothing was saved: please try again in a moment."
        )
        retry = {"Retry-After": str(deps.retry_after_s)}
        authorising = what == "authorisation"
        return _message_page(
            pages,
            request,
            session,
            item,
            status=503,
            form=None if authorising else typed,
            auth_form=typed if authorising else None,
            problem=problem,
            headers=retry,
        )
    return RedirectResponse(_outcome_url(item, recorded=True), status_code=303)


async def _record(
    pages: Jinja2Templates,
    request: Request,
    session: Session,
    which: tuple[Area, str, int],
) -> Response:
    deps = deps_of(request)
    item, typed = await _posted(request, session, which, ("outcome", "rationale"))
    try:
        command = RecordOutcome(message_id=item.message_id, **typed)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        return _message_page(pages, request, session, item, status=422, errors=errors, form=typed)
    writing = deps.record_outcome(item, command, decided_by=session.username)
    return await _recorded(
        pages, request, session, item, writing=writing, what="outcome", typed=typed
    )


async def _authorise(
    pages: Jinja2Templates,
    request: Request,
    session: Session,
    which: tuple[Area, str, int],
) -> Response:
    deps = deps_of(request)
    item, typed = await _posted(
        request, session, which, ("decision", "rationale"), manager_only=True
    )
    try:
        command = AuthoriseDecision(**typed)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = {f"auth_{k}": v for k, v in field_errors(exc.errors()).items()}
        return _message_page(
            pages, request, session, item, status=422, auth_errors=errors, auth_form=typed
        )
    writing = deps.record_authorisation(item, command, decided_by=session.username)
    return await _recorded(
        pages, request, session, item, writing=writing, what="authorisation", typed=typed
    )


# ---------------------------------------------------------------------- helpers


async def _posted(
    request: Request,
    session: Session,
    which: tuple[Area, str, int],
    fields: tuple[str, ...],
    *,
    manager_only: bool = False,
) -> tuple[QueueItem, dict[str, str]]:
    """The row a decision form was posted for, and what was typed into its ``fields``."""
    area, message_id, child = which
    form = await read_session_form(request, session, MAX_FORM_BYTES)
    if manager_only:
        _require_manager(request, session)
    item = _item(deps_of(request), area, message_id, child)
    return item, {field: form.get(field, "") for field in fields}


def _item(deps: TeamDeps, area: Area, message_id: str, child: int) -> QueueItem:
    item = deps.store.find(area.value, message_id, child)
    if item is None:
        raise PageError(404, "Message not found", "There is no such message in your queue.")
    return item


def _queue_url(area: Area) -> str:
    return f"/areas/{area.value}/queue"


def _outcome_url(item: QueueItem, *, recorded: bool = False) -> str:
    base = f"/areas/{item.area}/messages/{item.message_id}"
    if recorded:
        return f"{base}?child={item.child_index}&recorded=true"
    return f"{base}/outcome?child={item.child_index}"
