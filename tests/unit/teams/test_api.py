"""The case-management API in-process: tokens per area, isolation, problems, outcomes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.teams.validation import RATIONALE_REQUIRED
from schemas.common import Area, RiskLevel, SubjectRole
from schemas.envelope import Envelope
from schemas.outcome import OutcomeRecorded
from tests.factories import envelope, risk, subject
from tests.unit.teams.teamkit import TeamApp, make_deps, queue, running_app

PROBLEM = "application/problem+json"


@pytest.fixture
async def team(hub: Hub, tmp_path: Path) -> AsyncIterator[TeamApp]:
    deps = make_deps(hub, tmp_path / "teams", (Area.MASH, Area.EARLY_HELP))
    async with running_app(deps) as app:
        yield app


@pytest.fixture
def messages(team: TeamApp, hub: Hub) -> dict[Area, Envelope]:
    mash = envelope(risk=risk(RiskLevel.HIGH), narrative="Synthetic narrative for MASH")
    early = envelope("health.safeguarding_concern", [subject(label="eh")])
    queue(team.deps.store, hub, mash, Area.MASH)
    queue(team.deps.store, hub, early, Area.EARLY_HELP)
    return {Area.MASH: mash, Area.EARLY_HELP: early}


def bearer(team: TeamApp, area: Area) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.deps.accounts.add_client(area)}"}


def body(message_id: uuid.UUID, rationale: str = "Synthetic reason") -> dict[str, str]:
    return {"message_id": str(message_id), "outcome": "no_further_action", "rationale": rationale}


class TestAuthentication:
    @pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer hubt_x.y", "Basic abc"])
    async def test_missing_or_unknown_tokens_are_401(
        self, team: TeamApp, header: str | None
    ) -> None:
        """No valid token: 401 problem with a Bearer challenge."""
        headers = {"Authorization": header} if header else {}
        response = await team.client.get("/api/v1/areas/mash/queue", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_another_areas_paths_are_403(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """An early-help token may not list, read or decide MASH messages."""
        auth = bearer(team, Area.EARLY_HELP)
        mash = messages[Area.MASH].message_id
        base = "/api/v1/areas/mash"
        assert (await team.client.get(f"{base}/queue", headers=auth)).status_code == 403
        assert (await team.client.get(f"{base}/messages/{mash}", headers=auth)).status_code == 403
        post = await team.client.post(
            f"{base}/messages/{mash}/outcome", json=body(mash), headers=auth
        )
        assert post.status_code == 403
        assert post.headers["content-type"] == PROBLEM

    async def test_another_areas_message_is_404_under_ones_own(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """The MASH message id under the early-help path is simply not there."""
        auth = bearer(team, Area.EARLY_HELP)
        mash = messages[Area.MASH].message_id
        response = await team.client.get(f"/api/v1/areas/early-help/messages/{mash}", headers=auth)
        assert response.status_code == 404
        listing = await team.client.get("/api/v1/areas/early-help/queue", headers=auth)
        assert str(mash) not in listing.text

    async def test_unserved_and_unknown_areas_are_404(self, hub: Hub, tmp_path: Path) -> None:
        """A token of an area this instance does not serve reads nothing."""
        deps = make_deps(hub, tmp_path / "u", (Area.EARLY_HELP,))
        async with running_app(deps) as team:
            auth = bearer(team, Area.MASH)
            assert (
                await team.client.get("/api/v1/areas/mash/queue", headers=auth)
            ).status_code == 404
            assert (await team.client.get("/api/v1/areas/x/queue", headers=auth)).status_code == 404


class TestReading:
    async def test_queue_lists_undecided_with_clock_and_decision(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """The queue page carries the decision summary and SLA state, no content."""
        response = await team.client.get(
            "/api/v1/areas/mash/queue", headers=bearer(team, Area.MASH)
        )
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == 1
        (item,) = page["items"]
        assert item["message_id"] == str(messages[Area.MASH].message_id)
        assert item["clock"] == "on_time"
        assert item["status"] == "undecided"
        assert item["decision"]["rules"] == ["r1-significant-harm"]
        assert "Testchild" not in response.text
        assert response.headers["cache-control"] == "no-store"

    async def test_paging_parameters_are_checked(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """Limit must be 1..500; the answer echoes limit and offset."""
        del messages
        auth = bearer(team, Area.MASH)
        bad = await team.client.get("/api/v1/areas/mash/queue?limit=0", headers=auth)
        assert bad.status_code == 422
        assert bad.headers["content-type"] == PROBLEM
        ok = await team.client.get("/api/v1/areas/mash/queue?limit=1&offset=1", headers=auth)
        assert ok.json()["items"] == []
        assert ok.json()["offset"] == 1

    async def test_a_message_is_decrypted(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """Reading one message returns the full envelope in clear."""
        mash = messages[Area.MASH]
        response = await team.client.get(
            f"/api/v1/areas/mash/messages/{mash.message_id}", headers=bearer(team, Area.MASH)
        )
        assert response.status_code == 200
        data = response.json()
        assert data["payload_type"] == "envelope"
        assert data["envelope"]["narrative"] == "Synthetic narrative for MASH"
        assert data["envelope"]["subjects"][0]["given_name"] == "Testchild"

    async def test_unknown_message_is_404(self, team: TeamApp) -> None:
        """Unknown ids and malformed ids are both 404."""
        auth = bearer(team, Area.MASH)
        for mid in (str(uuid.uuid4()), "not-a-uuid"):
            response = await team.client.get(f"/api/v1/areas/mash/messages/{mid}", headers=auth)
            assert response.status_code == 404


class TestOutcome:
    async def test_recording_returns_201_with_the_event(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """201 with the OutcomeRecorded that went to team.outcomes; then it is decided."""
        auth = bearer(team, Area.MASH)
        mash = messages[Area.MASH].message_id
        response = await team.client.post(
            f"/api/v1/areas/mash/messages/{mash}/outcome", json=body(mash), headers=auth
        )
        assert response.status_code == 201
        event = OutcomeRecorded.model_validate(response.json())
        assert event.decided_by.startswith("api-client:")
        assert [o for o, _ in team.published.published] == [event]
        listing = await team.client.get("/api/v1/areas/mash/queue", headers=auth)
        assert listing.json()["total"] == 0
        decided = await team.client.get("/api/v1/areas/mash/queue?status=decided", headers=auth)
        assert decided.json()["items"][0]["outcome"]["outcome_id"] == str(event.outcome_id)
        again = await team.client.post(
            f"/api/v1/areas/mash/messages/{mash}/outcome", json=body(mash), headers=auth
        )
        assert again.status_code == 409

    @pytest.mark.parametrize("rationale", ["", "   ", "\n\t"])
    async def test_blank_rationale_is_422_naming_the_field(
        self, team: TeamApp, messages: dict[Area, Envelope], rationale: str
    ) -> None:
        """A blank rationale: 422 problem+json with the field ``rationale``; nothing written."""
        mash = messages[Area.MASH].message_id
        response = await team.client.post(
            f"/api/v1/areas/mash/messages/{mash}/outcome",
            json=body(mash, rationale),
            headers=bearer(team, Area.MASH),
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["errors"] == [{"field": "rationale", "message": RATIONALE_REQUIRED}]
        assert team.published.published == []

    async def test_missing_fields_and_wrong_message_are_422(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """Every missing field is named; a body for another message is refused."""
        mash = messages[Area.MASH].message_id
        url = f"/api/v1/areas/mash/messages/{mash}/outcome"
        auth = bearer(team, Area.MASH)
        empty = await team.client.post(url, json={}, headers=auth)
        assert {e["field"] for e in empty.json()["errors"]} == {
            "message_id",
            "outcome",
            "rationale",
        }
        other = await team.client.post(url, json=body(uuid.uuid4()), headers=auth)
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "message_id"

    async def test_kafka_down_is_503_and_nothing_recorded(
        self, team: TeamApp, messages: dict[Area, Envelope]
    ) -> None:
        """503 with Retry-After; the message stays undecided."""
        team.published.fail = True
        mash = messages[Area.MASH].message_id
        auth = bearer(team, Area.MASH)
        response = await team.client.post(
            f"/api/v1/areas/mash/messages/{mash}/outcome", json=body(mash), headers=auth
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        listing = await team.client.get("/api/v1/areas/mash/queue", headers=auth)
        assert listing.json()["total"] == 1


class TestEncompass:
    async def test_children_are_addressed_by_position(self, hub: Hub, tmp_path: Path) -> None:
        """Each notice is read and decided with ?child=<position>."""
        deps = make_deps(hub, tmp_path / "e", (Area.ENCOMPASS,))
        env = envelope(
            "police.notification.domestic_abuse",
            [
                subject(SubjectRole.VICTIM, "v"),
                subject(label="c1", given_name="Firstchild", present=True, school_urn="100001"),
                subject(label="c2", given_name="Secondchild", age_years=12, school_urn="100002"),
            ],
        )
        assert queue(deps.store, hub, env, Area.ENCOMPASS) == 2
        async with running_app(deps) as team:
            auth = bearer(team, Area.ENCOMPASS)
            base = f"/api/v1/areas/encompass/messages/{env.message_id}"
            first = await team.client.get(f"{base}?child=1", headers=auth)
            assert first.json()["notice"]["child_given_name"] == "Firstchild"
            assert first.json()["envelope"] is None
            assert (await team.client.get(base, headers=auth)).status_code == 404
            done = await team.client.post(
                f"{base}/outcome?child=2", json=body(env.message_id), headers=auth
            )
            assert done.status_code == 201
            assert ("hub.child-index", b"2") in team.published.published[0][1]
            left = await team.client.get("/api/v1/areas/encompass/queue", headers=auth)
            assert [i["child_index"] for i in left.json()["items"]] == [1]
