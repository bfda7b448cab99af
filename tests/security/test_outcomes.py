"""Team outcomes: only an area's own key moves that area's children (issue 11, item 3).

Today's attack: any team's principal may write ``team.outcomes`` and the router trusted
``outcome.area``, so a forged ``open_case`` "from the MASH" diverted the child's next
MASH message to ``allocated-team``. Now the router applies an outcome only when its MAC
is made with a key of the outcome's own area (``outcome-mac-<area>``), and only once.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.router.handler import InRecord
from schemas.common import Area, RiskLevel
from schemas.envelope import Envelope
from schemas.outcome import Outcome
from tests.factories import envelope, risk, subject
from tests.security.kit import Router, dead_letter_class, hub_with_keys, outcome_from


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return hub_with_keys(tmp_path / "keys")


def mash_message() -> Envelope:
    return envelope(subjects=[subject(label="the-child")], risk=risk(RiskLevel.HIGH))


def open_case(hub: Hub, router: Router, signer: Area, **kw: object) -> InRecord:
    """An open_case "from the MASH" for the child, MACed with ``signer``'s outcome key."""
    return outcome_from(
        hub,
        signer_area=signer,
        area=Area.MASH,
        subject_key=mash_message().subject_key,
        outcome=Outcome.OPEN_CASE,
        partition=router.task.partition,
        **kw,  # type: ignore[arg-type]
    )


def next_goes_to(router: Router) -> set[str]:
    return router.destinations(router.send(mash_message(), offset=99))


class TestForgedOutcomes:
    def test_a_housing_key_forging_a_mash_open_case_does_not_divert_the_child(
        self, hub: Hub
    ) -> None:
        """The issue's attack: the housing team's key signs an open_case claiming the MASH."""
        router = Router.for_envelope(hub, mash_message())
        assert "mash" in router.destinations(router.send(mash_message()))
        out = router.route(open_case(hub, router, Area.HOUSING))
        assert dead_letter_class(out) == "SignatureError"
        assert next_goes_to(router) == {"mash"}

    def test_an_outcome_without_a_mac_is_dead_lettered(self, hub: Hub) -> None:
        """A principal that may write team.outcomes but holds no key changes nothing."""
        router = Router.for_envelope(hub, mash_message())
        forged = dataclasses.replace(open_case(hub, router, Area.MASH), headers=())
        assert dead_letter_class(router.route(forged)) == "SignatureError"
        assert "allocated-team" not in next_goes_to(router)

    def test_a_genuine_outcome_moved_to_another_partition_is_refused(self, hub: Hub) -> None:
        """The MASH's own outcome, copied to another partition, does not verify there."""
        router = Router.for_envelope(hub, mash_message())
        moved = open_case(hub, router, Area.MASH)
        moved = dataclasses.replace(moved, partition=(moved.partition + 1) % 6)
        assert dead_letter_class(router.route(moved)) == "SignatureError"
        assert "allocated-team" not in next_goes_to(router)

    def test_the_areas_own_outcome_is_applied(self, hub: Hub) -> None:
        """The control: the MASH's key opening a MASH case redirects the next message."""
        router = Router.for_envelope(hub, mash_message())
        out = router.route(open_case(hub, router, Area.MASH))
        assert sorted(o.topic for o in out) == ["hub.routed-ids", "hub.subject-history"]
        assert next_goes_to(router) == {"allocated-team"}


class TestReplayedOutcomes:
    def test_a_replayed_open_case_cannot_reopen_a_closed_case(self, hub: Hub) -> None:
        """The MASH opened, then closed the case; its old open_case, re-sent, changes nothing."""
        router = Router.for_envelope(hub, mash_message())
        opened = open_case(hub, router, Area.MASH)
        router.route(opened)
        closed = outcome_from(
            hub,
            signer_area=Area.MASH,
            area=Area.MASH,
            subject_key=mash_message().subject_key,
            outcome=Outcome.CASE_CLOSED,
            partition=router.task.partition,
        )
        router.route(closed)
        assert next_goes_to(router) == {"mash"}
        assert dead_letter_class(router.route(opened)) == "DuplicateMessageError"
        assert next_goes_to(router) == {"mash"}

    def test_an_outcome_id_is_applied_once_even_when_it_changed_nothing(self, hub: Hub) -> None:
        """An open_case sent while the case was already open is remembered too."""
        router = Router.for_envelope(hub, mash_message())
        router.route(open_case(hub, router, Area.MASH))
        again = open_case(hub, router, Area.MASH, outcome_id=uuid.uuid4())
        assert [o.topic for o in router.route(again)] == ["hub.routed-ids"]
        assert dead_letter_class(router.route(again)) == "DuplicateMessageError"
