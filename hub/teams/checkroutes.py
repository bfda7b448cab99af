"""The routes of agency checks in the team app: the API and the message page's form.

API (bearer token of the area): ``POST /api/v1/areas/<area>/messages/<id>/checks``
asks (``201`` with one check per partner), ``GET`` the same path lists the checks of
the message with their answers. ``403`` for an area that does not ask checks (only
the MASH does), ``404`` no such message, ``422`` every problem by field, ``503`` with
``Retry-After`` when Kafka did not commit (nothing was asked). The page form posts to
``/areas/<area>/messages/<id>/checks`` with the session's CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from hub.errors import KafkaError
from hub.teams.auth import (
    ApiCaller,
    PageArea,
    PageError,
    PageSession,
    ProblemError,
    deps_of,
    read_session_form,
)
from hub.teams.checks import ChecksAsked, CheckView, TeamChecks, check_views
from hub.teams.content import try_open
from hub.teams.deps import TeamDeps
from hub.teams.store import QueueItem
from hub.teams.validation import field_errors
from hub.teams.views import ChronologyEntry
from schemas.checks import AskChecks, CheckPartner, Urgency
from schemas.common import Area
from schemas.envelope import Envelope

MAX_CHECK_FORM_BYTES = 16 * 1024
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API token"},
    403: {"description": "The token is for another area, or this area does not ask checks"},
    404: {"description": "Not in this area's queue"},
}


def checks_of(deps: TeamDeps, area: Area) -> TeamChecks:
    """The checks of an asking area, or 403."""
    checks = deps.checks
    if checks is None or area not in checks.asking_areas:
        raise ProblemError(403, "Forbidden", "Only the MASH asks partners agency checks.")
    return checks


def check_api_router() -> APIRouter:
    """``/api/v1/areas/<area>/messages/<id>/checks``."""
    router = APIRouter(prefix="/api/v1", tags=["agency checks"])
    path = "/areas/{area}/messages/{message_id}/checks"  # `area` is read by api_area

    @router.post(
        path,
        status_code=201,
        response_model=ChecksAsked,
        summary="Ask partners what they know (one check per partner), on hub.checks",
        responses={
            **_AUTH,
            422: {"description": "Invalid request: every error by field"},
            503: {"description": "Kafka did not commit; nothing asked. Retry later"},
        },
    )
    async def ask(
        request: Request, caller: ApiCaller, message_id: str, command: AskChecks
    ) -> ChecksAsked:
        deps = deps_of(request)
        checks = checks_of(deps, caller.area)
        envelope = _envelope(deps, _item(deps, caller.area, message_id))
        try:
            asked = await deps.ask_checks(checks, envelope, caller.area, command, caller.name)
        except KafkaError:
            raise ProblemError(
                503,
                "Service Unavailable",
                "Kafka did not take the checks; nothing was asked. Retry later.",
                headers={"Retry-After": str(deps.retry_after_s)},
            ) from None
        views = check_views(checks, caller.area, envelope.message_id, deps.clock())
        by_id = {v.check_id: v for v in views}
        return ChecksAsked(checks=tuple(by_id[r.check_id] for r in asked))

    @router.get(
        path,
        response_model=tuple[CheckView, ...],
        summary="The checks asked about a message, with the partners' answers",
        responses=_AUTH,
    )
    async def listed(request: Request, caller: ApiCaller, message_id: str) -> tuple[CheckView, ...]:
        deps = deps_of(request)
        checks = checks_of(deps, caller.area)
        item = _item(deps, caller.area, message_id)
        return check_views(checks, caller.area, item.message_id, deps.clock())

    return router


def check_page_router() -> APIRouter:
    """The message page's form."""
    router = APIRouter(include_in_schema=False)

    @router.post("/areas/{area}/messages/{message_id}/checks")
    async def ask_page(
        request: Request, area: PageArea, session: PageSession, message_id: str
    ) -> Response:
        deps = deps_of(request)
        form = await read_session_form(request, session, MAX_CHECK_FORM_BYTES)
        if deps.checks is None or area not in deps.checks.asking_areas:
            raise PageError(403, "Not allowed", "Only the MASH asks partners agency checks.")
        item = _page_item(deps, area, message_id)
        try:
            command = AskChecks(
                partners=tuple(p for p in CheckPartner if form.get(f"partner_{p.value}")),
                urgency=form.get("urgency", ""),  # type: ignore[arg-type]
                question=form.get("question", ""),
            )
        except ValidationError as exc:
            errors = field_errors(exc.errors())
            detail = "; ".join(f"{_FIELD_NAMES.get(f, f)}: {m}" for f, m in errors.items())
            raise PageError(422, "The checks were not asked", detail) from None
        try:
            envelope = _envelope(deps, item, page=True)
            await deps.ask_checks(deps.checks, envelope, area, command, session.username)
        except KafkaError:
            raise PageError(
                503,
                "The checks were not asked",
                "The hub cannot reach its message store. Nothing was asked: try again shortly.",
            ) from None
        return RedirectResponse(
            f"/areas/{area.value}/messages/{item.message_id}#checks", status_code=303
        )

    return router


_FIELD_NAMES = {"partners": "Partners", "urgency": "Urgency", "question": "Question"}


def page_checks(deps: TeamDeps, item: QueueItem) -> dict[str, Any]:
    """What the message page shows of checks (``checks_section.html``)."""
    area = Area(item.area)
    checks = deps.checks
    if checks is None or area not in checks.asking_areas:
        return {"can_ask": False, "checks": (), "partners": (), "urgencies": ()}
    return {
        "can_ask": True,
        "checks": check_views(checks, area, item.message_id, deps.clock()),
        "partners": tuple(CheckPartner),
        "urgencies": tuple(Urgency),
    }


def message_checks(deps: TeamDeps, item: QueueItem) -> tuple[CheckView, ...]:
    """The checks of a message for the API's message answer (none outside asking areas)."""
    area = Area(item.area)
    if deps.checks is None or area not in deps.checks.asking_areas:
        return ()
    return check_views(deps.checks, area, item.message_id, deps.clock())


def chronology_checks(
    deps: TeamDeps, area: Area, chronology: tuple[ChronologyEntry, ...]
) -> tuple[ChronologyEntry, ...]:
    """Each earlier contact with the checks ``area`` asked about it and their answers.

    DESIGN.md section 17: an answer joins the contact, and the child's chronology where
    that contact appears. Only the asking areas hold checks; one lookup per contact,
    and the chronology is bounded.
    """
    if deps.checks is None or area not in deps.checks.asking_areas:
        return chronology
    now = deps.clock()
    return tuple(
        entry.model_copy(update={"checks": check_views(deps.checks, area, entry.message_id, now)})
        for entry in chronology
    )


def _item(deps: TeamDeps, area: Area, message_id: str) -> QueueItem:
    found = deps.store.find(area.value, message_id)
    if found is None:
        raise ProblemError(404, "Not Found", "No such message in this area's queue.")
    return found


def _page_item(deps: TeamDeps, area: Area, message_id: str) -> QueueItem:
    found = deps.store.find(area.value, message_id)
    if found is None:
        raise PageError(404, "Message not found", "There is no such message in your queue.")
    return found


def _envelope(deps: TeamDeps, item: QueueItem, *, page: bool = False) -> Envelope:
    routed = item.routed()
    opened = try_open(routed, deps.keks.get(routed.area, {}))
    if opened is None or opened.envelope is None:
        detail = "The message does not open with this area's key."
        if page:
            raise PageError(500, "This message cannot be opened", detail)
        raise ProblemError(500, "Internal Server Error", detail)
    return opened.envelope
