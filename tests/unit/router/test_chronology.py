"""The chronology: every child gets the contact, siblings show as household, bounded."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

from hub.router.chronology import Related, chronology_json, gather
from hub.router.history import YEAR, HistoryStore, new_contact, summarise
from hub.router.household import MAX_PER_HOUSEHOLD, HouseholdView, contact_key, contact_value
from schemas.chronology import Chronology
from schemas.common import Area, Partner
from schemas.envelope import RoutingMetadata, split_envelope
from schemas.outcome import Outcome
from tests.factories import NOW, envelope, key, outcome_recorded, subject

HOME = key("household-1")


def meta_of(*children: str, hours_ago: float = 0, home: str | None = HOME) -> RoutingMetadata:
    subjects = [subject(label=c, household_key=home) for c in children]
    env = envelope(
        subjects=subjects,
        received_at=NOW - timedelta(hours=hours_ago),
        occurred_at=NOW - timedelta(hours=hours_ago + 1),
        reported_at=NOW - timedelta(hours=hours_ago + 0.5),
    )
    meta, _ = split_envelope(env)
    return meta


class Router:
    """Two tasks' stores and one process's household view, as the service keeps them."""

    def __init__(self) -> None:
        self.view = HouseholdView()
        self.stores: dict[str, HistoryStore] = {}

    def route(self, meta: RoutingMetadata, areas: tuple[Area, ...] = (Area.MASH,)) -> Chronology:
        store = self.stores.setdefault(meta.subject_key, HistoryStore())
        state = store.state(meta.subject_key)
        related = gather(meta, state.contacts, self.view)
        chronology = Chronology.model_validate_json(chronology_json(related, meta))
        contact = new_contact(meta, areas)
        store.record_contact(meta, contact)
        self.view.restore(contact_key(contact), contact_value(contact))
        return chronology


class TestChronology:
    def test_the_done_when_scenario(self) -> None:
        """Three messages about a child and one about a sibling at the same address."""
        hub = Router()
        first = meta_of("child-a", hours_ago=72)
        hub.route(first)
        hub.route(meta_of("child-b", hours_ago=48))
        second = meta_of("child-a", hours_ago=24)
        hub.route(second)
        chronology = hub.route(meta_of("child-a"))
        relations = [(str(c.message_id), c.relation) for c in chronology.contacts]
        assert len(relations) == 3
        assert relations[0] == (str(second.message_id), "same_child")
        assert relations[1][1] == "household"
        assert relations[2] == (str(first.message_id), "same_child")
        assert chronology.totals.same_child_12m == 2
        assert chronology.totals.household_12m == 1
        assert chronology.totals.by_partner == {Partner.POLICE: 3}

    def test_every_child_of_a_message_gets_the_contact(self) -> None:
        """A message about two children is in the second child's chronology as same_child."""
        hub = Router()
        both = meta_of("child-a", "child-b", hours_ago=10, home=None)
        hub.route(both)
        later = meta_of("child-b", home=None)
        chronology = hub.route(later)
        assert [(c.message_id, c.relation) for c in chronology.contacts] == [
            (both.message_id, "same_child")
        ]

    def test_children_who_appeared_together_are_a_household(self) -> None:
        """A sibling met in an earlier message brings their own later contact, as household."""
        hub = Router()
        hub.route(meta_of("child-a", "child-b", hours_ago=30, home=None))
        sibling_only = meta_of("child-b", hours_ago=20, home=None)
        hub.route(sibling_only)
        chronology = hub.route(meta_of("child-a", home=None))
        by_id = {c.message_id: c.relation for c in chronology.contacts}
        assert by_id[sibling_only.message_id] == "household"

    def test_another_address_is_not_the_household(self) -> None:
        """A child at another address, never seen together, is not in the chronology."""
        hub = Router()
        hub.route(meta_of("child-x", hours_ago=5, home=key("another-home")))
        assert hub.route(meta_of("child-a")).contacts == ()

    def test_the_policy_facts_count_the_same_child_contacts(self) -> None:
        """The summary counts the chronology's same_child contacts, not the household's."""
        hub = Router()
        hub.route(meta_of("child-a", hours_ago=72))
        hub.route(meta_of("child-b", hours_ago=48))
        meta = meta_of("child-a")
        store = hub.stores[meta.subject_key]
        state = store.state(meta.subject_key)
        related = gather(meta, state.contacts, hub.view)
        summary = summarise(meta, state, [r.contact for r in related if r.same_child])
        assert summary.contacts_12m == 2
        assert len(related) == 2


