"""The partners' HTTP ingest: one FastAPI app for every connector in the registry.

Per connector: ``POST <http_path>`` accepts the partner's native format and answers
``202`` with the message ids only after Kafka committed them; ``GET
/v1/<partner>/messages/<id>`` tells the partner what became of its message. Errors:
``401`` unknown or missing credential (before a byte of the body is read), ``403``
another partner's endpoint, a credential not bound to organisations (it says how to
reissue it), or a message from an organisation the credential may not send as; a
status request for another organisation's message is ``404``, as for an unknown one,
so that nobody learns which ids exist. ``413`` body too large, ``415`` content type not
accepted, ``422`` invalid input (every field listed), ``429`` rate limit, ``503`` with
``Retry-After`` when Kafka cannot take the write (nothing of the request is then
visible downstream). Errors are RFC 9457 problem details; FHIR callers get every one
as an OperationOutcome, in XML when they sent XML (:mod:`hub.ingest.answers`).

A large batch (a 20 MiB police CSV holds tens of thousands of messages) is handled
off the event loop (:mod:`hub.ingest.batch`) and written by its partner's bulk
publisher, a transaction of its own, so single messages posted meanwhile are neither
held behind it on the event loop nor in its transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, SecretStr
from starlette.routing import BaseRoute

from connectors.errors import ParseFailed
from connectors.protocol import Connector, ParseContext
from connectors.registry import all_connectors
from hub.errors import BatchWorkerError, KafkaUnavailableError
from hub.ingest.accepted import Accepted, accepted_json, as_duplicate
from hub.ingest.answers import ADMISSION_RESPONSES, format_errors
from hub.ingest.batch import LARGE_BYTES, Work, batch_mode, record_accepted, seal
from hub.ingest.checks import IngestChecks, add_check_routes, checks_running
from hub.ingest.credentials import Credential, CredentialStore
from hub.ingest.ledger import Written
from hub.ingest.ports import Ledger, Publisher
from hub.ingest.worker import (
    SLICE,
    BatchMessage,
    BatchWorkers,
    Prepared,
    batch_workers_running,
    unpack,
)
from hub.security.envelope import Sealer
from hub.topology import inbound_topic
from hub.web import HubApp, Problem, TokenBuckets, answer, problem_response
from hub.web.body import read_body
from hub.web.metrics import add_metrics
from hub.web.ops import is_operator
from hub.web.problems import title_of
from schemas.answer import Answer
from schemas.common import Partner
from schemas.envelope import Envelope

log = structlog.get_logger("hub.ingest")
W = TypeVar("W", bound=Written)
BULK = 200
"""A request with more messages than this is written by the partner's bulk publisher."""
MAX_RECORD_BYTES = 900_000
"""The largest sealed message written to Kafka (the brokers' limit is 1 MiB per batch)."""


class Status(Answer):
    """What became of one message."""

    message_id: UUID = Field(description="The hub's id.")
    partner_reference: str = Field(description="Your reference.")
    kind: str = Field(description="The message kind.")
    status: str = Field(description="received, routed or returned.")
    received_at: datetime = Field(description="When the hub received it.")
    decided_at: datetime | None = Field(None, description="When it was routed or returned.")
    routed_to: tuple[str, ...] = Field(description="Service areas it went to.")
    returned_reasons: tuple[str, ...] = Field(description="Why it was returned, if it was.")


