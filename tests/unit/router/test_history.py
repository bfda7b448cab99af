"""Subject history: escalation, MARAC repeats, and linking the same incident across agencies."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.protocol import ParseContext
from connectors.registry import connector_for
from hub.policy import decide, load_policy
from hub.router.history import HistoryStore
from schemas.common import Area, Partner, RiskLevel, SubjectRole
from schemas.envelope import Envelope, split_envelope
from tests.factories import NOW, envelope, risk, subject

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "formats" / "examples"
CONTEXT = ParseContext(
    received_at=datetime(2026, 11, 25, 15, tzinfo=UTC), subject_key_secret=b"k" * 32
)
POLICY = load_policy()


def route(store: HistoryStore, env: Envelope) -> tuple[Area, ...]:
    meta, _ = split_envelope(env)
    decision = decide(POLICY, meta, store.summary(meta))
    store.record(meta, decision.destinations)
    return decision.destinations


class TestEscalation:
    @pytest.mark.parametrize(
        ("days_ago", "to_mash"),
        [
            # The first two go to early help; the third in three months also to the MASH.
            ((60, 30, 0), [False, False, True]),
            # Old notifications fall out of the three-month window.
            ((200, 100, 0), [False, False, False]),
        ],
        ids=["three-in-three-months", "spread-over-more"],
    )
    def test_a_third_low_level_notification_in_three_months_goes_to_mash(
        self, days_ago: tuple[int, ...], to_mash: list[bool]
    ) -> None:
        """Of three low-level notifications, only a third within three months reaches MASH."""
        store = HistoryStore()
        child = subject(label="repeat-child")
        areas = [
            route(store, envelope(subjects=[child], occurred_at=NOW - timedelta(days=d)))
            for d in days_ago
        ]
        assert [Area.MASH in a for a in areas] == to_mash


class TestMaracRepeat:
    @pytest.mark.parametrize(("gap_days", "repeat"), [(300, True), (364, True), (400, False)])
    def test_new_incident_within_twelve_months_of_marac(self, gap_days: int, repeat: bool) -> None:
        """A medium-risk incident within 12 months of a MARAC referral is a repeat."""
        store = HistoryStore()
        victim = subject(role=SubjectRole.VICTIM, label="v-marac")
        first = envelope(
            "police.notification.domestic_abuse",
            [victim],
            risk=risk(RiskLevel.HIGH),
            occurred_at=NOW - timedelta(days=gap_days),
        )
        assert Area.MARAC in route(store, first)
        second = envelope(
            "police.notification.domestic_abuse", [victim], risk=risk(RiskLevel.MEDIUM)
        )
        assert (Area.MARAC in route(store, second)) is repeat


def police_family() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes()
    )
    dash = json.loads((EXAMPLES / "domestic-abuse" / "assessment-high-risk.json").read_bytes())
    victim = dash["victim"]
    persons = [
        {
            "role": "victim",
            **{
                k: victim[k]
                for k in ("given_name", "family_name", "date_of_birth", "nhs_number", "postcode")
            },
            "consent_to_share": "yes",
        },
        # The police list the children the other way round from the DA service.
        {
            "role": "child",
            **dash["children"][1],
            "postcode": victim["postcode"],
        },
        {
            "role": "child",
            **dash["children"][0],
            "postcode": victim["postcode"],
        },
    ]
    doc["persons"] = persons
    doc["occurred_at"] = dash["incident_at"]
    doc["reported_at"] = dash["incident_at"]
    return doc


def dash_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (EXAMPLES / "domestic-abuse" / "assessment-high-risk.json").read_bytes()
    )
    doc["children"] = [dict(c, postcode=doc["victim"]["postcode"]) for c in doc["children"]]
    return doc


def parse(partner: Partner, doc: dict[str, Any]) -> Envelope:
    envelopes = connector_for(partner).parse(json.dumps(doc).encode(), "application/json", CONTEXT)
    assert len(envelopes) == 1
    return envelopes[0]


class TestLinking:
    def test_police_and_da_service_reporting_one_incident_are_linked(self) -> None:
        """The DA service's assessment of the incident the police notified links to it."""
        police = parse(Partner.POLICE, police_family())
        dash = parse(Partner.DOMESTIC_ABUSE, dash_doc())
        assert police.subject_key == dash.subject_key  # same child, whatever the order
        store = HistoryStore()
        route(store, police)
        meta, _ = split_envelope(dash)
        assert store.summary(meta).linked_message_id == police.message_id

    def test_siblings_are_not_linked(self) -> None:
        """A report about one child does not link to a report about a sibling."""
        store = HistoryStore()
        first = envelope(subjects=[subject(label="sibling-a")])
        route(store, first)
        second = envelope("health.safeguarding_concern", [subject(label="sibling-b")])
        meta, _ = split_envelope(second)
        assert store.summary(meta).linked_message_id is None

    def test_same_name_different_date_of_birth_is_not_linked(self) -> None:
        """Two children with one name but different dates of birth have different keys."""
        doc = police_family()
        other = copy.deepcopy(dash_doc())
        for child in other["children"]:
            child["date_of_birth"] = "2018-01-01"
            child.pop("nhs_number", None)
        for person in doc["persons"]:
            person.pop("nhs_number", None)
        police = parse(Partner.POLICE, doc)
        dash = parse(Partner.DOMESTIC_ABUSE, other)
        assert police.subject_key != dash.subject_key

    def test_same_partner_twice_is_not_a_cross_agency_link(self) -> None:
        """Two police reports are two incidents, not one reported twice."""
        store = HistoryStore()
        child = subject(label="police-twice")
        route(store, envelope(subjects=[child]))
        meta, _ = split_envelope(envelope(subjects=[child]))
        assert store.summary(meta).linked_message_id is None

    def test_outside_the_window_is_not_linked(self) -> None:
        """Reports more than 48 hours apart are separate incidents."""
        store = HistoryStore()
        child = subject(label="late")
        route(
            store,
            envelope(
                "police.notification.child_concern", [child], occurred_at=NOW - timedelta(days=5)
            ),
        )
        meta, _ = split_envelope(envelope("health.safeguarding_concern", [child]))
        assert store.summary(meta).linked_message_id is None