def plain_chronology(related: list[Related], meta: RoutingMetadata) -> bytes:
    """The chronology as ``json.dumps`` of the whole writes it (the reference)."""
    since = meta.received_at - YEAR
    counted = [r for r in related if r.contact.received >= since]
    same = sum(r.same_child for r in counted)
    data = {
        "contacts": [
            {
                "message_id": r.contact.message_id,
                "relation": "same_child" if r.same_child else "household",
                "received_at": r.contact.received.isoformat(),
                "partner": r.contact.partner,
                "kind": r.contact.kind,
                "risk_level": r.contact.level,
                "destinations": list(r.contact.destinations),
                "outcomes": list(r.contact.outcomes),
            }
            for r in related
        ],
        "totals": {
            "contacts_12m": len(counted),
            "same_child_12m": same,
            "household_12m": len(counted) - same,
            "by_partner": dict(Counter(r.contact.partner for r in counted)),
            "by_kind": dict(Counter(r.contact.kind for r in counted)),
        },
    }
    return json.dumps(data, separators=(",", ":")).encode()


class TestChronologyBytes:
    def test_the_joined_json_is_what_json_dumps_writes(self) -> None:
        """Contacts' fields are made once and joined; the bytes are unchanged."""
        hub = Router()
        old = meta_of("child-a", hours_ago=24 * 400)
        hub.route(old)
        hub.route(meta_of("child-b", hours_ago=48))
        outcome = outcome_recorded(
            old.message_id,
            old.subject_key,
            Outcome.S17_ASSESSMENT,
            'Besoin d\u2019évaluation "urgent".',
            decided_by="sw-1",
        )
        store = hub.stores[old.subject_key]
        _value, contact = store.apply_outcome(outcome)
        assert contact is not None
        hub.view.restore(contact_key(contact), contact_value(contact))
        meta = meta_of("child-a")
        related = gather(meta, store.state(meta.subject_key).contacts, hub.view)
        assert {r.same_child for r in related} == {True, False}
        written = chronology_json(related, meta)
        assert written == plain_chronology(related, meta)
        assert Chronology.model_validate_json(written).totals.contacts_12m == 1


class TestOutcomes:
    def test_an_outcome_and_its_authorisation_reach_the_contact(self) -> None:
        """The team's outcome, then the manager's authorisation, are on the contact."""
        store = HistoryStore()
        meta = meta_of("child-a", hours_ago=5)
        store.record(meta, (Area.MASH,))
        decided = outcome_recorded(
            meta.message_id,
            meta.subject_key,
            Outcome.S17_ASSESSMENT,
            "Needs assessment.",
            decided_by="sw-1",
        )
        value, contact = store.apply_outcome(decided)
        assert value is not None
        assert contact is not None
        assert contact.outcomes[0]["rationale"] == "Needs assessment."
        authorised = decided.model_copy(
            update={
                "outcome_id": uuid.uuid4(),
                "authorises": decided.outcome_id,
                "authorisation": "authorise",
                "rationale": "Agreed: threshold met.",
                "decided_by": "mgr-1",
            }
        )
        _value, contact = store.apply_outcome(authorised)
        assert contact is not None
        assert contact.outcomes[0]["authorisation"]["rationale"] == "Agreed: threshold met."
        again, _ = store.apply_outcome(decided)
        assert again is None

    def test_an_outcome_for_an_unknown_message_changes_nothing(self) -> None:
        """No contact: no changelog, no household record."""
        store = HistoryStore()
        meta = meta_of("child-a")
        outcome = outcome_recorded(
            uuid.uuid4(),
            meta.subject_key,
            Outcome.NO_FURTHER_ACTION,
            "Nothing to do.",
            decided_by="sw-1",
        )
        assert store.apply_outcome(outcome) == (None, None)


class TestHouseholdView:
    def test_a_household_keeps_its_newest_contacts(self) -> None:
        """Past the bound, the oldest contacts of a household are dropped."""
        view = HouseholdView()
        for i in range(MAX_PER_HOUSEHOLD + 5):
            meta = meta_of(f"child-{i}", hours_ago=1000 - i)
            view.put(new_contact(meta, (Area.MASH,)))
        kept = view.of_household(HOME)
        assert len(kept) == MAX_PER_HOUSEHOLD
        assert min(c.received for c in kept) == NOW - timedelta(hours=1000 - 5)
        # Still the child's own contact: only the household's index let it go.
        assert len(view.of_person(key("child-0"))) == 1

    def test_a_tombstone_forgets_and_old_contacts_are_pruned(self) -> None:
        """Deletes and the twelve-month prune leave nothing behind in the indexes."""
        view = HouseholdView()
        old = new_contact(meta_of("child-a", hours_ago=24 * 400), (Area.MASH,))
        new = new_contact(meta_of("child-a"), (Area.MASH,))
        view.put(old)
        view.put(new)
        assert view.prune(NOW) == 1
        assert [c.message_id for c in view.of_person(key("child-a"))] == [new.message_id]
        view.restore(contact_key(new), None)
        assert view.of_person(key("child-a")) == []
        assert json.loads(contact_value(old))["message_id"] == old.message_id
