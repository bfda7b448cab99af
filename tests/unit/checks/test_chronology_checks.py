"""An agency check's answer appears where its contact appears in a later chronology."""

from __future__ import annotations

from hub.bootstrap import Hub
from schemas.common import Area
from tests.unit.checks.checkkit import Ingest
from tests.unit.checks.test_flow import deliver
from tests.unit.teams.teamkit import TeamApp
from tests.unit.teams.test_chronology_and_managers import (
    MiniRouter,
    bearer,
    concern,
    store_copies,
)


async def test_the_answer_joins_the_earlier_contact_in_the_chronology(
    team: TeamApp, hub: Hub, partners: Ingest
) -> None:
    """Police answers a check about the first contact; the second contact's chronology shows it."""
    router = MiniRouter(hub)
    first, second = concern("child-a", 48), concern("child-a", 0)
    store_copies(team, hub, router.route(first), Area.MASH)
    mash = bearer(team, Area.MASH)
    asked = await team.client.post(
        f"/api/v1/areas/mash/messages/{first.message_id}/checks",
        json={"partners": ["police"], "urgency": "amber", "question": "Known to you?"},
        headers=mash,
    )
    assert asked.status_code == 201, asked.text
    deliver(team, partners)
    police = partners.auth("police")
    (check,) = (await partners.client.get("/v1/police/checks", headers=police)).json()["checks"]
    answer = {
        "result": "information_found",
        "details": "Synthetic: two call-outs.",
        "answered_by": "PC Synthetic",
    }
    answered = await partners.answer("police", check["check_id"], answer)
    assert answered.status_code == 201, answered.text
    deliver(team, partners)
    store_copies(team, hub, router.route(second), Area.MASH)

    view = await team.client.get(f"/api/v1/areas/mash/messages/{second.message_id}", headers=mash)
    assert view.status_code == 200, view.text
    (earlier,) = view.json()["chronology"]
    assert earlier["message_id"] == str(first.message_id)
    (seen,) = earlier["checks"]
    assert (seen["partner"], seen["status"], seen["details"]) == (
        "police",
        "answered",
        "Synthetic: two call-outs.",
    )
    assert (await team.sign_in_as("pr-synthetic", Area.MASH)).status_code == 303
    page = await team.client.get(f"/areas/mash/messages/{second.message_id}")
    assert page.status_code == 200
    assert "Check of police (amber), asked by" in page.text
    assert "Synthetic: two call-outs." in page.text


async def test_a_contact_without_checks_shows_none(team: TeamApp, hub: Hub) -> None:
    router = MiniRouter(hub)
    first, second = concern("child-a", 48), concern("child-a", 0)
    store_copies(team, hub, router.route(first), Area.MASH)
    store_copies(team, hub, router.route(second), Area.MASH)
    view = await team.client.get(
        f"/api/v1/areas/mash/messages/{second.message_id}", headers=bearer(team, Area.MASH)
    )
    (earlier,) = view.json()["chronology"]
    assert earlier["checks"] == []
