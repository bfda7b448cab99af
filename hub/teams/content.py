"""Opening a routed copy: the sealed content decrypted with the area's key, only on demand.

The queue keeps ciphertext at rest; :func:`open_routed` decrypts when a practitioner
or an API client reads one message, and the clear text lives only for that request.
The data key was wrapped by the router for ``area:<area>`` with the message id bound
as associated data, so only this area's key (any of its key ids: rotation) opens it.
A team that holds its area's key (encryption on) never shows content that came in
clear: the consumer refuses such a copy, and :func:`open_routed` refuses it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from pydantic import ValidationError

from hub.errors import DecryptionError, SchemaViolationError, UnsealedContentError, first_problem
from hub.security import sealing
from hub.security.keys import SecretKey
from schemas.chronology import Chronology
from schemas.envelope import Envelope, RoutingMetadata, SensitiveContent, join_envelope
from schemas.routed import EncompassNotice, MessageRouted

log = structlog.get_logger("hub.teams")


@dataclass(frozen=True)
class Opened:
    """The clear content of one routed copy: a full envelope, or an Encompass notice."""

    envelope: Envelope | None = None
    notice: EncompassNotice | None = None
    chronology: Chronology | None = None


def open_routed(routed: MessageRouted, keks: Mapping[str, SecretKey]) -> Opened:
    """Decrypt a routed copy for its own area.

    Raises :class:`~hub.errors.DecryptionError` when the key does not open it,
    :class:`~hub.errors.UnsealedContentError` for clear content while the area has keys,
    and :class:`~hub.errors.SchemaViolationError` when the clear text is not the contract.
    """
    if keks and (routed.payload is not None or routed.chronology is not None):
        raise UnsealedContentError("payload: clear content while encryption is on")
    if routed.sealed is not None:
        recipient = sealing.area_recipient(routed.area.value)
        plain = sealing.decrypt_for(routed.sealed, routed.message_id, recipient, keks)
    elif routed.payload is not None:
        plain = routed.payload.encode()
    else:
        raise SchemaViolationError("sealed: the routed copy carries no content")
    try:
        if routed.payload_type == "encompass_notice":
            return Opened(notice=EncompassNotice.model_validate_json(plain))
        if not isinstance(routed.metadata, RoutingMetadata):
            raise SchemaViolationError("metadata: an Encompass copy's metadata with an envelope")
        content = SensitiveContent.model_validate_json(plain)
        return Opened(
            envelope=join_envelope(routed.metadata, content), chronology=_chronology(routed, keks)
        )
    except ValidationError as exc:
        where = first_problem(exc, whole="content", detail="type")
        raise SchemaViolationError(f"sealed content {where}") from exc
    except ValueError as exc:  # join_envelope: metadata and content disagree
        raise SchemaViolationError(f"sealed content: {exc}") from exc


def _chronology(routed: MessageRouted, keks: Mapping[str, SecretKey]) -> Chronology | None:
    """The copy's chronology: sealed like the content (same area, same message id)."""
    if routed.chronology_sealed is None:
        return routed.chronology
    recipient = sealing.area_recipient(routed.area.value)
    plain = sealing.decrypt_for(routed.chronology_sealed, routed.message_id, recipient, keks)
    return Chronology.model_validate_json(plain)


def try_open(routed: MessageRouted, keks: Mapping[str, SecretKey]) -> Opened | None:
    """:func:`open_routed`, or None (logged by error class only) when it cannot be opened."""
    try:
        return open_routed(routed, keks)
    except (DecryptionError, SchemaViolationError, UnsealedContentError) as exc:
        failure = type(exc).__name__
    log.error(
        "message_unreadable",
        message_id=str(routed.message_id),
        area=routed.area.value,
        error_class=failure,
    )
    return None
