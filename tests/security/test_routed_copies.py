"""Routed copies: a team queues only what the router made for it (issue 11, item 2).

Today's attack: a record written to ``route.mash`` by anything with write access to it
showed a made-up narrative and rationale on the MASH page. Now a team consumer checks
the router's MAC (``route-mac-<area>``) and that content is sealed before a copy is
queued; anything else is set aside (the ``rejected`` table), noted on ``hub.dlq`` as a
trust failure (the monitor's signature-failure alert), and never shown.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.bootstrap import Hub
from hub.bootstrap.teams import area_keys, copy_check
from hub.errors import SignatureError, UnsealedContentError
from hub.monitor.records import read_dead_letter
from hub.monitor.scorecard import Scorecard
from hub.router.handler import OutRecord
from hub.security.mac import Link
from hub.teams.consumer import TeamConsumer
from hub.teams.content import open_routed
from hub.teams.outcomes import refusal_headers
from hub.teams.testing import FakeOutcomePublisher
from schemas.common import Area, RiskLevel
from schemas.envelope import split_envelope
from schemas.routed import MessageRouted
from tests.factories import NOW, envelope, risk
from tests.security.kit import area_writer
from tests.unit.teams.teamkit import TeamApp, make_deps, routed_copies, running_app

MADE_UP = "Made-up narrative: the child was seen at a hospital"


@dataclasses.dataclass
class Delivered:
    """What FastStream hands the consumer: the raw record, and the ack calls."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    calls: list[str] = dataclasses.field(default_factory=list)

    @property
    def raw_message(self) -> Delivered:
        return self

    async def ack(self) -> None:
        self.calls.append("ack")

    async def nack(self) -> None:
        self.calls.append("nack")


@pytest.fixture
async def team(hub: Hub, tmp_path: Path) -> AsyncIterator[TeamApp]:
    deps = make_deps(hub, tmp_path / "teams", (Area.MASH,))
    async with running_app(deps) as app:
        yield app


def genuine(hub: Hub) -> OutRecord:
    """A copy the router made for the MASH (sealed, with its MAC)."""
    return routed_copies(hub, envelope(risk=risk(RiskLevel.HIGH)))["route.mash"][0]


def made_up(copy: OutRecord) -> bytes:
    """The copy rewritten with clear content: a made-up narrative and rationale."""
    routed = json.loads(copy.value)
    env = envelope(risk=risk(RiskLevel.HIGH), narrative=MADE_UP)
    _meta, content = split_envelope(env)
    routed["sealed"] = None
    routed["payload"] = content.model_dump_json()
    routed["decision"]["rationale"] = ["Made-up rationale"]
    return json.dumps(routed).encode()


async def deliver(
    team: TeamApp, hub: Hub, record: Delivered, area: Area = Area.MASH
) -> FakeOutcomePublisher:
    """Feed one record to the area's consumer, as FastStream would; return the DLQ notes."""
    notes = FakeOutcomePublisher()
    consumer = TeamConsumer(
        [(hub.settings.kafka, [area])],
        team.deps.store,
        lambda: NOW,
        check=copy_check(hub, (area,)),
        refusals=notes,
        retry_s=0,
    )
    await consumer.handle(area, record)  # type: ignore[arg-type]
    assert record.calls == ["ack"]
    return notes


async def shown(team: TeamApp, area: Area = Area.MASH) -> int:
    """How many messages the area's queue shows through the API."""
    headers = {"Authorization": f"Bearer {team.deps.accounts.add_client(area)}"}
    listing = await team.client.get(f"/api/v1/areas/{area.value}/queue", headers=headers)
    assert listing.status_code == 200
    total: int = listing.json()["total"]
    return total


def set_aside(team: TeamApp, notes: FakeOutcomePublisher, error_class: str) -> None:
    """Counted locally, noted on hub.dlq for the alert, never queued."""
    assert team.deps.store.rejected_count() == 1
    assert [n[3] for n in notes.set_aside_notes] == [error_class]
    assert team.deps.store.page("mash")[1] == 0