@dataclass
class IngestDeps:
    """What the app needs, built by the composition root."""

    credentials: CredentialStore
    ledger: Ledger
    publishers: dict[Partner, Publisher]
    sealers: dict[Partner, Sealer]
    subject_key_secret: bytes = field(repr=False)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    retry_after_s: int = 5
    limiter: TokenBuckets | None = None
    connectors: list[Connector] = field(default_factory=all_connectors)
    bulk_publishers: dict[Partner, Publisher] = field(default_factory=dict)
    """Each partner's publisher for large batches; none: ``publishers`` take them too."""
    ops_token: SecretStr | None = field(default=None, repr=False)
    checks: IngestChecks | None = None
    """Partners' agency-check endpoints (:mod:`hub.ingest.checks`); None: not served."""
    batch_workers: BatchWorkers | None = None
    """Worker processes for large batches (:mod:`hub.ingest.worker`); None: a thread."""

    def all_publishers(self) -> list[Publisher]:
        """Every publisher, bulk ones included."""
        return [*self.publishers.values(), *self.bulk_publishers.values()]

    def publisher_for(self, partner: Partner, messages: int) -> Publisher:
        """The publisher that writes a request of ``messages`` messages."""
        if messages > BULK and partner in self.bulk_publishers:
            return self.bulk_publishers[partner]
        return self.publishers[partner]


def create_app(deps: IngestDeps) -> FastAPI:
    """Build the ingest app for every registered connector."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await deps.ledger.start()
        for publisher in deps.all_publishers():
            await publisher.start()
        resync = asyncio.create_task(_keep_ledger_synced(deps))
        try:
            with batch_workers_running(deps.batch_workers):
                async with checks_running(deps.checks):
                    yield
        finally:
            resync.cancel()
            for publisher in deps.all_publishers():
                await publisher.stop()
            await deps.ledger.stop()

    app = HubApp(
        max_body=max(c.max_body_bytes for c in deps.connectors),
        render_error=format_errors(deps.connectors),
        title="Safeguarding hub: partner ingest",
        version="1.0",
        description=__doc__,
        lifespan=lifespan,
    )

    app.state.deps = deps

    @app.exception_handler(_Unauthorized)
    async def _unauthorized(request: Request, _exc: _Unauthorized) -> Response:
        detail = "A valid partner credential is required."
        challenge = {"WWW-Authenticate": "Bearer"}
        return answer(request, Problem(401, "Unauthorized", detail, challenge))

    @app.exception_handler(_Unbound)
    async def _unbound(request: Request, exc: _Unbound) -> Response:
        detail = (
            f"This credential was issued before credentials were bound to organisations and "
            f"is no longer accepted. Ask the hub's operator to reissue it with "
            f"`hub partners add {exc.partner.value} --org CODE` (one --org per organisation "
            f"code you send as) and to revoke the old one."
        )
        return answer(request, Problem(403, "Forbidden", detail))

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> JSONResponse:
        """200 once the ledger is synced and every publisher is up; 503 until then."""
        ready = deps.ledger.synced.is_set() and all(
            p.healthy.is_set() for p in deps.all_publishers()
        )
        body: dict[str, object] = {"ready": ready}
        if is_operator(request, deps.ops_token):
            body["messages_known"] = len(deps.ledger)
        return JSONResponse(body, status_code=200 if ready else 503)

    add_metrics(app, "ingest", deps.ops_token)
    framework = list(app.router.routes)
    for connector in deps.connectors:
        _add_routes(app, connector, deps)
        _add_metadata_route(app, connector)
    add_check_routes(app, deps.credentials, deps.checks)
    _matched_last(app, framework)
    return app


def _matched_last(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """Try ``routes`` after every other route of ``app``.

    The router tries each route in turn, a regular expression each: the documentation,
    health and metrics routes came first, and a partner's POST was matched against six
    paths before its own. None of them is in the OpenAPI document (its paths keep their
    order) and none shares a path with another route, so only the cost changes.
    """
    kept = set(map(id, routes))
    app.router.routes[:] = [r for r in app.router.routes if id(r) not in kept] + list(routes)


class _Unauthorized(Exception):  # noqa: N818 -- internal signal to the 401 handler
    pass


class _Unbound(Exception):  # noqa: N818 -- internal signal to the 403 handler
    def __init__(self, partner: Partner) -> None:
        super().__init__(partner.value)
        self.partner = partner


_bearer = HTTPBearer(
    auto_error=False, description="The partner credential from `hub partners add`."
)


async def authenticated_partner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Credential:
    """The credential the request carries (401 otherwise; 403 when bound to no org)."""
    return _credential(request, credentials.credentials if credentials is not None else "")


def _credential(request: Request, token: str) -> Credential:
    deps: IngestDeps = request.app.state.deps
    found = deps.credentials.authenticate(token) if token else None
    if found is None:
        raise _Unauthorized
    if not found.bound:
        raise _Unbound(found.partner)
    return found


Caller = Annotated[Credential, Depends(authenticated_partner)]


async def _caller(request: Request) -> Credential:
    """:func:`authenticated_partner` without FastAPI's dependency solving.

    The token is read as ``HTTPBearer`` reads it (scheme ``bearer`` in any case, the
    rest stripped), without building its credentials model per request.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return _credential(request, token.strip() if scheme.lower() == "bearer" else "")


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _request_only(handler: Handler) -> type[APIRoute]:
    """A route class whose requests go to ``handler(request)``, no dependency solved.

    FastAPI solves an endpoint's dependencies anew for every request, which cost about
    a tenth of the ingest's CPU a request. The route's declared endpoint (its
    ``Caller`` parameter) still gives the OpenAPI document its bearer scheme;
    ``handler`` authenticates with the same function (:func:`_caller`) before it reads
    a byte of the body.
    """

    class RequestOnlyRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            return handler

    return RequestOnlyRoute


