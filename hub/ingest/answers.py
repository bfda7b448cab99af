"""The ingest's errors in each caller's format: problem details, or the partner format's own.

A FHIR caller (one that posts to the FHIR endpoint) gets every error, the
transport's refusals (``401``, ``403``, ``413``, ``415``, ``429``, ``503``...) as well
as invalid input, as an OperationOutcome, in XML when it sent XML: the connector's
:meth:`~connectors.protocol.Connector.error_document` renders them. Every other
caller gets RFC 9457 problem details.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from connectors.errors import FieldError, ParseFailed, Refusal, RequestRefused
from connectors.protocol import Connector
from hub.web import ErrorRenderer, Problem

REFUSALS: dict[int, tuple[Refusal, str]] = {
    401: (Refusal.UNAUTHENTICATED, "authorization"),
    403: (Refusal.FORBIDDEN, "authorization"),
    404: (Refusal.NOT_FOUND, "request"),
    408: (Refusal.TIMEOUT, "body"),
    413: (Refusal.TOO_LARGE, "body"),
    415: (Refusal.UNSUPPORTED_MEDIA_TYPE, "content-type"),
    429: (Refusal.RATE_LIMITED, "request"),
    503: (Refusal.UNAVAILABLE, "request"),
}
"""Each transport status as the refusal a format's error document names, and where."""

ADMISSION_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown credential"},
    429: {"description": "Rate limit"},
}
"""The answers of a partner's credential check, on every partner route (OpenAPI)."""


def as_parse_failure(found: Problem) -> ParseFailed:
    """A problem as the connectors' error type, for a format's own error document."""
    if found.errors:
        return ParseFailed([FieldError(e["field"], e["message"]) for e in found.errors])
    refusal, where = REFUSALS.get(found.status, (Refusal.FAILED, "request"))
    return RequestRefused(refusal, where, found.detail)


def format_errors(connectors: Iterable[Connector]) -> ErrorRenderer:
    """Render errors of posts to a connector with an error document in that document."""
    by_path = {c.http_path: c for c in connectors}

    def render(request: Request, found: Problem) -> Response | None:
        connector = by_path.get(request.url.path)
        if connector is None or request.method != "POST":
            return None
        content_type = request.headers.get("content-type", "")
        document = connector.error_document(as_parse_failure(found), content_type)
        if document is None:
            return None
        headers = dict(found.headers) if found.headers else None
        return Response(
            document.body, status_code=found.status, media_type=document.media_type, headers=headers
        )

    return render
