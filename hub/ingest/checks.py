"""Partners answer agency checks: ``/v1/<partner>/checks`` (DESIGN.md section 17).

``GET /v1/<partner>/checks`` lists the partner's open checks, each opened with the
partner's own check key (the question, the child and the household); ``POST
/v1/<partner>/checks/<check_id>/response`` answers one. The partner's credential
authenticates before a byte of the body is read; another partner's path is ``403``,
another partner's check (or an unknown one) ``404``, a check answered already ``409``,
a bad answer ``422`` naming every problem, and ``503`` with ``Retry-After`` while the
index is still being rebuilt or when Kafka did not commit the answer (nothing was
kept). The answer is sealed for the asking area, MACed with the partner's check key
and written in a transaction to ``hub.check-responses``; it is audited by event
``check_answered`` (check id, partner, who answered; no content).

Organisations: :attr:`CheckCaller.orgs` is the org codes the caller's credential is
bound to (``hub partners add <partner> --org CODE``), and
:func:`hub.checks.visibility.visible_to` filters by it. A connector credential issued
before organisations were bound answers no check until it is reissued.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, Field, ValidationError

from hub.checks.crypto import CheckKeys, answer_record
from hub.checks.index import CheckIndex
from hub.checks.writer import CheckWriter
from hub.errors import DecryptionError, KafkaUnavailableError, SchemaViolationError
from hub.ingest.answers import ADMISSION_RESPONSES
from hub.ingest.checkcredentials import CheckCredentialStore
from hub.ingest.credentials import CredentialStore
from hub.web import Problem, TokenBuckets, answer
from hub.web.body import read_body
from hub.web.problems import title_of
from schemas.answer import Answer
from schemas.checks import AnswerCheck, CheckAnswered, CheckPartner, CheckPerson, Urgency
from schemas.common import Area

log = structlog.get_logger("hub.ingest")
MAX_ANSWER_BYTES = 64 * 1024


@dataclass
class IngestChecks:
    """What the partner check endpoints need, built by :mod:`hub.bootstrap.ingest`."""

    index: CheckIndex
    writers: Mapping[CheckPartner, CheckWriter]
    keys: Mapping[CheckPartner, CheckKeys] = field(repr=False)
    credentials: CheckCredentialStore
    partitions: int
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    retry_after_s: int = 5
    limiter: TokenBuckets | None = None
    """Requests per partner (shared with the partner's other endpoints); None: unlimited."""
    answering: set[UUID] = field(default_factory=set)
    """Checks whose answer is being written (a second one meanwhile is 409)."""
    _sync: asyncio.Task[None] | None = None

    @property
    def partners(self) -> tuple[CheckPartner, ...]:
        """The partners served here (those whose keys this ingest holds)."""
        return tuple(p for p in CheckPartner if p in self.keys and p in self.writers)

    async def start(self) -> None:
        """Start the writers and the index, and rebuild the index (in the background)."""
        for writer in self.writers.values():
            await writer.start()
        await self.index.start()
        self._sync = asyncio.create_task(self.index.sync(), name="check-index-sync")

    async def stop(self) -> None:
        """Stop the index and the writers."""
        if self._sync is not None:
            self._sync.cancel()
        await self.index.stop()
        for writer in self.writers.values():
            await writer.stop()


@dataclass(frozen=True)
class CheckCaller:
    """Who is calling: the partner and the org codes its credential is bound to."""

    partner: CheckPartner
    orgs: tuple[str, ...] = ()


class OpenCheck(Answer):
    """One open check, opened for the partner."""

    check_id: UUID = Field(description="Answer it at /v1/<partner>/checks/<check_id>/response.")
    urgency: Urgency = Field(description="red, amber or green.")
    due_by: AwareDatetime = Field(description="When the answer is due.")
    question: str = Field(description="What the asking area wants to know.")
    asked_at: AwareDatetime = Field(description="When it was asked.")
    asked_by: str = Field(description="The practitioner who asked.")
    area: Area = Field(description="The asking area.")
    organisations: tuple[str, ...] = Field(description="Org codes asked; empty: all of yours.")
    child: CheckPerson | None = Field(description="The child.")
    household: tuple[CheckPerson, ...] = Field(description="The household.")


class OpenChecks(Answer):
    """``GET /v1/<partner>/checks``."""

    checks: tuple[OpenCheck, ...] = Field(description="Open checks, most urgent first.")


class CheckAnswerAccepted(Answer):
    """The ``201`` answer: committed to ``hub.check-responses``."""

    check_id: UUID = Field(description="The check answered.")
    status: str = Field(description="Always 'answered'.")
    answered_at: AwareDatetime = Field(description="When the hub took the answer.")
    on_time: bool = Field(description="Answered before the deadline.")


def authenticate(
    connectors: CredentialStore, checks: CheckCredentialStore, token: str
) -> CheckCaller | None:
    """A connector partner's credential, or an answer-only partner's; else None."""
    if not token:
        return None
    credential = connectors.authenticate(token)
    if credential is not None:
        if not credential.bound:  # issued before organisations: refused until reissued
            return None
        return CheckCaller(CheckPartner(credential.partner.value), credential.orgs or ())
    found = checks.identify(token)
    if found is None:
        return None
    return CheckCaller(*found)


def open_checks(checks: IngestChecks, caller: CheckCaller) -> OpenChecks:
    """The caller's open checks, each opened with its partner's check key."""
    keys = checks.keys[caller.partner]
    listed = []
    for request in checks.index.open_for(caller.partner, caller.orgs):
        try:
            content = keys.open_question(request)
        except (DecryptionError, SchemaViolationError) as exc:
            _unreadable(request.check_id, exc)
            continue
        listed.append(
            OpenCheck(
                check_id=request.check_id,
                urgency=request.urgency,
                due_by=request.due_by,
                question=content.question,
                asked_at=request.asked_at,
                asked_by=request.asked_by,
                area=request.area,
                organisations=request.organisations,
                child=content.child,
                household=content.household,
            )
        )
    return OpenChecks(checks=tuple(listed))


def _unreadable(check_id: UUID, exc: Exception) -> None:
    log.error("check_unreadable", check_id=str(check_id), error_class=type(exc).__name__)


class CheckRefusal(Exception):  # noqa: N818 -- carries the answer to give
    """An answer refused with a status and detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: tuple[dict[str, str], ...] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.problem = Problem(status, title_of(status), detail, headers, errors)


async def answer_check(
    checks: IngestChecks, caller: CheckCaller, check_id: UUID, body: AnswerCheck
) -> CheckAnswerAccepted:
    """Write one answer, once; raise :class:`CheckRefusal` when it cannot be taken."""
    found = checks.index.find(caller.partner, check_id, caller.orgs)
    if found is None:
        raise CheckRefusal(404, f"No {caller.partner.value} check {check_id} is known.")
    if found.answered_at is not None or check_id in checks.answering:
        raise CheckRefusal(409, "This check was answered already; a check is answered once.")
    request = found.request
    keys = checks.keys[caller.partner]
    checks.answering.add(check_id)
    try:
        answered_at = checks.clock()
        answered = CheckAnswered(
            check_id=check_id,
            message_id=request.message_id,
            area=request.area,
            partner=caller.partner,
            subject_key=request.subject_key,
            urgency=request.urgency,
            asked_at=request.asked_at,
            due_by=request.due_by,
            answered_at=answered_at,
            sealed=keys.seal_answer(check_id, request.area, body),
        )
        try:
            await checks.writers[caller.partner].write(
                [answer_record(keys, answered, checks.partitions)]
            )
        except KafkaUnavailableError:
            detail = "Kafka did not take the answer; nothing was kept. Retry later."
            retry = {"Retry-After": str(checks.retry_after_s)}
            raise CheckRefusal(503, detail, headers=retry) from None
        checks.index.mark_answered(check_id, answered_at)
    finally:
        checks.answering.discard(check_id)
    log.info(
        "check_answered",
        check_id=str(check_id),
        partner=caller.partner.value,
        area=request.area.value,
        answered_by=body.answered_by,
        on_time=answered_at <= request.due_by,
    )
    return CheckAnswerAccepted(
        check_id=check_id,
        status="answered",
        answered_at=answered_at,
        on_time=answered_at <= request.due_by,
    )


@asynccontextmanager
async def checks_running(checks: IngestChecks | None) -> AsyncIterator[None]:
    """Run the check writers and index for the app's lifetime (nothing when not served)."""
    if checks is None:
        yield
        return
    await checks.start()
    try:
        yield
    finally:
        await checks.stop()


def add_check_routes(
    app: FastAPI, credentials: CredentialStore, checks: IngestChecks | None
) -> None:
    """``GET /v1/<p>/checks`` and ``POST /v1/<p>/checks/<id>/response`` for each partner."""
    if checks is None:
        return
    for partner in checks.partners:
        _add_partner_routes(app, credentials, checks, partner)


def _admit(
    request: Request, credentials: CredentialStore, checks: IngestChecks, partner: CheckPartner
) -> CheckCaller:
    """The caller, if it is ``partner``'s and the index is ready; else a refusal."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    caller = authenticate(credentials, checks.credentials, token.strip())
    if scheme.lower() != "bearer" or caller is None:
        detail = "A valid partner credential is required."
        raise CheckRefusal(401, detail, headers={"WWW-Authenticate": "Bearer"})
    if caller.partner is not partner:
        raise CheckRefusal(403, f"This credential may not use the {partner.value} checks.")
    if checks.limiter is not None and not checks.limiter.allow(partner.value):
        raise CheckRefusal(429, "Rate limit reached; retry later.", headers={"Retry-After": "1"})
    if not checks.index.synced.is_set():
        retry = {"Retry-After": str(checks.retry_after_s)}
        raise CheckRefusal(503, "The hub is starting; retry later.", headers=retry)
    return caller


async def _answer_body(request: Request) -> AnswerCheck:
    raw = await read_body(request, MAX_ANSWER_BYTES)
    if raw is None:
        raise CheckRefusal(413, f"The body is larger than {MAX_ANSWER_BYTES} bytes.")
    try:
        return AnswerCheck.model_validate_json(raw)
    except ValidationError as exc:
        errors = tuple(
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors()
        )
        detail = f"{len(errors)} problem(s) with the answer; nothing was kept."
        raise CheckRefusal(422, detail, errors=errors) from None


def _check_id(partner: CheckPartner, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CheckRefusal(404, f"No {partner.value} check {text[:64]} is known.") from None


def _add_partner_routes(
    app: FastAPI, credentials: CredentialStore, checks: IngestChecks, partner: CheckPartner
) -> None:
    slug = partner.value

    async def listed(request: Request) -> Response:
        try:
            caller = _admit(request, credentials, checks, partner)
        except CheckRefusal as exc:
            return answer(request, exc.problem)
        found = open_checks(checks, caller)
        log.info("checks_listed", partner=slug, checks=len(found.checks))
        return JSONResponse(found.model_dump(mode="json"))

    async def respond(request: Request, check_id: str) -> Response:
        try:
            caller = _admit(request, credentials, checks, partner)
            which = _check_id(partner, check_id)
            body = await _answer_body(request)
            accepted = await answer_check(checks, caller, which, body)
        except CheckRefusal as exc:
            return answer(request, exc.problem)
        return JSONResponse(accepted.model_dump(mode="json"), status_code=201)

    app.add_api_route(
        f"/v1/{slug}/checks",
        listed,
        methods=["GET"],
        response_model=OpenChecks,
        summary=f"The open agency checks asked of {slug}",
        responses={
            **ADMISSION_RESPONSES,
            403: {"description": "Another partner's checks"},
            503: {"description": "The hub is starting; retry after Retry-After seconds"},
        },
        tags=[f"{slug} checks"],
    )
    app.add_api_route(
        f"/v1/{slug}/checks/{{check_id}}/response",
        respond,
        methods=["POST"],
        status_code=201,
        response_model=CheckAnswerAccepted,
        summary=f"Answer one agency check asked of {slug}, once",
        responses={
            **ADMISSION_RESPONSES,
            403: {"description": "Another partner's endpoint"},
            404: {"description": "No such check of this partner (another partner's too)"},
            409: {"description": "Answered already"},
            413: {"description": "Body too large"},
            422: {"description": "Invalid answer: every error by field"},
            503: {"description": "Kafka did not take it, or the hub is starting; retry later"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AnswerCheck.model_json_schema()}},
            }
        },
        tags=[f"{slug} checks"],
    )
