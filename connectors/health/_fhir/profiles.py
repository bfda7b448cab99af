"""The UK Core and NHS England profiles a document claims, as reported back to the sender.

The hub reads every message by its own rules (``docs/formats/health.md``) and does not
validate against the profiles; it recognises them, so the sender sees in the acceptance
answer which of its profiles the hub knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fhir.resources.R4B.resource import Resource

from connectors.health._fhir.message import Message
from connectors.health.format import RECOGNISED_PROFILES

MAX_PROFILES = 20
_URL = re.compile(r"https://[!-~]{1,190}")


def recognised_profiles(message: Message) -> tuple[str, ...]:
    """Each recognised profile once, in document order (the Bundle's first)."""
    found: dict[str, None] = {}
    for profile in _claimed(message):
        if profile.startswith(RECOGNISED_PROFILES) and _URL.fullmatch(profile):
            found.setdefault(profile, None)
    return tuple(found)[:MAX_PROFILES]


def _claimed(message: Message) -> Iterator[str]:
    roots: list[Resource] = [message.bundle] if message.bundle is not None else []
    roots += [entry.resource for entry in message.entries]
    for resource in roots:
        yield from _profiles(resource)
        for inner in getattr(resource, "contained", None) or []:
            yield from _profiles(inner)


def _profiles(resource: Resource) -> Iterator[str]:
    meta = resource.meta
    yield from (str(p) for p in (meta.profile or [] if meta is not None else []))
