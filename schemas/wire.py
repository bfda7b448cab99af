"""How an envelope travels on ``partner.<p>.inbound``: metadata in clear, content sealed.

A connector seals the :class:`~schemas.envelope.SensitiveContent` under a fresh
AES-256-GCM data key and wraps that key for the router (:mod:`hub.security.sealing`). The
record value is the JSON of :class:`MessageReceived`; its signature and key id travel
in headers (:mod:`hub.security.signing`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.common import Contract
from schemas.envelope import RoutingMetadata, SensitiveContent

B64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*={0,2}$", max_length=1_000_000)]


class WrappedKey(Contract):
    """The message's data key, encrypted for one recipient."""

    recipient: Annotated[str, Field(pattern=r"^[a-z][a-z0-9:.-]*$")] = Field(
        description="Who can unwrap it: 'router' or 'area:<area>'."
    )
    key_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = Field(
        description="Id of the recipient's key-encryption key (rotation)."
    )
    wrapped: B64 = Field(
        description="base64url(nonce || AES-256-GCM(KEK, data key)), AAD = message id | recipient."
    )


class Sealed(Contract):
    """Sensitive content encrypted under a one-message data key."""

    alg: Literal["AES-256-GCM"] = Field("AES-256-GCM", description="Content cipher.")
    nonce: B64 = Field(description="base64url 96-bit nonce.")
    ciphertext: B64 = Field(description="base64url ciphertext and tag; AAD = message id.")
    keys: tuple[WrappedKey, ...] = Field(min_length=1, description="The data key, per recipient.")


class MessageReceived(Contract):
    """The record a connector writes to ``partner.<p>.inbound``."""

    metadata: RoutingMetadata = Field(description="Routing metadata, in clear.")
    sealed: Sealed | None = Field(None, description="The sensitive content, encrypted.")
    content: SensitiveContent | None = Field(
        None, description="The sensitive content in clear: only when encryption is off (bench)."
    )

    @model_validator(mode="after")
    def _exactly_one_content(self) -> MessageReceived:
        if (self.sealed is None) == (self.content is None):
            msg = "exactly one of sealed and content must be present"
            raise ValueError(msg)
        return self
