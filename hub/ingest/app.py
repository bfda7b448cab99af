"""The partners' HTTP ingest: one FastAPI app for every connector in the registry.

Per connector: ``POST <http_path>`` accepts the partner's native format and answers
``202`` with the message ids only after Kafka committed them; ``GET
/v1/<partner>/messages/<id>`` tells the partner what became of its message. Errors:
``401`` unknown or missing credential, ``403`` another partner's endpoint, ``413``
body too large, ``415`` content type not accepted, ``422`` invalid input (RFC 9457
problem details listing every field; FHIR callers get an OperationOutcome), ``429``
rate limit, ``503`` with ``Retry-After`` when Kafka cannot take the write (nothing of
the request is then visible downstream).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from connectors.errors import ParseFailed
from connectors.protocol import Connector, ParseContext
from connectors.registry import all_connectors
from hub.errors import KafkaUnavailableError
from hub.ingest.credentials import CredentialStore
from hub.ingest.ports import Ledger, Publisher
from hub.security.envelope import Sealer
from hub.web import HubApp, TokenBuckets, problem
from schemas.common import Partner
from schemas.envelope import QualityFinding

log = structlog.get_logger("hub.ingest")
PARSE_INLINE_BYTES = 256 * 1024
"""Bodies larger than this are parsed in a worker thread."""
MAX_RECORD_BYTES = 900_000
"""The largest sealed message written to Kafka (the brokers' limit is 1 MiB per batch)."""


class AcceptedMessage(BaseModel):
    """One message the request produced."""

    model_config = ConfigDict(frozen=True)

    message_id: UUID = Field(description="The hub's id; ask for its status with it.")
    partner_reference: str = Field(description="Your reference.")
    kind: str = Field(description="The message kind.")
    duplicate: bool = Field(description="True when this reference was already accepted.")
    quality_findings: tuple[QualityFinding, ...] = Field(description="Data-quality findings.")
    profiles: tuple[str, ...] = Field(
        default=(),
        description=(
            "The UK Core and NHS England profiles your document claims (FHIR meta.profile) "
            "that the hub recognises; it reads every message by its own format either way."
        ),
    )


class Accepted(BaseModel):
    """The 202 answer: durable in Kafka, to be routed."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[AcceptedMessage, ...] = Field(description="Every message, in input order.")


class Status(BaseModel):
    """What became of one message."""

    model_config = ConfigDict(frozen=True)

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


def create_app(deps: IngestDeps) -> FastAPI:
    """Build the ingest app for every registered connector."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await deps.ledger.start()
        for publisher in deps.publishers.values():
            await publisher.start()
        resync = asyncio.create_task(_keep_ledger_synced(deps))
        try:
            yield
        finally:
            resync.cancel()
            for publisher in deps.publishers.values():
                await publisher.stop()
            await deps.ledger.stop()

    app = HubApp(
        title="Safeguarding hub: partner ingest",
        version="1.0",
        description=__doc__,
        lifespan=lifespan,
    )

    app.state.deps = deps

    @app.exception_handler(_Unauthorized)
    async def _unauthorized(_request: Request, _exc: _Unauthorized) -> Response:
        return problem(
            401,
            "Unauthorized",
            "A valid partner credential is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, object]:
        ready = deps.ledger.synced.is_set() and all(
            p.healthy.is_set() for p in deps.publishers.values()
        )
        return {"ready": ready, "messages_known": len(deps.ledger)}

    for connector in deps.connectors:
        _add_routes(app, connector, deps)
        _add_metadata_route(app, connector)
    return app


class _Unauthorized(Exception):  # noqa: N818 -- internal signal to the 401 handler
    pass


_bearer = HTTPBearer(
    auto_error=False, description="The partner credential from `hub partners add`."
)


async def authenticated_partner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Partner:
    """The partner whose credential the request carries (401 otherwise)."""
    deps: IngestDeps = request.app.state.deps
    token = credentials.credentials if credentials is not None else ""
    partner = deps.credentials.authenticate(token) if token else None
    if partner is None:
        raise _Unauthorized
    return partner


Caller = Annotated[Partner, Depends(authenticated_partner)]


async def _keep_ledger_synced(deps: IngestDeps) -> None:
    recovered = asyncio.Event()
    for publisher in deps.publishers.values():
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
        if caller is not partner:
            return problem(
                403, "Forbidden", f"This credential may not post to the {slug} endpoint."
            )
        if deps.limiter is not None and not deps.limiter.allow(caller.value):
            return problem(
                429,
                "Too Many Requests",
                "Rate limit reached; retry later.",
                headers={"Retry-After": "1"},
            )
        raw = await _read_limited(request, connector.max_body_bytes)
        if raw is None:
            return problem(
                413,
                "Payload Too Large",
                f"The body is larger than {connector.max_body_bytes} bytes.",
            )
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() not in connector.content_types:
            return problem(
                415, "Unsupported Media Type", f"Send one of: {', '.join(connector.content_types)}."
            )
        return await _ingest(connector, deps, raw, content_type)

    async def status(message_id: UUID, caller: Caller) -> Response:
        if caller is not partner:
            return problem(403, "Forbidden", f"This credential may not read {slug} messages.")
        found = deps.ledger.status(caller, message_id)
        if found is None:
            return problem(404, "Not Found", f"No {slug} message {message_id} is known.")
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

    app.add_api_route(
        connector.http_path,
        submit,
        methods=["POST"],
        status_code=202,
        response_model=Accepted,
        summary=f"Submit {slug} messages in the partner's native format",
        responses={
            401: {"description": "Missing or unknown credential"},
            403: {"description": "Another partner's endpoint"},
            413: {"description": "Body too large"},
            415: {"description": "Content type not accepted"},
            422: {"description": "Invalid input: every error by field"},
            429: {"description": "Rate limit"},
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
        responses={404: {"description": "Unknown, or another partner's message"}},
        tags=[slug],
    )


async def _read_limited(request: Request, limit: int) -> bytes | None:
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


async def _ingest(
    connector: Connector, deps: IngestDeps, raw: bytes, content_type: str
) -> Response:
    started = time.perf_counter()
    context = ParseContext(received_at=deps.clock(), subject_key_secret=deps.subject_key_secret)
    try:
        if len(raw) > PARSE_INLINE_BYTES:
            # A large batch parses in a worker thread, so other partners' requests keep
            # being served meanwhile.
            envelopes = await asyncio.to_thread(connector.parse, raw, content_type, context)
        else:
            envelopes = connector.parse(raw, content_type, context)
    except ParseFailed as exc:
        log.info("input_refused", partner=connector.partner.value, errors=len(exc.errors))
        return _refusal(connector, exc, content_type)
    retry = {"Retry-After": str(deps.retry_after_s)}
    publisher = deps.publishers[connector.partner]
    if not deps.ledger.synced.is_set() or not publisher.healthy.is_set():
        return problem(
            503, "Service Unavailable", "The hub is starting; retry later.", headers=retry
        )
    sealer = deps.sealers[connector.partner]
    async with deps.ledger.claim(envelopes):
        fresh = [e for e in envelopes if deps.ledger.status(e.partner, e.message_id) is None]
        records = [sealer.encode(e) for e in fresh]
        too_big = next((r for r in records if len(r.value) > MAX_RECORD_BYTES), None)
        if too_big is not None:
            return problem(
                413,
                "Payload Too Large",
                f"A message is {len(too_big.value)} bytes once sealed; the hub stores at most "
                f"{MAX_RECORD_BYTES} bytes per message. Send it in parts or with less text.",
            )
        try:
            await publisher.publish(records)
        except KafkaUnavailableError:
            return problem(
                503,
                "Service Unavailable",
                "Kafka did not acknowledge the write; nothing was kept. Retry later.",
                headers=retry,
            )
        deps.ledger.accept(fresh)
    fresh_ids = {e.message_id for e in fresh}
    body = Accepted(
        messages=tuple(
            AcceptedMessage(
                message_id=e.message_id,
                partner_reference=e.source.partner_reference,
                kind=e.kind,
                duplicate=e.message_id not in fresh_ids,
                quality_findings=e.quality.findings,
                profiles=e.profiles,
            )
            for e in envelopes
        )
    )
    log.info(
        "messages_accepted",
        partner=connector.partner.value,
        accepted=len(fresh),
        duplicates=len(envelopes) - len(fresh),
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


def _refusal(connector: Connector, exc: ParseFailed, content_type: str) -> Response:
    document = connector.error_document(exc, content_type)
    if document is not None:
        return Response(document.body, status_code=422, media_type=document.media_type)
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem(
        422,
        "Unprocessable Content",
        f"{len(errors)} problem(s) with the input; nothing was accepted.",
        errors=errors,
    )


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

    app.add_api_route(
        f"{connector.http_path}/metadata",
        metadata,
        methods=["GET"],
        response_class=Response,
        summary=f"What the {connector.partner.value} endpoint accepts (no credential needed)",
        responses={
            200: {
                "description": "The format's capability document (FHIR: a CapabilityStatement)",
                "content": {"application/fhir+json": {}, "application/fhir+xml": {}},
            }
        },
        tags=[connector.partner.value],
    )