async def _keep_ledger_synced(deps: IngestDeps) -> None:
    recovered = asyncio.Event()
    for publisher in deps.all_publishers():
        publisher.on_recovered.append(recovered)
    while True:
        try:
            await deps.ledger.sync()
        except (TimeoutError, KafkaUnavailableError) as exc:
            log.warning("ledger_sync_failed", error=str(exc)[:200])
            await asyncio.sleep(1.0)
            continue
        await recovered.wait()
        recovered.clear()


def _add_routes(app: FastAPI, connector: Connector, deps: IngestDeps) -> None:
    partner = connector.partner
    slug = partner.value

    async def submit(request: Request, caller: Caller) -> Response:
        return await _submit(request, connector, deps, caller)

    async def submit_direct(request: Request) -> Response:
        return await _submit(request, connector, deps, await _caller(request))

    async def status(request: Request, message_id: UUID, caller: Caller) -> Response:
        if caller.partner is not partner:
            return _refuse(request, 403, f"This credential may not read {slug} messages.")
        found = deps.ledger.status(partner, message_id)
        # Another organisation's message is answered as an unknown one: no existence oracle.
        if found is None or not caller.may_act_for(found.org_code):
            return _refuse(request, 404, f"No {slug} message {message_id} is known.")
        body = Status(
            message_id=found.message_id,
            partner_reference=found.partner_reference,
            kind=found.kind,
            status=found.status,
            received_at=found.received_at,
            decided_at=found.decided_at,
            routed_to=found.destinations,
            returned_reasons=found.returned_reasons,
        )
        return JSONResponse(body.model_dump(mode="json"))

    app.router.add_api_route(
        connector.http_path,
        submit,
        route_class_override=_request_only(submit_direct),
        methods=["POST"],
        status_code=202,
        response_model=Accepted,
        summary=f"Submit {slug} messages in the partner's native format",
        responses={
            **ADMISSION_RESPONSES,
            403: {
                "description": (
                    "Another partner's endpoint; a credential bound to no organisation "
                    "(reissue it); or a message sent as an organisation the credential "
                    "is not bound to"
                )
            },
            413: {"description": "Body too large"},
            415: {"description": "Content type not accepted"},
            422: {"description": "Invalid input: every error by field"},
            503: {"description": "Kafka unavailable; retry after Retry-After seconds"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {ct: {"schema": {"type": "string"}} for ct in connector.content_types},
            }
        },
        tags=[slug],
    )
    app.add_api_route(
        f"/v1/{slug}/messages/{{message_id}}",
        status,
        methods=["GET"],
        response_model=Status,
        summary=f"What became of a {slug} message",
        responses={404: {"description": "Unknown, or another partner's or organisation's message"}},
        tags=[slug],
    )


