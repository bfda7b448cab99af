"""The router's direct JSON of a re-wrapped ``Sealed`` is the model's own JSON.

The hot path writes the sealed content of each routed copy as text (the ciphertext
once per message, a wrapped key per area) instead of building and serialising a
``Sealed`` per area; the bytes must be what the model writes, and the key must open.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from hub.security import sealing
from hub.security.keys import SecretKey
from schemas.history import HistorySummary
from schemas.routed import DecisionSummary
from schemas.wire import Sealed

ROUTER = SecretKey("router-1", os.urandom(32))
AREA = SecretKey("area-mash.2026-01", os.urandom(32))


def test_rewrap_json_is_the_models_json_and_opens() -> None:
    message_id = uuid4()
    sealed = sealing.seal(b'{"x": "secret"}', message_id, [sealing.Recipient("router", ROUTER)])
    dek = sealing.unwrap(sealed, message_id, "router", {ROUTER.key_id: ROUTER})
    recipient = sealing.Recipient(sealing.area_recipient("mash"), AREA)
    text = sealing.rewrap_json(sealing.sealed_prefix(sealed), message_id, dek, recipient)
    parsed = Sealed.model_validate_json(text)
    assert parsed.model_dump_json() == text
    assert parsed.ciphertext == sealed.ciphertext
    assert [k.recipient for k in parsed.keys] == ["area:mash"]
    opened = sealing.decrypt_for(parsed, message_id, "area:mash", {AREA.key_id: AREA})
    assert opened == b'{"x": "secret"}'
    with pytest.raises(Exception, match="authenticate"):  # another message's id: refused
        sealing.decrypt_for(parsed, uuid4(), "area:mash", {AREA.key_id: AREA})


def test_trusted_serialises_as_the_validated_model() -> None:
    fields = {
        "destinations": ("mash", "early-help"),
        "rules": ("r1",),
        "rationale": ("because",),
        "returned_reasons": (),
        "policy_version": "v1",
        "shared_without_consent": False,
        "decided_at": datetime(2026, 12, 3, 9, 30, 1, 123456, tzinfo=UTC),
        "history": HistorySummary(contacts_12m=2),
    }
    validated = DecisionSummary(**fields)  # type: ignore[arg-type]
    trusted = DecisionSummary.trusted({**fields, "destinations": validated.destinations})
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted == validated


def test_sealed_and_wrapped_keys_built_without_validation_are_the_validated_models() -> None:
    message_id = uuid4()
    recipients = [sealing.Recipient("router", ROUTER), sealing.Recipient("area:mash", AREA)]
    sealed = sealing.seal(b"secret", message_id, recipients)
    validated = Sealed.model_validate_json(sealed.model_dump_json())
    assert sealed == validated
    assert sealed.model_dump_json() == validated.model_dump_json()
    assert sealing.decrypt_for(sealed, message_id, "area:mash", {AREA.key_id: AREA}) == b"secret"


@pytest.mark.parametrize(
    "recipient",
    [
        sealing.Recipient("Router!", ROUTER),  # not a recipient name
        sealing.Recipient("router", SecretKey("bad key id", os.urandom(32))),
    ],
)
def test_a_recipient_the_model_refuses_is_still_refused(recipient: sealing.Recipient) -> None:
    with pytest.raises(ValidationError):
        sealing.seal(b"secret", uuid4(), [recipient])
    with pytest.raises(ValidationError):
        sealing.rewrap_json("", uuid4(), os.urandom(32), recipient)


def test_sealing_for_nobody_is_refused() -> None:
    with pytest.raises(ValidationError):
        sealing.seal(b"secret", uuid4(), [])
