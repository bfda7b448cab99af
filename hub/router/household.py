"""The household view: every router's copy of every recent contact, by person and household.

A child's siblings have other subject keys, so their history lives in other router
tasks (other partitions) than the child's. The router therefore keeps, beside the
per-partition subject history, one *global* table, like a Kafka Streams
GlobalKTable: the compacted topic ``hub.household-history`` holds one record per
contact, keyed by message id, and every router process reads all of its partitions
into a :class:`HouseholdView` before it routes and keeps tailing it. A record is
written by the task that routes the message (and rewritten by the same task when an
outcome arrives), inside the routing transaction, so read-committed readers see it
exactly when the routing is committed. Keying by message id means two tasks never
write the same key: no update can overwrite another's.

The view indexes each contact by its people (subject keys) and its household keys
(keyed hashes of normalised addresses). Bounds: at most :data:`MAX_PER_PERSON`
contacts per person and :data:`MAX_PER_HOUSEHOLD` per household key (newest kept);
contacts older than twelve months are pruned; the topic is ``compact,delete`` with a
retention a little over a year, so a restart reads back only what can still be shown.

The view is eventually consistent across processes (a contact routed by another
process appears once its transaction is committed and read, typically well under a
second later); a process sees its own commits at once (:meth:`HouseholdView.put`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from hub.router.history import MAX_CONTACTS, YEAR, Contact

MAX_PER_PERSON = MAX_CONTACTS
"""Contacts kept per person: the same bound as the subject history."""
MAX_PER_HOUSEHOLD = 500
"""Contacts kept per household key (a household is several people)."""


def contact_value(contact: Contact) -> bytes:
    """The ``hub.household-history`` value of a contact (its compact JSON, made once)."""
    return contact.json_text.encode()


def contact_key(contact: Contact) -> bytes:
    """The ``hub.household-history`` key of a contact: its message id."""
    return contact.message_id.encode()


class HouseholdView:
    """Recent contacts of every child and household, indexed for bounded lookups."""

    def __init__(self) -> None:
        self._contacts: dict[str, Contact] = {}
        self._by_person: dict[str, list[str]] = {}
        self._by_household: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._contacts)

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one record of ``hub.household-history`` (a tombstone forgets it)."""
        message_id = key.decode()
        if value is None:
            self._forget(message_id)
            return
        self.put(Contact.from_json(json.loads(value)))

    def put(self, contact: Contact) -> None:
        """Add or replace a contact (the same message id replaces: outcomes added)."""
        known = self._contacts.get(contact.message_id)
        self._contacts[contact.message_id] = contact
        if known is not None and (known.people, known.households) == (
            contact.people,
            contact.households,
        ):
            return
        for person in contact.people:
            self._index(self._by_person, person, contact.message_id, MAX_PER_PERSON)
        for household in contact.households:
            self._index(self._by_household, household, contact.message_id, MAX_PER_HOUSEHOLD)

    def get(self, message_id: str) -> Contact | None:
        """One contact by message id."""
        return self._contacts.get(message_id)

    def of_person(self, person: str) -> list[Contact]:
        """The contacts about ``person`` (bounded)."""
        return self._resolve(self._by_person.get(person, ()))

    def of_household(self, household: str) -> list[Contact]:
        """The contacts about the household ``household`` (bounded)."""
        return self._resolve(self._by_household.get(household, ()))

    def prune(self, now: datetime) -> int:
        """Forget contacts received more than twelve months before ``now``; return how many."""
        old = [m for m, c in self._contacts.items() if now - c.received > YEAR]
        for message_id in old:
            self._forget(message_id)
        return len(old)

    def _resolve(self, ids: Iterable[str]) -> list[Contact]:
        contacts = self._contacts
        return [contacts[i] for i in ids if i in contacts]

    def _index(self, index: dict[str, list[str]], key: str, message_id: str, bound: int) -> None:
        ids = index.setdefault(key, [])
        if message_id in ids:
            return
        ids.append(message_id)
        if len(ids) > bound:
            ids.sort(key=self._received_of)
            for dropped in ids[: len(ids) - bound]:
                self._unreferenced(dropped, index, key)
            del ids[: len(ids) - bound]

    def _received_of(self, message_id: str) -> datetime:
        contact = self._contacts.get(message_id)
        return contact.received if contact is not None else datetime.min.replace(tzinfo=UTC)

    def _unreferenced(self, message_id: str, index: dict[str, list[str]], key: str) -> None:
        """Drop a contact bounded out of ``key`` if no other index entry still holds it."""
        contact = self._contacts.get(message_id)
        if contact is None:
            return
        others = [
            *(p for p in contact.people if not (index is self._by_person and p == key)),
            *(h for h in contact.households if not (index is self._by_household and h == key)),
        ]
        if not others:
            del self._contacts[message_id]

    def _forget(self, message_id: str) -> None:
        contact = self._contacts.pop(message_id, None)
        if contact is None:
            return
        for index, keys in (
            (self._by_person, contact.people),
            (self._by_household, contact.households),
        ):
            for key in keys:
                ids = index.get(key)
                if ids is None:
                    continue
                if message_id in ids:
                    ids.remove(message_id)
                if not ids:
                    del index[key]
