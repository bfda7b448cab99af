"""NHS England's national flags and messages: which carry safeguarding content, and what.

=====================================================  ================================
Flag                                                   read as
=====================================================  ================================
CP-IS: ``child-protection-information-system-flag``,   safeguarding, flag of harm,
``PatientFlagCategory#CP-IS`` or SNOMED CT 224353004   ``child_protection``; a plan
(``http`` or ``https`` SNOMED URI)
FGM-IS: ``female-genital-mutilation-flag``             safeguarding, flag of harm
BaRS category ``SG``                                   safeguarding, flag of harm; its
                                                       code may say whose concern it is
BaRS ``SG`` coded "No safeguarding issues identified"  ignored
any other BaRS category (RA, RS, SS, ...)              ignored
National reasonable adjustment flag                    ignored
anything else                                          as the hub's own format says
=====================================================  ================================

A BaRS message (MessageHeader event of the BaRS system, or a BaRS Bundle profile) is a
clinical referral: its ServiceRequest is the referral itself, and only its safeguarding
Flags are safeguarding content.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.flag import Flag

from connectors.health._fhir.message import Message
from connectors.health.format import (
    BARS_CONCERNS,
    BARS_EVENT_SYSTEM,
    BARS_FLAG_CATEGORY,
    BARS_NO_ISSUES,
    BARS_PROFILE_PREFIX,
    BARS_SAFEGUARDING,
    BARS_SAFEGUARDING_CODES,
    CPIS_FLAG_CODES,
    NATIONAL_FLAGS_IGNORED,
    NATIONAL_SAFEGUARDING_FLAGS,
)
from schemas.common import Concern


class FlagRole(Enum):
    """What a Flag is to the hub."""

    CPIS = "cpis"
    """A CP-IS flag: a child protection or care plan."""
    SAFEGUARDING = "safeguarding"
    """A national safeguarding flag (BaRS SG, FGM-IS)."""
    IGNORED = "ignored"
    """A national flag without safeguarding content."""
    OWN = "own"
    """Neither: read as the hub's own format says."""


def _codings(concepts: list[CodeableConcept]) -> Iterator[tuple[str, str]]:
    for concept in concepts:
        for coding in concept.coding or []:
            yield (coding.system or "", coding.code or "")


def flag_role(flag: Flag) -> FlagRole:
    """Whether a Flag is CP-IS, national safeguarding, ignored, or the hub's own."""
    codes = set(_codings([*(flag.category or []), *([flag.code] if flag.code else [])]))
    if codes & CPIS_FLAG_CODES:
        return FlagRole.CPIS
    bars = {code for system, code in codes if system == BARS_FLAG_CATEGORY}
    if bars and BARS_SAFEGUARDING not in bars:
        return FlagRole.IGNORED
    if bars:
        no_issues = (BARS_SAFEGUARDING_CODES, BARS_NO_ISSUES) in codes
        return FlagRole.IGNORED if no_issues else FlagRole.SAFEGUARDING
    if codes & NATIONAL_FLAGS_IGNORED:
        return FlagRole.IGNORED
    if codes & NATIONAL_SAFEGUARDING_FLAGS:
        return FlagRole.SAFEGUARDING
    return FlagRole.OWN


def national_concerns(flag: Flag, role: FlagRole) -> list[Concern]:
    """The concern codes a national flag gives: CP-IS is child protection; BaRS by its code."""
    if role is FlagRole.CPIS:
        return [Concern.CHILD_PROTECTION]
    if role is not FlagRole.SAFEGUARDING or flag.code is None:
        return []
    return [
        concern
        for system, code in _codings([flag.code])
        if system == BARS_SAFEGUARDING_CODES
        for concern in BARS_CONCERNS.get(code, ())
    ]


def is_bars(message: Message) -> bool:
    """The message is a BaRS message: by its MessageHeader event or its Bundle's profile."""
    header = message.header
    event = header.eventCoding if header is not None else None
    if event is not None and event.system == BARS_EVENT_SYSTEM:
        return True
    meta = message.bundle.meta if message.bundle is not None else None
    profiles = (meta.profile or []) if meta is not None else []
    return any(str(profile).startswith(BARS_PROFILE_PREFIX) for profile in profiles)
