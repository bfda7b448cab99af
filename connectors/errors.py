"""The errors a connector raises: every problem with a partner's input, by field."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.errors import SchemaViolationError


@dataclass(frozen=True)
class FieldError:
    """One problem with the partner's input: where, and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ParseFailed(SchemaViolationError):  # noqa: N818 - the registry's public name
    """The input cannot be accepted; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in errors[:5]) or "invalid input")


class Refusal(StrEnum):
    """Why a transport refused a request before (or instead of) parsing it."""

    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


class RequestRefused(ParseFailed):
    """A refusal by the transport (credential, size, rate, Kafka), in the format's own words.

    A connector whose format has an error document (FHIR's OperationOutcome) renders
    these as it renders parse errors, so its callers get every error in one format.
    """

    def __init__(self, refusal: Refusal, where: str, message: str) -> None:
        self.refusal = refusal
        super().__init__([FieldError(where, message)])
