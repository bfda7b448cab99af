"""ParseFailed as a FHIR R4 OperationOutcome, the error document FHIR callers expect.

The HTTP layer answers an invalid message with ``422`` and this document: one issue
per error, with severity ``error``, the issue type chosen where the error was found
(``invalid``, ``required`` or ``not-supported``), the reason in ``diagnostics`` and
the place in ``expression`` (FHIRPath; ``body`` or ``content-type`` for errors in
the bytes or the header rather than in a resource). The transport's own refusals
(:class:`~connectors.errors.RequestRefused`: no credential, too large, rate limit,
Kafka unavailable...) are one issue of the matching type (``login``, ``too-long``,
``throttled``, ``transient``...).

A caller that sent XML gets the document in FHIR's XML syntax (:mod:`.render`);
every other caller gets JSON.
"""

from __future__ import annotations

from typing import Any

from connectors.errors import ParseFailed, Refusal, RequestRefused
from connectors.health._fhir.issues import FhirFieldError

REFUSAL_CODES = {
    Refusal.UNAUTHENTICATED: "login",
    Refusal.FORBIDDEN: "forbidden",
    Refusal.NOT_FOUND: "not-found",
    Refusal.TIMEOUT: "timeout",
    Refusal.TOO_LARGE: "too-long",
    Refusal.UNSUPPORTED_MEDIA_TYPE: "not-supported",
    Refusal.RATE_LIMITED: "throttled",
    Refusal.UNAVAILABLE: "transient",
    Refusal.FAILED: "exception",
}
"""The FHIR ``issue-type`` of each transport refusal."""


def operation_outcome(exc: ParseFailed) -> dict[str, Any]:
    """The OperationOutcome (as JSON-ready data) listing every error of ``exc``."""
    refused = REFUSAL_CODES[exc.refusal] if isinstance(exc, RequestRefused) else None
    issues = [
        {
            "severity": "error",
            "code": refused or (error.code if isinstance(error, FhirFieldError) else "invalid"),
            "diagnostics": error.message,
            "expression": [error.field],
        }
        for error in exc.errors
    ]
    if not issues:
        issues = [{"severity": "error", "code": "invalid", "diagnostics": str(exc)}]
    return {"resourceType": "OperationOutcome", "issue": issues}
