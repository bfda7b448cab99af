"""The errors a connector raises: every problem with a partner's input, by field."""

from __future__ import annotations

from dataclasses import dataclass

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