class TestForgedCopies:
    async def test_a_made_up_copy_without_a_mac_is_never_shown(
        self, team: TeamApp, hub: Hub
    ) -> None:
        """The issue's attack: clear made-up content on route.mash, written by a non-router."""
        copy = genuine(hub)
        assert copy.partition is not None
        record = Delivered("route.mash", copy.partition, 7, copy.key, made_up(copy), ())
        notes = await deliver(team, hub, record)
        set_aside(team, notes, "SignatureError")
        assert await shown(team) == 0

    async def test_clear_content_is_refused_even_with_a_valid_mac(
        self, team: TeamApp, hub: Hub
    ) -> None:
        """Whoever holds the MASH route key (a router with encryption off) cannot send clear."""
        copy = genuine(hub)
        assert copy.partition is not None
        assert copy.key is not None
        value = made_up(copy)
        mac = area_writer(hub, Link.ROUTED, Area.MASH)
        headers = mac.headers("route.mash", copy.partition, copy.key, value)
        record = Delivered("route.mash", copy.partition, 8, copy.key, value, headers)
        notes = await deliver(team, hub, record)
        set_aside(team, notes, "UnsealedContentError")
        assert await shown(team) == 0

    async def test_another_areas_route_key_is_refused(self, team: TeamApp, hub: Hub) -> None:
        """A copy for route.mash MACed with the housing route key is not the MASH's."""
        copy = genuine(hub)
        assert copy.partition is not None
        assert copy.key is not None
        mac = area_writer(hub, Link.ROUTED, Area.HOUSING)
        headers = mac.headers("route.mash", copy.partition, copy.key, copy.value)
        record = Delivered("route.mash", copy.partition, 9, copy.key, copy.value, headers)
        notes = await deliver(team, hub, record)
        set_aside(team, notes, "SignatureError")

    @pytest.mark.parametrize("change", ["partition", "value", "key"])
    async def test_a_genuine_copy_moved_or_changed_is_refused(
        self, team: TeamApp, hub: Hub, change: str
    ) -> None:
        """A real MASH copy re-written to another partition, or with a changed byte or key."""
        copy = genuine(hub)
        assert copy.partition is not None
        record = Delivered("route.mash", copy.partition, 3, copy.key, copy.value, copy.headers)
        if change == "partition":
            record.partition = (copy.partition + 1) % 6
        elif change == "value":
            record.value = copy.value.replace(b'"high"', b'"standard"', 1)
        else:
            record.key = b"0" * 64
        notes = await deliver(team, hub, record)
        set_aside(team, notes, "SignatureError")

    async def test_a_genuine_copy_is_queued(self, team: TeamApp, hub: Hub) -> None:
        """The control: the router's own copy, as written, is queued and shown."""
        copy = genuine(hub)
        assert copy.partition is not None
        record = Delivered("route.mash", copy.partition, 1, copy.key, copy.value, copy.headers)
        notes = await deliver(team, hub, record)
        assert notes.set_aside_notes == []
        assert await shown(team) == 1


class TestSetAsideIsAlerted:
    def test_the_note_counts_as_a_signature_failure(self) -> None:
        """The monitor counts a team's note into hub_signature_failures (the paging alert)."""
        card = Scorecard(ZoneInfo("Europe/London"), grace=timedelta(minutes=10))
        for error in (UnsealedContentError("clear"), SignatureError("no MAC")):
            card.add_dead_letter(read_dead_letter(refusal_headers(Area.MASH, 2, 41, error)))
        assert card.view(NOW).signature_failures == 2


class TestNeverShown:
    def test_a_clear_row_is_not_opened_where_the_area_has_keys(self, hub: Hub) -> None:
        """Defence in depth: even a clear copy already in a queue is not decrypted or shown."""
        copy = genuine(hub)
        routed = MessageRouted.model_validate_json(made_up(copy))
        keys = area_keys(hub, (Area.MASH,))[Area.MASH]
        with pytest.raises(UnsealedContentError):
            open_routed(routed, keys)
