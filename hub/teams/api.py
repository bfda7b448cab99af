"""The JSON API for case-management systems: an area's queue, one message, its outcome.

Authenticated by a per-area bearer token (``hub teams add-client <area> [--role
manager]``). Errors are RFC 9457 problem details: ``401`` no or unknown token,
``403`` another area's path (or a practitioner's token on a manager's route), ``404``
no such message in this area's queue, ``409`` already decided (or not awaiting
authorisation), ``422`` invalid outcome (every field named; a blank rationale is
refused), ``503`` with ``Retry-After`` when Kafka did not take the outcome (nothing
was recorded).

Managers' routes: ``POST .../messages/<id>/authorisation`` authorises or returns a
MASH threshold decision, ``POST .../messages/<id>/assignment`` assigns it, and
``GET /areas/<area>/oversight`` shows the area's drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Query, Request

from hub.errors import AlreadyDecidedError, DecisionInProgressError, KafkaError, NotInQueueError
from hub.teams.accounts import ApiClient
from hub.teams.auth import ApiCaller, ProblemError, deps_of
from hub.teams.checkroutes import chronology_checks, message_checks
from hub.teams.content import try_open
from hub.teams.deps import TeamDeps
from hub.teams.store import QueueItem, Status
from hub.teams.views import (
    AssignMessage,
    MessageView,
    OversightView,
    QueuePage,
    queue_entry,
    visible_chronology,
)
from schemas.common import Area
from schemas.outcome import AuthoriseDecision, OutcomeRecorded, RecordOutcome

log = structlog.get_logger("hub.teams")

Child = Annotated[
    int, Query(ge=0, le=1000, description="Encompass: position of the child; else 0.")
]
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API token"},
    403: {"description": "The token is for another area"},
}
_NOT_IN_QUEUE = {"description": "Not in this area's queue"}
_Route = TypeVar("_Route", bound=Callable[..., Any])


def _decision_route(
    router: APIRouter,
    action: str,
    summary: str,
    auth: dict[int | str, dict[str, Any]],
    *,
    conflict: str,
    invalid: str,
) -> Callable[[_Route], _Route]:
    """``POST .../messages/<id>/<action>``: a route that records a decision on ``team.outcomes``."""
    return router.post(
        f"/areas/{{area}}/messages/{{message_id}}/{action}",
        status_code=201,
        response_model=OutcomeRecorded,
        summary=summary,
        responses={
            **auth,
            404: _NOT_IN_QUEUE,
            409: {"description": conflict},
            422: {"description": invalid},
            503: {"description": "Kafka did not take it; nothing recorded. Retry later"},
        },
    )


def api_router() -> APIRouter:
    """The ``/api/v1`` routes."""
    router = APIRouter(prefix="/api/v1", tags=["team queue"])

    @router.get(
        "/areas/{area}/queue",  # noqa: FAST003 -- `area` is read by api_area
        response_model=QueuePage,
        summary="An area's queue: undecided first, then oldest first",
        responses={**_AUTH, 404: {"description": "Area not served here"}},
    )
    async def queue(
        request: Request,
        caller: ApiCaller,
        status: Status = Status.UNDECIDED,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> QueuePage:
        deps = deps_of(request)
        items, total = deps.store.page(caller.area.value, status, limit=limit, offset=offset)
        now = deps.clock()
        return QueuePage(
            area=caller.area,
            status=status.value,
            total=total,
            limit=limit,
            offset=offset,
            items=tuple(queue_entry(i, deps.calendar, now) for i in items),
        )

    @router.get(
        "/areas/{area}/messages/{message_id}",  # noqa: FAST003 -- `area` is read by api_area
        response_model=MessageView,
        summary="One message of the area's queue, decrypted",
        responses={**_AUTH, 404: _NOT_IN_QUEUE},
    )
    async def message(
        request: Request, caller: ApiCaller, message_id: str, child: Child = 0
    ) -> MessageView:
        deps = deps_of(request)
        item = _item(deps, caller.area, message_id, child)
        return _open(deps, item, caller)

    @_decision_route(
        router,
        "outcome",
        "Record the area's decision; written to team.outcomes",
        _AUTH,
        conflict="Already decided, or a decision is being recorded",
        invalid="Invalid outcome: every error by field",
    )
    async def outcome(
        request: Request,
        caller: ApiCaller,
        message_id: str,
        command: RecordOutcome,
        child: Child = 0,
    ) -> OutcomeRecorded:
        deps = deps_of(request)
        item = _item(deps, caller.area, message_id, child)
        if command.message_id != item.message_id:
            raise ProblemError(
                422,
                "Unprocessable Content",
                "The outcome is for another message than the path names.",
                errors=[{"field": "message_id", "message": "must equal the message in the path"}],
            )
        writing = deps.record_outcome(item, command, decided_by=caller.name)
        return await _recorded(deps, "outcome", writing)

    _manager_routes(router)
    return router


_MANAGER = {
    **_AUTH,
    403: {"description": "The token is for another area, or is not a manager's"},
}


def _manager_routes(router: APIRouter) -> None:
    @_decision_route(
        router,
        "authorisation",
        "A manager authorises or returns a MASH threshold decision",
        _MANAGER,
        conflict="Not awaiting authorisation, or being authorised",
        invalid="Invalid: decision authorise|return and a rationale",
    )
    async def authorisation(
        request: Request,
        caller: ApiCaller,
        message_id: str,
        command: AuthoriseDecision,
        child: Child = 0,
    ) -> OutcomeRecorded:
        deps = deps_of(request)
        _manager(caller)
        item = _item(deps, caller.area, message_id, child)
        writing = deps.record_authorisation(item, command, decided_by=caller.name)
        return await _recorded(deps, "authorisation", writing)

    @router.post(
        "/areas/{area}/messages/{message_id}/assignment",  # noqa: FAST003 -- `area` is read by api_area
        response_model=MessageView,
        summary="A manager assigns (or unassigns) a message to a practitioner",
        responses={**_MANAGER, 404: _NOT_IN_QUEUE},
    )
    async def assignment(
        request: Request,
        caller: ApiCaller,
        message_id: str,
        command: AssignMessage,
        child: Child = 0,
    ) -> MessageView:
        deps = deps_of(request)
        _manager(caller)
        item = _item(deps, caller.area, message_id, child)
        assignee = _assignee(deps, caller.area, command.assignee)
        deps.store.assign(item.key, assignee)
        log.info("message_assigned", message_id=str(item.message_id), area=item.area)
        return _open(deps, _item(deps, caller.area, message_id, child), caller)

    @router.get(
        "/areas/{area}/oversight",  # noqa: FAST003 -- `area` is read by api_area
        response_model=OversightView,
        summary="A manager's view of drift: oldest undecided, overdue, per practitioner",
        responses=_MANAGER,
    )
    async def oversight(request: Request, caller: ApiCaller) -> OversightView:
        deps = deps_of(request)
        _manager(caller)
        return oversight_view(deps, caller.area)


def oversight_view(deps: TeamDeps, area: Area) -> OversightView:
    """The drift figures of ``area`` now."""
    figures = deps.store.oversight(area.value, deps.clock())
    return OversightView(area=area, **vars(figures))


async def _recorded(
    deps: TeamDeps, what: str, writing: Awaitable[OutcomeRecorded]
) -> OutcomeRecorded:
    """What ``writing`` recorded: ``409`` on a conflict, ``503`` when Kafka did not take it."""
    try:
        return await writing
    except (AlreadyDecidedError, DecisionInProgressError, NotInQueueError) as exc:
        raise ProblemError(409, "Conflict", f"{exc}.") from None
    except KafkaError:
        raise ProblemError(
            503,
            "Service Unavailable",
            f"Kafka did not take the {what}; nothing was recorded. Retry later.",
            headers={"Retry-After": str(deps.retry_after_s)},
        ) from None


def _manager(caller: ApiClient) -> None:
    if not caller.is_manager:
        raise ProblemError(403, "Forbidden", "Only a manager's token may do this.")


def _assignee(deps: TeamDeps, area: Area, name: str | None) -> str | None:
    if name is None:
        return None
    who = deps.accounts.user(name.strip().lower())
    if who is None or who.area is not area:
        raise ProblemError(
            422,
            "Unprocessable Content",
            "The assignee is not a practitioner of this area.",
            errors=[{"field": "assignee", "message": "must be a practitioner of this area"}],
        )
    return who.username


def _item(deps: TeamDeps, area: Area, message_id: str, child: int) -> QueueItem:
    item = deps.store.find(area.value, message_id, child)
    if item is None:
        raise ProblemError(404, "Not Found", "No such message in this area's queue.")
    return item


def _open(deps: TeamDeps, item: QueueItem, caller: ApiClient) -> MessageView:
    routed = item.routed()
    opened = try_open(routed, deps.keks.get(routed.area, {}))
    if opened is None:
        raise ProblemError(
            500, "Internal Server Error", "The message does not open with this area's key."
        )
    log.info("message_opened", message_id=str(item.message_id), area=item.area, user=caller.name)
    entry = queue_entry(item, deps.calendar, deps.clock())
    chronology, totals = visible_chronology(
        opened.chronology, routed.area, manager=caller.is_manager
    )
    return MessageView(
        **dict(entry),
        payload_type=routed.payload_type,
        envelope=opened.envelope,
        notice=opened.notice,
        checks=message_checks(deps, item),
        chronology=chronology_checks(deps, routed.area, chronology),
        chronology_totals=totals,
    )
