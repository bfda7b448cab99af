"""The base of the HTTP APIs' answer bodies (``docs/openapi*.json``).

The hub writes these bodies and never reads them back, so, unlike a
:class:`~schemas.common.Contract`, they do not refuse unknown fields: their
published schemas leave ``additionalProperties`` open.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """Base of an HTTP answer body: frozen once built."""

    model_config = ConfigDict(frozen=True)
