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

from hub.errors import DecryptionError
from hub.security import sealing
from hub.security.envelope import Opener
from hub.security.keys import SecretKey
from schemas.common import Area
from schemas.envelope import split_envelope
from schemas.history import HistorySummary
from schemas.routed import DecisionSummary
from schemas.wire import MessageReceived, Sealed
from tests.factories import envelope

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


MARAC = SecretKey("area-marac.2026-01", os.urandom(32))


def test_a_payload_sealed_once_opens_for_each_area_and_only_with_its_own_key() -> None:
    message_id = uuid4()
    prefix, dek = sealing.seal_prefix(b'{"contacts": []}', message_id)
    texts = {
        area: sealing.rewrap_json(
            prefix, message_id, dek, sealing.Recipient(sealing.area_recipient(area), key)
        )
        for area, key in (("mash", AREA), ("marac", MARAC))
    }
    mash, marac = (Sealed.model_validate_json(texts[a]) for a in ("mash", "marac"))
    assert mash.model_dump_json() == texts["mash"]
    assert marac.model_dump_json() == texts["marac"]
    assert mash.ciphertext == marac.ciphertext
    assert sealing.decrypt_for(mash, message_id, "area:mash", {AREA.key_id: AREA}) == (
        b'{"contacts": []}'
    )
    assert sealing.decrypt_for(marac, message_id, "area:marac", {MARAC.key_id: MARAC}) == (
        b'{"contacts": []}'
    )
    # The attack: MASH's wrapped key moved into MARAC's copy, opened as MARAC, or as MASH
    # with MARAC's key, or on another message: refused every time.
    moved = marac.model_copy(update={"keys": mash.keys})
    with pytest.raises(DecryptionError):
        sealing.decrypt_for(moved, message_id, "area:marac", {MARAC.key_id: MARAC})
    with pytest.raises(DecryptionError):
        sealing.decrypt_for(mash, message_id, "area:mash", {AREA.key_id: MARAC})
    with pytest.raises(DecryptionError):
        sealing.decrypt_for(mash, uuid4(), "area:mash", {AREA.key_id: AREA})


def test_the_opener_seals_a_shared_payload_once_per_message() -> None:
    envelope_ = envelope()
    meta, _content = split_envelope(envelope_)
    inbound = sealing.seal(b"{}", meta.message_id, [sealing.Recipient("router", ROUTER)])
    message = MessageReceived(metadata=meta, sealed=inbound)
    keks = {Area.MASH: AREA, Area.MARAC: MARAC}
    opener = Opener(message, {ROUTER.key_id: ROUTER}, keks, encrypt=True)
    payload = b'{"contacts":[],"totals":{}}'
    copies = {area: opener.seal_shared(payload, area)["sealed_json"] for area in keks}
    for area, text in copies.items():
        sealed = Sealed.model_validate_json(text)
        assert sealed.model_dump_json() == text
        recipient = sealing.area_recipient(area.value)
        opened = sealing.decrypt_for(
            sealed, meta.message_id, recipient, {keks[area].key_id: keks[area]}
        )
        assert opened == payload
    clear = Opener(message, {}, keks, encrypt=False).seal_shared(payload, Area.MASH)
    assert clear == {"payload": payload.decode()}
