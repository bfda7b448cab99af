"""The field types and base model the partners' native formats are built from.

Each partner's ``format.py`` declares its own models; what their fields mean alike
(a person's name, an NHS number as partners write it, a partner's reference, a
plausible instant) is declared once here, so the formats cannot drift apart on it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from connectors.native import plausible_birth_date, plausible_instant
from schemas.common import Concern
from schemas.common import ConsentStatus as EnvelopeConsentStatus

Instant = Annotated[AwareDatetime, AfterValidator(plausible_instant)]
BirthDate = Annotated[date, AfterValidator(plausible_birth_date)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=1, max_length=500)]
Postcode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$", max_length=8)
]
NhsNumber = Annotated[str, Field(pattern=r"^\d{3} ?\d{3} ?\d{4}$")]
SchoolUrn = Annotated[str, Field(pattern=r"^\d{6,7}$")]
Reference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/_.:-]{0,63}$")]
"""A partner's own reference for a message; a resend reuses it."""
OrgCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
Grade = Annotated[str, Field(min_length=1, max_length=40)]
"""A risk grade as the partner wrote it."""
Rationale = Annotated[str, Field(min_length=1, max_length=2000)]
"""Why a professional judged the risk high."""
Concerns = Annotated[tuple[Concern, ...], Field(max_length=30)]


# The consent statuses a partner's native format may state: the envelope's, except
# implied_direct_care, which only a FHIR Consent records (health). Its docstring is the
# description the published JSON Schemas carry.
class ConsentStatus(StrEnum):
    """Whether consent to share was given."""

    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"
    NOT_REQUIRED = "not_required"
    WITHDRAWN = "withdrawn"

    @property
    def envelope(self) -> EnvelopeConsentStatus:
        """The same status in the envelope's terms."""
        return EnvelopeConsentStatus(self.value)


GivenName = Annotated[Name, Field(description="Given name(s).")]
FamilyName = Annotated[Name, Field(description="Family name.")]
KnownNhsNumber = Annotated[
    NhsNumber | None, Field(description="NHS number, ten digits, optionally spaced 3 3 4.")
]
"""An NHS number when the partner knows one (default None)."""


class NativeModel(BaseModel):
    """Base of the formats' models: frozen, strict JSON types, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, str_strip_whitespace=True)


def published(source: str, document: str) -> ConfigDict:
    """The config of a format's top-level model, whose JSON Schema is published.

    The schema names its dialect, and says which module generates it and which
    document describes the format.
    """
    return ConfigDict(
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": f"Generated from {source}; see {document}.",
        }
    )
