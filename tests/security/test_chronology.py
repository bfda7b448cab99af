"""The chronology's trust rules: forged outcomes never reach it, other areas cannot read it.

Attacks performed: a team's key writes a rationale into another area's chronology (a
forged outcome, a forged manager's authorisation); another area's key opens a copy's
chronology; a copy carries its chronology in clear while encryption is on; an Operation
Encompass notice leaks history.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.bootstrap.teams import area_keys, copy_check
from hub.errors import DecryptionError, UnsealedContentError
from hub.router.handler import InRecord, OutRecord
from hub.security import sealing
from hub.security.mac import Link
from hub.teams.content import open_routed
from hub.teams.intake import RoutedRecord, accept_routed
from hub.teams.store import QueueStore
from hub.topology import OUTCOMES
from schemas.common import Area, RiskLevel, SubjectRole
from schemas.envelope import Envelope
from schemas.outcome import Outcome, OutcomeRecorded
from schemas.routed import MessageRouted
from tests.factories import NOW, envelope, risk, subject
from tests.security.kit import Router, area_writer, dead_letter_class, hub_with_keys


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return hub_with_keys(tmp_path / "keys")


def about_the_child(**kw: Any) -> Envelope:
    return envelope(subjects=[subject(label="the-child", **kw)], risk=risk(RiskLevel.HIGH))


def outcome(hub: Hub, router: Router, message: Envelope, signer: Area, **fields: Any) -> InRecord:
    values: dict[str, Any] = {
        "outcome_id": uuid.uuid4(),
        "message_id": message.message_id,
        "area": Area.MASH,
        "subject_key": message.subject_key,
        "outcome": Outcome.NO_FURTHER_ACTION,
        "rationale": "Genuine MASH rationale.",
        "decided_by": "sw-0001",
        "decided_at": NOW,
    }
    record = OutcomeRecorded(**(values | fields))
    partition = router.task.partition
    key, value = message.subject_key.encode(), record.model_dump_json().encode()
    headers = area_writer(hub, Link.OUTCOME, signer).headers(OUTCOMES, partition, key, value)
    return InRecord(OUTCOMES, partition, 0, key, value, headers)


def copy_of(out: list[OutRecord], area: Area) -> MessageRouted:
    return MessageRouted.model_validate_json(
        next(o.value for o in out if o.topic == f"route.{area.value}")
    )


def chronology_text(hub: Hub, out: list[OutRecord]) -> str:
    routed = copy_of(out, Area.MASH)
    opened = open_routed(routed, area_keys(hub, (Area.MASH,))[Area.MASH])
    assert opened.chronology is not None
    return opened.chronology.model_dump_json()


class TestForgedOutcomes:
    def test_another_areas_key_cannot_write_a_rationale_into_the_chronology(self, hub: Hub) -> None:
        """Housing's key forging a MASH outcome and authorisation: dead letters, not history."""
        first = about_the_child()
        router = Router.for_envelope(hub, first)
        router.send(first)
        forged = outcome(hub, router, first, Area.HOUSING, rationale="FORGED rationale.")
        assert dead_letter_class(router.route(forged)) == "SignatureError"
        genuine = outcome(hub, router, first, Area.MASH)
        router.route(genuine)
        genuine_id = OutcomeRecorded.model_validate_json(genuine.value or b"").outcome_id
        forged_auth = outcome(
            hub,
            router,
            first,
            Area.HOUSING,
            rationale="FORGED authorisation.",
            authorises=genuine_id,
            authorisation="authorise",
        )
        assert dead_letter_class(router.route(forged_auth)) == "SignatureError"
        text = chronology_text(hub, router.send(about_the_child(), offset=5))
        assert "Genuine MASH rationale." in text
        assert "FORGED" not in text


class TestReading:
    def test_another_areas_key_does_not_open_the_chronology(self, hub: Hub) -> None:
        """The chronology is sealed for the copy's area only, like the content."""
        first = about_the_child()
        router = Router.for_envelope(hub, first)
        router.send(first)
        routed = copy_of(router.send(about_the_child(), offset=1), Area.MASH)
        assert routed.chronology_sealed is not None
        assert routed.chronology is None
        early_help = area_keys(hub, (Area.EARLY_HELP,))[Area.EARLY_HELP]
        with pytest.raises(DecryptionError):
            sealing.decrypt_for(
                routed.chronology_sealed,
                routed.message_id,
                sealing.area_recipient(Area.EARLY_HELP.value),
                early_help,
            )
        with pytest.raises(DecryptionError):
            open_routed(routed.model_copy(update={"area": Area.EARLY_HELP}), early_help)

    def test_a_clear_chronology_is_refused_while_encryption_is_on(
        self, hub: Hub, tmp_path: Path
    ) -> None:
        """A copy with its chronology in clear is never queued, even with a valid MAC."""
        first = about_the_child()
        router = Router.for_envelope(hub, first)
        router.send(first)
        out = router.send(about_the_child(), offset=1)
        record = next(o for o in out if o.topic == "route.mash")
        data = json.loads(record.value)
        data["chronology"] = {
            "contacts": [],
            "totals": {
                "contacts_12m": 0,
                "same_child_12m": 0,
                "household_12m": 0,
                "by_partner": {},
                "by_kind": {},
            },
        }
        value = json.dumps(data).encode()
        assert record.partition is not None
        headers = area_writer(hub, Link.ROUTED, Area.MASH).headers(
            "route.mash", record.partition, record.key, value
        )
        store = QueueStore(tmp_path / "q.sqlite")
        with pytest.raises(UnsealedContentError):
            accept_routed(
                store,
                Area.MASH,
                RoutedRecord(record.partition, 0, value, record.key, tuple(headers)),
                NOW,
                copy_check(hub, (Area.MASH,)),
            )
        assert store.page("mash")[1] == 0

    def test_an_encompass_notice_carries_no_history(self, hub: Hub) -> None:
        """A child with earlier contacts: the school's notice has no chronology at all."""

        def incident() -> Envelope:
            child = subject(label="school-child", present=True, school_urn="100001")
            return envelope(
                "police.notification.domestic_abuse",
                [subject(SubjectRole.VICTIM, "victim"), child],
            )

        first = incident()
        router = Router.for_envelope(hub, first)
        router.send(first)
        out = router.send(incident(), offset=1)
        notices = [o for o in out if o.topic == "route.encompass"]
        assert notices
        for notice in notices:
            routed = MessageRouted.model_validate_json(notice.value)
            assert routed.chronology_sealed is None
            assert routed.chronology is None
        assert copy_of(out, Area.DA_TRIAGE).chronology_sealed is not None
