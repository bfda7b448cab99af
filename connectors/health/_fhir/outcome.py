"""ParseFailed as a FHIR R4 OperationOutcome, the error document FHIR callers expect.

The HTTP layer answers an invalid message with ``422`` and this document: one issue
per error, with severity ``error``, the issue type chosen where the error was found
(``invalid``, ``required`` or ``not-supported``), the reason in ``diagnostics`` and
the place in ``expression`` (FHIRPath; ``body`` or ``content-type`` for errors in
the bytes or the header rather than in a resource).
"""

from __future__ import annotations

from typing import Any

from connectors.errors import ParseFailed
from connectors.health._fhir.issues import FhirFieldError


def operation_outcome(exc: ParseFailed) -> dict[str, Any]:
    """The OperationOutcome (as JSON-ready data) listing every error of ``exc``."""
    issues = [
        {
            "severity": "error",
            "code": error.code if isinstance(error, FhirFieldError) else "invalid",
            "diagnostics": error.message,
            "expression": [error.field],
        }
        for error in exc.errors
    ]
    if not issues:
        issues = [{"severity": "error", "code": "invalid", "diagnostics": str(exc)}]
    return {"resourceType": "OperationOutcome", "issue": issues}
