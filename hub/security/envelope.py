"""What every connector does with an accepted envelope before it goes to Kafka.

The envelope is split into routing metadata and sensitive content; the content is
sealed under a fresh data key wrapped for the router with the partner's inbound KEK;
the record value is signed with the partner's Ed25519 key. The record key is the
subject key, so all messages about one child land in one partition, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.security import sealing
from hub.security.keys import SecretKey
from hub.security.signing import Signer
from hub.topology import inbound_topic
from schemas.envelope import Envelope, split_envelope
from schemas.wire import MessageReceived


@dataclass(frozen=True)
class InboundRecord:
    """A record ready for ``partner.<p>.inbound``."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Sealer:
    """Seals and signs envelopes for one partner (encryption and signing can be off)."""

    router_kek: SecretKey | None
    signer: Signer | None

    def encode(self, envelope: Envelope) -> InboundRecord:
        """The inbound record of one envelope."""
        meta, content = split_envelope(envelope)
        if self.router_kek is None:
            message = MessageReceived(metadata=meta, content=content)
        else:
            sealed = sealing.seal(
                content.model_dump_json().encode(),
                envelope.message_id,
                [sealing.Recipient(sealing.ROUTER, self.router_kek)],
            )
            message = MessageReceived(metadata=meta, sealed=sealed)
        value = message.model_dump_json().encode()
        headers = tuple(self.signer.headers(value)) if self.signer else ()
        return InboundRecord(
            topic=inbound_topic(envelope.partner),
            key=envelope.subject_key.encode(),
            value=value,
            headers=headers,
        )
