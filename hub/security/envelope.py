"""Envelopes on the wire: sealed and authenticated at the door, opened and re-sealed by the router.

:class:`Sealer` is what the ingest does with an accepted envelope before it goes to
Kafka. The envelope is split into routing metadata and sensitive content; the content is
sealed under a fresh data key wrapped for the router with the partner's inbound KEK.
The record key is the subject key, so all messages about one child land in one
partition, in order: the partition Kafka's default partitioner gives that key, which
the Sealer computes, because the record's MAC (the partner's ``inbound-mac`` key,
:mod:`hub.security.mac`) covers the partition along with the topic, key and value.
:class:`Opener` is the router's side: it opens the content and seals it per area.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hub.errors import SchemaViolationError
from hub.kafka import partition_for
from hub.security import sealing
from hub.security.keys import SecretKey
from hub.security.mac import RecordMac
from hub.topology import inbound_topic
from schemas.common import Area
from schemas.envelope import Envelope, SensitiveContent, split_envelope
from schemas.wire import MessageReceived, Sealed


@dataclass(frozen=True)
class InboundRecord:
    """A record ready for ``partner.<p>.inbound``, in the partition its MAC names."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int


@dataclass(frozen=True)
class Sealer:
    """Seals and authenticates envelopes for one partner (either can be off).

    ``partitions`` is the partition count of the partner's inbound topic
    (``deploy/topics.yaml``).
    """

    router_kek: SecretKey | None
    mac: RecordMac | None
    partitions: int

    def encode(self, envelope: Envelope) -> InboundRecord:
        """The inbound record of one envelope."""
        meta, content = split_envelope(envelope)
        if self.router_kek is None:
            value = MessageReceived(metadata=meta, content=content).model_dump_json().encode()
        else:
            # MessageReceived's JSON written directly (fields in order, ``content`` null):
            # a test checks it is the model's.
            sealed = sealing.seal_json(
                content.model_dump_json().encode(),
                envelope.message_id,
                sealing.Recipient(sealing.ROUTER, self.router_kek),
            )
            value = b'{"metadata":%s,"sealed":%s,"content":null}' % (
                meta.model_dump_json().encode(),
                sealed.encode(),
            )
        topic, key = inbound_topic(envelope.partner), envelope.subject_key.encode()
        partition = partition_for(key, self.partitions)
        headers = self.mac.headers(topic, partition, key, value) if self.mac else ()
        return InboundRecord(topic, key, value, headers, partition)


@dataclass(eq=False)
class Opener:
    """Opens one inbound message for the router and seals its content for each area.

    The inbound data key is unwrapped at most once, then re-wrapped for each
    destination area's key (the content is not re-encrypted); a payload made for one
    area (an Encompass notice) is sealed under a fresh data key for that area only.
    With encryption off (benchmarks), content travels in clear.
    """

    message: MessageReceived
    inbound_keks: Mapping[str, SecretKey] = field(repr=False)
    area_keks: Mapping[Area, SecretKey] = field(repr=False)
    encrypt: bool = field(kw_only=True)
    _dek: bytes | None = field(default=None, init=False, repr=False)
    _prefix: str | None = field(default=None, init=False, repr=False)
    _shared: tuple[bytes, str, bytes] | None = field(default=None, init=False, repr=False)

    def _data_key(self, sealed: Sealed) -> bytes:
        if self._dek is None:
            message_id = self.message.metadata.message_id
            self._dek = sealing.unwrap(sealed, message_id, sealing.ROUTER, self.inbound_keks)
        return self._dek

    def content(self) -> SensitiveContent:
        """The sensitive content, opened."""
        if self.message.content is not None:
            return self.message.content
        sealed = self._sealed()
        plain = sealing.open_sealed(
            sealed, self.message.metadata.message_id, self._data_key(sealed)
        )
        try:
            return SensitiveContent.model_validate_json(plain)
        except ValidationError as exc:
            raise SchemaViolationError(f"sealed content: {exc.errors()[0]['msg']}") from exc

    def _sealed(self) -> Sealed:
        if self.message.sealed is None:
            raise SchemaViolationError("sealed: missing while encryption is required")
        return self.message.sealed

    def for_area(self, area: Area) -> dict[str, Any]:
        """The content for ``area``: ``{"sealed_json": ...}``, or ``{"payload": ...}`` in clear.

        ``sealed_json`` is the re-wrapped ``Sealed`` as the JSON text the model writes.
        """
        if not self.encrypt:
            content = self.content()
            return {"payload": content.model_dump_json()}
        sealed = self._sealed()
        if self._prefix is None:
            self._prefix = sealing.sealed_prefix(sealed)
        recipient = sealing.Recipient(sealing.area_recipient(area.value), self.area_keks[area])
        message_id = self.message.metadata.message_id
        json = sealing.rewrap_json(self._prefix, message_id, self._data_key(sealed), recipient)
        return {"sealed_json": json}

    def seal_shared(self, payload: bytes, area: Area) -> dict[str, Any]:
        """``payload`` (the same for every area of this message) sealed for ``area``.

        ``{"sealed_json": ...}`` as :meth:`for_area` gives it, or ``{"payload": ...}`` in
        clear. Like the content, it is encrypted once per message and only its data key
        is wrapped per area.
        """
        if not self.encrypt:
            return {"payload": payload.decode()}
        message_id = self.message.metadata.message_id
        if self._shared is None or self._shared[0] is not payload:
            self._shared = (payload, *sealing.seal_prefix(payload, message_id))
        _payload, prefix, dek = self._shared
        recipient = sealing.Recipient(sealing.area_recipient(area.value), self.area_keks[area])
        return {"sealed_json": sealing.rewrap_json(prefix, message_id, dek, recipient)}

    def seal_new(self, payload: bytes, area: Area) -> dict[str, Any]:
        """``payload`` (made for ``area`` alone) sealed for it, or in clear."""
        if not self.encrypt:
            return {"payload": payload.decode()}
        recipient = sealing.Recipient(sealing.area_recipient(area.value), self.area_keks[area])
        return {"sealed": sealing.seal(payload, self.message.metadata.message_id, [recipient])}