async def _submit(
    request: Request, connector: Connector, deps: IngestDeps, caller: Credential
) -> Response:
    """One POST to ``connector``'s endpoint by an authenticated ``caller``."""
    if caller.partner is not connector.partner:
        return _refuse(
            request, 403, f"This credential may not post to the {connector.partner.value} endpoint."
        )
    if deps.limiter is not None and not deps.limiter.allow(caller.partner.value):
        retry = {"Retry-After": "1"}
        return _refuse(request, 429, "Rate limit reached; retry later.", retry)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", maxsplit=1)[0].strip().lower() not in connector.content_types:
        detail = f"Send one of: {', '.join(connector.content_types)}."
        return _refuse(request, 415, detail)
    raw = await read_body(request, connector.max_body_bytes)
    if raw is None:
        detail = f"The body is larger than {connector.max_body_bytes} bytes."
        return _refuse(request, 413, detail)
    return await _ingest(request, connector, deps, raw, caller)


def _refuse(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None
) -> Response:
    return answer(request, Problem(status, title_of(status), detail, headers))


def _fresh(ledger: Ledger, envelopes: Sequence[W]) -> list[W]:
    """The envelopes the ledger does not know yet (the others are resends).

    A resend is the same (partner, organisation, reference): the id is derived from the
    three, and the ledger's entry must be of the same organisation.
    """
    return [
        e
        for e in envelopes
        if (known := ledger.status(e.partner, e.message_id)) is None
        or known.org_code != e.source.org_code
    ]


def _foreign_orgs(caller: Credential, envelopes: Sequence[Envelope]) -> list[str]:
    """The organisation codes of ``envelopes`` that ``caller`` may not send as."""
    return sorted(
        {e.source.org_code for e in envelopes if not caller.may_act_for(e.source.org_code)}
    )


def _accepted(envelopes: Sequence[Envelope], fresh: Sequence[Envelope]) -> bytes:
    """The :class:`Accepted` answer's JSON, one message at a time.

    Serialising tens of thousands at once would hold the GIL, and so the event loop,
    for the whole call.
    """
    new = {e.message_id for e in fresh}
    messages = [accepted_json(e, duplicate=e.message_id not in new) for e in envelopes]
    return b'{"messages":[' + b",".join(messages) + b"]}"


async def _ingest(
    request: Request, connector: Connector, deps: IngestDeps, raw: bytes, caller: Credential
) -> Response:
    work = Work(large=len(raw) > LARGE_BYTES)
    with batch_mode(work.large):
        try:
            workers = deps.batch_workers
            if work.large and workers is not None:
                return await _handle_batch(workers, request, caller, connector, raw, deps, work)
            return await _handle(request, connector, deps, raw, work, caller)
        finally:
            await work.release()


