"""The chronology of a message's children and household, as the router builds it.

:func:`gather` collects, with bounded work, the earlier contacts that concern the
message: the primary subject's own history (exact: this task's store), every child's
contacts and the contacts of their household keys from the household view
(:mod:`hub.router.household`), and the contacts of children who appeared together
with them in an earlier message (siblings by co-appearance, at most
:data:`MAX_SIBLINGS`). Each is marked ``same_child`` when it is about one of this
message's children, else ``household``. The policy's history facts are computed from
the ``same_child`` contacts (:func:`hub.router.history.summarise`), and the routed
copy carries the whole list (:func:`chronology_json`), so what the rule used and what
the practitioner sees agree.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple

from hub.router.history import MAX_CONTACTS, YEAR, Contact, epoch_us, new_contact
from hub.router.household import HouseholdView
from schemas.envelope import RoutingMetadata

MAX_SIBLINGS = 10
"""Children met through co-appearance whose contacts are looked up, per message."""
MAX_SHOWN = MAX_CONTACTS
"""Contacts a routed copy carries at most (newest first)."""

_RECEIVED_US = attrgetter("received_us")
_PARTNER = attrgetter("partner")
_KIND = attrgetter("kind")
_SAME_CHILD = attrgetter("same_child")
_COMPACT = json.JSONEncoder(separators=(",", ":"))
"""``json.dumps(..., separators=...)`` makes an encoder per call; this one is made once."""


class Related(NamedTuple):
    """An earlier contact and how it relates to the message (a tuple: one per contact shown)."""

    contact: Contact
    same_child: bool


def gather(
    meta: RoutingMetadata,
    own: Sequence[Contact],
    view: HouseholdView,
    this: Contact | None = None,
) -> list[Related]:
    """The earlier contacts of the message's children and household, newest first.

    ``this`` is the message's own contact when the caller built it already.
    """
    this = this if this is not None else new_contact(meta, ())
    people = set(this.people)
    found: dict[str, Contact] = {c.message_id: c for c in own}
    own_ids = set(found)
    for person in this.people:
        for c in view.of_person(person):
            found.setdefault(c.message_id, c)
    siblings = {p for c in found.values() for p in c.people if p not in people}
    for household in this.households:
        for c in view.of_household(household):
            found.setdefault(c.message_id, c)
    for sibling in sorted(siblings)[:MAX_SIBLINGS]:
        for c in view.of_person(sibling):
            found.setdefault(c.message_id, c)
    found.pop(this.message_id, None)
    shown = sorted(found.values(), key=_RECEIVED_US, reverse=True)[:MAX_SHOWN]
    return [Related(c, c.message_id in own_ids or not people.isdisjoint(c.people)) for c in shown]


def chronology_json(related: Sequence[Related], meta: RoutingMetadata) -> bytes:
    """The :class:`~schemas.chronology.Chronology` JSON of ``related`` (tests validate it)."""
    since = epoch_us(meta.received_at - YEAR)
    recent = [r for r in related if r.contact.received_us >= since]
    recent_contacts = [r.contact for r in recent]
    same = sum(map(_SAME_CHILD, recent))
    totals = {
        "contacts_12m": len(recent),
        "same_child_12m": same,
        "household_12m": len(recent) - same,
        "by_partner": Counter(map(_PARTNER, recent_contacts)),
        "by_kind": Counter(map(_KIND, recent_contacts)),
    }
    contacts = ",".join([r.contact.chronology_entries[r.same_child] for r in related])
    totals_json = _COMPACT.encode(totals)
    return f'{{"contacts":[{contacts}],"totals":{totals_json}}}'.encode()
