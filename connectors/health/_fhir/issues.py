"""What the health connector records while it reads a message: errors and findings.

Errors refuse the whole message (:class:`~connectors.errors.ParseFailed`); each carries
the FHIR issue type it is reported under in the OperationOutcome (:mod:`.outcome`),
so the type is chosen where the error is found and never guessed from its text.
Findings are data-quality observations on a message that is accepted. Both name
the place in the partner's input as a FHIRPath expression, for example
``Bundle.entry[2].resource.subject``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NoReturn

from pydantic import ValidationError

from connectors.errors import FieldError, ParseFailed
from connectors.subjects import finding
from schemas.envelope import QualityFinding

IssueCode = Literal["invalid", "required", "not-supported"]
"""The FHIR ``issue-type`` codes the connector reports."""


@dataclass(frozen=True)
class FhirFieldError(FieldError):
    """A field error with the FHIR issue type it is reported under."""

    code: IssueCode = "invalid"


@dataclass
class Ledger:
    """Errors for the whole message and data-quality findings for one envelope."""

    errors: list[FieldError] = field(default_factory=list)
    findings: list[QualityFinding] = field(default_factory=list)

    def for_envelope(self) -> Ledger:
        """A ledger with its own findings that adds errors to this one's."""
        return Ledger(errors=self.errors)

    def invalid(self, where: str, message: str) -> None:
        """Record a value that cannot be accepted."""
        self.errors.append(FhirFieldError(where, message, "invalid"))

    def required(self, where: str, message: str) -> None:
        """Record a missing element the hub needs."""
        self.errors.append(FhirFieldError(where, message, "required"))

    def not_supported(self, where: str, message: str) -> None:
        """Record valid FHIR that the hub does not accept."""
        self.errors.append(FhirFieldError(where, message, "not-supported"))

    def warn(self, code: str, where: str, message: str) -> None:
        """Record a warning finding (10 points off the quality score)."""
        self.findings.append(finding(code, where, message))

    def note(self, code: str, where: str, message: str) -> None:
        """Record an informational finding (2 points off the quality score)."""
        self.findings.append(finding(code, where, message, warning=False))


def refuse(where: str, message: str, code: IssueCode = "invalid") -> NoReturn:
    """Refuse the message for one reason that makes reading further pointless."""
    raise ParseFailed([FhirFieldError(where, message, code)])


def fhir_path(prefix: str, loc: Iterable[int | str]) -> str:
    """Join a pydantic error location to a FHIRPath: ``Bundle`` + (entry, 0) -> entry[0]."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or prefix


def validation_issues(exc: ValidationError, prefix: str) -> list[FieldError]:
    """Every error of a pydantic validation, by FHIRPath, as missing or invalid."""
    issues: list[FieldError] = []
    for err in exc.errors(include_url=False, include_input=False):
        missing = err["type"] == "missing" or err["type"].endswith(".missing")
        code: IssueCode = "required" if missing else "invalid"
        issues.append(FhirFieldError(fhir_path(prefix, err["loc"]), err["msg"], code))
    return issues or [FhirFieldError(prefix, "is not valid FHIR R4", "invalid")]
