"""The ``202`` answer of the partners' ingest: every message of a request, in input order.

Built one message at a time (:func:`accepted_json`), by the app for a small request and
by a batch worker process (:mod:`hub.ingest.worker`) for a large one, so both answer
in exactly the same JSON.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from schemas.answer import Answer
from schemas.envelope import Envelope, QualityFinding

DUPLICATE = b'"duplicate":true'
NOT_DUPLICATE = b'"duplicate":false'


class AcceptedMessage(Answer):
    """One message the request produced."""

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


class Accepted(Answer):
    """The 202 answer: durable in Kafka, to be routed."""

    messages: tuple[AcceptedMessage, ...] = Field(description="Every message, in input order.")


def accepted_json(envelope: Envelope, *, duplicate: bool) -> bytes:
    """One message's :class:`AcceptedMessage`, as JSON."""
    return (
        AcceptedMessage(
            message_id=envelope.message_id,
            partner_reference=envelope.source.partner_reference,
            kind=envelope.kind,
            duplicate=duplicate,
            quality_findings=envelope.quality.findings,
            profiles=envelope.profiles,
        )
        .model_dump_json()
        .encode()
    )


def as_duplicate(message: bytes) -> bytes:
    """``message`` (from :func:`accepted_json`, not a duplicate) marked as a duplicate.

    The flag's text cannot occur earlier in the JSON: the fields before it are a UUID,
    a string (a quote in it is escaped with a backslash) and a kind (letters, dots and
    underscores).
    """
    return message.replace(NOT_DUPLICATE, DUPLICATE, 1)
