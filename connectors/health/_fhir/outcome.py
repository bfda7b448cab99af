"""ParseFailed as a FHIR R4 OperationOutcome, the error document FHIR callers expect.

The HTTP layer answers an invalid message with ``422`` and this document: one issue
per error, with severity ``error``, the issue type chosen where the error was found
(``invalid``, ``required`` or ``not-supported``), the reason in ``diagnostics`` and
the place in ``expression`` (FHIRPath; ``body`` or ``content-type`` for errors in
the bytes or the header rather than in a resource). The transport's own refusals
(:class:`~connectors.errors.RequestRefused`: no credential, too large, rate limit,
Kafka unavailable...) are one issue of the matching type (``login``, ``too-long``,
``throttled``, ``transient``...).

A caller that sent XML gets the document in FHIR's XML syntax (namespace
``http://hl7.org/fhir``, each primitive in a ``value`` attribute); every other caller
gets JSON.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from connectors.errors import ParseFailed, Refusal, RequestRefused
from connectors.health._fhir.issues import FhirFieldError
from connectors.health.format import FHIR_NS

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


def outcome_json(exc: ParseFailed) -> bytes:
    """The OperationOutcome in FHIR JSON."""
    return json.dumps(operation_outcome(exc)).encode()


def outcome_xml(exc: ParseFailed) -> bytes:
    """The OperationOutcome in FHIR XML."""
    document = operation_outcome(exc)
    root = ET.Element("OperationOutcome", xmlns=FHIR_NS)
    for issue in document["issue"]:
        element = ET.SubElement(root, "issue")
        for name in ("severity", "code", "diagnostics"):
            ET.SubElement(element, name, value=str(issue[name]))
        for expression in issue.get("expression", ()):
            ET.SubElement(element, "expression", value=str(expression))
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written
