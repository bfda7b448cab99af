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
from collections.abc import Sequence
from typing import NamedTuple

from hub.router.history import MAX_CONTACTS, YEAR, Contact, new_contact
from hub.router.household import HouseholdView
from schemas.envelope import RoutingMetadata

MAX_SIBLINGS = 10
"""Children met through co-appearance whose contacts are looked up, per message."""
MAX_SHOWN = MAX_CONTACTS
"""Contacts a routed copy carries at most (newest first)."""


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
    related = [
        Related(c, c.message_id in own_ids or not people.isdisjoint(c.people))
        for c in found.values()
    ]
    related.sort(key=lambda r: r.contact.received, reverse=True)
    return related[:MAX_SHOWN]


def chronology_json(related: Sequence[Related], meta: RoutingMetadata) -> bytes:
    """The :class:`~schemas.chronology.Chronology` JSON of ``related`` (tests validate it)."""
    since = meta.received_at - YEAR
    by_partner: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    same = household = 0
    for r in related:
        c = r.contact
        if c.received < since:
            continue
        by_partner[c.partner] = by_partner.get(c.partner, 0) + 1
        by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
        same += r.same_child
        household += not r.same_child
    totals = {
        "contacts_12m": same + household,
        "same_child_12m": same,
        "household_12m": household,
        "by_partner": by_partner,
        "by_kind": by_kind,
    }
    contacts = ",".join(_contact(r) for r in related)
    totals_json = json.dumps(totals, separators=(",", ":"))
    return f'{{"contacts":[{contacts}],"totals":{totals_json}}}'.encode()


def _contact(r: Related) -> str:
    """One entry of the chronology as compact JSON (the contact's part made once)."""
    c = r.contact
    relation = "same_child" if r.same_child else "household"
    return f'{{"message_id":{c.chronology_id},"relation":"{relation}",{c.chronology_fields}}}'
