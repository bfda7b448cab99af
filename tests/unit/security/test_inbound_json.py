"""The ingest writes an inbound record's JSON directly: the bytes are the model's, and it opens.

:meth:`Sealer.encode` no longer builds a ``Sealed`` and a ``MessageReceived`` to
serialise them; what it writes must be exactly what those models would write, and the
router must open it and verify its MAC as before.
"""

from __future__ import annotations

import os

import pytest

from hub.errors import DecryptionError
from hub.security import sealing
from hub.security.envelope import Opener, Sealer
from hub.security.keys import SecretKey
from hub.security.mac import Link, RecordMac
from schemas.envelope import split_envelope
from schemas.wire import MessageReceived, Sealed
from tests.factories import envelope, subject

ROUTER = SecretKey("router-1", os.urandom(32))
MAC = SecretKey("inbound-mac-police.1", os.urandom(32))


def _sealer() -> Sealer:
    return Sealer(ROUTER, RecordMac(Link.INBOUND, {MAC.key_id: MAC}, lambda: MAC.key_id), 6)


@pytest.mark.parametrize(
    "message",
    [
        envelope(),
        envelope(subjects=[subject(), subject(given_name="Zoë", family_name="O'Brien")]),
        envelope(narrative='Quotes " and \\ backslashes, a tab\tand a newline\n, emoji 🙂'),
    ],
)
def test_the_sealed_value_is_the_models_json_and_opens(message: object) -> None:
    record = _sealer().encode(message)  # type: ignore[arg-type]
    parsed = MessageReceived.model_validate_json(record.value)
    assert parsed.model_dump_json().encode() == record.value
    meta, content = split_envelope(message)  # type: ignore[arg-type]
    assert parsed.sealed is not None
    rebuilt = MessageReceived(metadata=meta, sealed=parsed.sealed)
    assert rebuilt.model_dump_json().encode() == record.value
    opened = Opener(parsed, {ROUTER.key_id: ROUTER}, {}, encrypt=True).content()
    assert opened == content
    verifier = RecordMac(Link.INBOUND, {MAC.key_id: MAC})
    assert verifier.verify(record.topic, record.partition, record.key, record.value, record.headers)


def test_seal_json_is_the_models_json_and_is_bound_to_the_message() -> None:
    message = envelope()
    text = sealing.seal_json(b'{"x":1}', message.message_id, sealing.Recipient("router", ROUTER))
    sealed = Sealed.model_validate_json(text)
    assert sealed.model_dump_json() == text
    keks = {ROUTER.key_id: ROUTER}
    assert sealing.decrypt_for(sealed, message.message_id, "router", keks) == b'{"x":1}'
    with pytest.raises(DecryptionError):
        sealing.decrypt_for(sealed, envelope().message_id, "router", keks)