async def _handle(  # noqa: PLR0917 -- one request's parts
    request: Request,
    connector: Connector,
    deps: IngestDeps,
    raw: bytes,
    work: Work,
    caller: Credential,
) -> Response:
    # The messages live only in ``work`` (no local names), so that they are freed
    # where ``work.release`` frees them.
    started = time.perf_counter()
    content_type = request.headers.get("content-type", "")
    context = ParseContext(received_at=deps.clock(), subject_key_secret=deps.subject_key_secret)
    try:
        work.envelopes = await work.run(connector.parse, raw, content_type, context)
    except ParseFailed as exc:
        log.info("input_refused", partner=connector.partner.value, errors=len(exc.errors))
        return _refusal(connector, exc, content_type)
    foreign = await work.run(_foreign_orgs, caller, work.envelopes)
    if foreign:
        return _foreign_refusal(request, connector, caller, foreign)
    retry = {"Retry-After": str(deps.retry_after_s)}
    publisher = deps.publisher_for(connector.partner, len(work.envelopes))
    if not deps.ledger.synced.is_set() or not publisher.healthy.is_set():
        return _refuse(request, 503, "The hub is starting; retry later.", retry)
    async with deps.ledger.claim(work.envelopes):
        work.fresh = await work.run(_fresh, deps.ledger, work.envelopes)
        work.records = await work.run(seal, deps.sealers[connector.partner], work.fresh)
        too_big = max((len(r.value) for r in work.records), default=0)
        if too_big > MAX_RECORD_BYTES:
            return _too_big(request, too_big)
        try:
            await publisher.publish(work.records)
        except KafkaUnavailableError:
            return _not_written(request, retry)
        await record_accepted(deps.ledger, work.fresh)
    body = await work.run(_accepted, work.envelopes, work.fresh)
    duplicates = len(work.envelopes) - len(work.fresh)
    return _accepted_answer(connector.partner, body, len(work.fresh), duplicates, started)


