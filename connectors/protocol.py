"""The shape every connector shares: a partner, a pure parser and its transport's facts.

A connector is a pure :meth:`Connector.parse` from the partner's native bytes to
:class:`~schemas.envelope.Envelope` objects, raising
:class:`~connectors.errors.ParseFailed` with every error by field, plus a thin
description of its HTTP transport. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from connectors.errors import ParseFailed
from connectors.native import JSON_MAX_BYTES, JSON_TYPES
from schemas.common import Partner
from schemas.envelope import Envelope


@dataclass(frozen=True)
class ParseContext:
    """What a parse needs from outside: the clock reading and the subject-key secret."""

    received_at: datetime
    subject_key_secret: bytes = field(repr=False)

    def subject_key(self, *parts: str) -> str:
        """Return the keyed hash (HMAC-SHA256, hex) of normalised identifying parts."""
        message = "|".join(parts).encode()
        return hmac.new(self.subject_key_secret, message, hashlib.sha256).hexdigest()


class Connector(Protocol):
    """What the hub knows about a connector: a partner, a parser, a transport."""

    partner: Partner
    kinds: frozenset[str]
    http_path: str
    content_types: tuple[str, ...]
    max_body_bytes: int

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse native bytes into envelopes, or raise :class:`ParseFailed`."""
        ...

    def error_document(self, error: ParseFailed, content_type: str) -> ErrorDocument | None:
        """The format's own document for a refusal (FHIR: an OperationOutcome).

        ``content_type`` is what the caller sent, so a format with several syntaxes
        answers in the caller's. None means the transport's problem details.
        """
        ...

    def capability_document(self, accept: str) -> ErrorDocument | None:
        """What the endpoint accepts, in the format's own terms (FHIR: a CapabilityStatement).

        Served without a credential at ``<http_path>/metadata``; ``accept`` is the
        caller's preferred media type. None means the format has no such document.
        """
        ...


class PlainConnector:
    """A connector that is its transport's facts and one parse function, nothing more.

    Its refusals have no document of the format's own: the transport answers with
    problem details. A subclass sets the partner, kinds, path and ``parser``; it
    reads one JSON document unless it says otherwise.
    """

    partner: Partner
    kinds: frozenset[str]
    http_path: str
    content_types: tuple[str, ...] = JSON_TYPES
    max_body_bytes: int = JSON_MAX_BYTES
    parser: Callable[[bytes, str, ParseContext], list[Envelope]]

    def parse(self, raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
        """Parse native bytes into envelopes with ``parser``, or raise :class:`ParseFailed`."""
        return self.parser(raw, content_type, context)

    def error_document(self, error: ParseFailed, content_type: str) -> None:
        """None: refusals are the transport's problem details."""
        del error, content_type

    def capability_document(self, accept: str) -> None:
        """None: the format is described by its JSON Schema and docs, not a document served."""
        del accept


@dataclass(frozen=True)
class ErrorDocument:
    """A document in the partner format's own terms: a refusal, or its capabilities."""

    media_type: str
    body: bytes