def _accepted_answer(
    partner: Partner, body: bytes, accepted: int, duplicates: int, started: float
) -> Response:
    log.info(
        "messages_accepted",
        partner=partner.value,
        accepted=accepted,
        duplicates=duplicates,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return Response(body, status_code=202, media_type="application/json")


async def _handle_batch(  # noqa: PLR0917 -- one request's parts
    workers: BatchWorkers,
    request: Request,
    caller: Credential,
    connector: Connector,
    raw: bytes,
    deps: IngestDeps,
    work: Work,
) -> Response:
    """A large batch: parsed, validated and sealed by a worker process, written from here."""
    started = time.perf_counter()
    partner = connector.partner
    received_at = deps.clock()
    retry = {"Retry-After": str(deps.retry_after_s)}
    content_type = request.headers.get("content-type", "")
    try:
        prepared = await workers.prepare(partner, raw, content_type, received_at)
    except BatchWorkerError:
        detail = (
            "The batch's worker process stopped before it finished; nothing of the batch "
            "was kept. Retry later."
        )
        return _refuse(request, 503, detail, retry)
    refusal = _batch_refusal(request, connector, caller, prepared, content_type)
    if refusal is not None:
        return refusal
    publisher = deps.publisher_for(partner, prepared.count)
    if not deps.ledger.synced.is_set() or not publisher.healthy.is_set():
        return _refuse(request, 503, "The hub is starting; retry later.", retry)
    work.messages = await _unpacked(prepared, partner, received_at)
    async with deps.ledger.claim(work.messages):
        for start in range(0, len(work.messages), SLICE):
            await asyncio.sleep(0)
            work.fresh_messages += _fresh(deps.ledger, work.messages[start : start + SLICE])
        too_big = max((len(m.record.value) for m in work.fresh_messages), default=0)
        if too_big > MAX_RECORD_BYTES:
            return _too_big(request, too_big)
        try:
            await publisher.publish([m.record for m in work.fresh_messages])
        except KafkaUnavailableError:
            return _not_written(request, retry)
        await record_accepted(deps.ledger, work.fresh_messages)
    body = await _batch_answer(work.messages, work.fresh_messages)
    fresh, duplicates = len(work.fresh_messages), len(work.messages) - len(work.fresh_messages)
    log.info("batch_accepted", partner=partner.value, worker_pid=prepared.worker_pid)
    return _accepted_answer(partner, body, fresh, duplicates, started)


def _batch_refusal(
    request: Request,
    connector: Connector,
    caller: Credential,
    prepared: Prepared,
    content_type: str,
) -> Response | None:
    """The answer refusing a batch for its content or its organisations, or None."""
    if prepared.errors:
        log.info("input_refused", partner=connector.partner.value, errors=len(prepared.errors))
        return _refusal(connector, ParseFailed(list(prepared.errors)), content_type)
    foreign = [org for org in prepared.orgs if not caller.may_act_for(org)]
    if foreign:
        return _foreign_refusal(request, connector, caller, foreign)
    return None


async def _unpacked(
    prepared: Prepared, partner: Partner, received_at: datetime
) -> list[BatchMessage]:
    """A worker's slices as messages, one slice per turn of the event loop."""
    topic = inbound_topic(partner)
    messages: list[BatchMessage] = []
    while prepared.slices:
        await asyncio.sleep(0)
        messages += unpack(prepared.slices.pop(0), topic, partner, received_at)
    return messages


async def _batch_answer(messages: list[BatchMessage], fresh: list[BatchMessage]) -> bytes:
    """The :class:`Accepted` answer of a large batch, from the lines its worker wrote."""
    new = {m.message_id for m in fresh}
    lines: list[bytes] = []
    for start in range(0, len(messages), SLICE):
        await asyncio.sleep(0)
        lines += (
            m.answer if m.message_id in new else as_duplicate(m.answer)
            for m in messages[start : start + SLICE]
        )
    return b'{"messages":[' + b",".join(lines) + b"]}"


def _foreign_refusal(
    request: Request, connector: Connector, caller: Credential, foreign: Sequence[str]
) -> Response:
    log.info("foreign_org_refused", partner=connector.partner.value, orgs=len(foreign))
    detail = (
        f"This credential may not send as organisation {', '.join(foreign)}; it is bound "
        f"to {', '.join(caller.orgs or ())}. Nothing was accepted."
    )
    return _refuse(request, 403, detail)


def _too_big(request: Request, size: int) -> Response:
    return _refuse(
        request,
        413,
        f"A message is {size} bytes once sealed; the hub stores at most "
        f"{MAX_RECORD_BYTES} bytes per message. Send it in parts or with less text.",
    )


def _not_written(request: Request, retry: dict[str, str]) -> Response:
    detail = "Kafka did not acknowledge the write; nothing was kept. Retry later."
    return _refuse(request, 503, detail, retry)


def _refusal(connector: Connector, exc: ParseFailed, content_type: str) -> Response:
    document = connector.error_document(exc, content_type)
    if document is not None:
        return Response(document.body, status_code=422, media_type=document.media_type)
    errors = tuple({"field": e.field, "message": e.message} for e in exc.errors)
    detail = f"{len(errors)} problem(s) with the input; nothing was accepted."
    return problem_response(Problem(422, "Unprocessable Content", detail, errors=errors))


def _add_metadata_route(app: FastAPI, connector: Connector) -> None:
    """``GET <http_path>/metadata``: the format's description, without a credential.

    FHIR servers answer ``GET [base]/metadata`` with their CapabilityStatement to anyone;
    the health endpoint does the same. ``_format`` (FHIR) or ``Accept`` chooses the syntax.
    """
    if connector.capability_document("") is None:
        return

    async def metadata(request: Request) -> Response:
        wanted = request.query_params.get("_format") or request.headers.get("accept", "")
        document = connector.capability_document(wanted)
        assert document is not None  # checked when the route was added
        return Response(document.body, media_type=document.media_type)

    # FHIR's own place is [base]/metadata; DESIGN.md section 15 also names the partner's.
    paths = (f"{connector.http_path}/metadata", f"/v1/{connector.partner.value}/metadata")
    for path in dict.fromkeys(paths):
        app.add_api_route(
            path,
            metadata,
            methods=["GET"],
            response_class=Response,
            summary=f"What the {connector.partner.value} endpoint accepts (no credential needed)",
            responses={
                200: {
                    "description": "The format's capability document (FHIR: CapabilityStatement)",
                    "content": {"application/fhir+json": {}, "application/fhir+xml": {}},
                }
            },
            tags=[connector.partner.value],
        )
