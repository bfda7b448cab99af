"""The chronology on the page and API, and managers' oversight and authorisation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.bootstrap.teams import copy_check
from hub.router.handler import InRecord, OutRecord, TaskState, route_record
from hub.router.history import HistoryStore
from hub.router.household import HouseholdView
from hub.security.keys import KeyIds, Keyring, outcome_mac
from hub.security.mac import CurrentId, Link, RecordMac
from hub.teams.accounts import Role
from hub.teams.intake import accept_routed
from schemas.common import Area, RiskLevel
from schemas.envelope import Envelope
from schemas.outcome import OutcomeRecorded
from tests.factories import NOW, envelope, key, risk, subject
from tests.records import inbound_record
from tests.unit.teams.teamkit import TeamApp, csrf_of, delivered, make_deps, running_app

HOME = key("household-synthetic-1")


class MiniRouter:
    """The router handler with one store per subject and one household view."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.view = HouseholdView()
        self.stores: dict[str, HistoryStore] = {}
        self.offset = 0

    def _run(self, rec: InRecord, subject_key: str) -> list[OutRecord]:
        store = self.stores.setdefault(subject_key, HistoryStore())
        task = TaskState(rec.partition, store, households=self.view)
        out = route_record(rec, self.hub.router_context(lambda: NOW), task)
        for o in out:  # what the service does once the transaction committed
            if o.topic == "hub.household-history" and o.key is not None:
                self.view.restore(o.key, o.value)
        return out

    def route(self, env: Envelope) -> list[OutRecord]:
        self.offset += 1
        return self._run(inbound_record(self.hub, env, self.offset), env.subject_key)

    def apply(self, outcome: OutcomeRecorded, partition: int) -> list[OutRecord]:
        keys = Keyring(self.hub.settings.crypto.keys_dir)
        name = outcome_mac(outcome.area)
        mac = RecordMac(Link.OUTCOME, KeyIds(keys, name), CurrentId(keys, name))
        k, value = outcome.subject_key.encode(), outcome.model_dump_json().encode()
        headers = mac.headers("team.outcomes", partition, k, value)
        rec = InRecord("team.outcomes", partition, 0, k, value, headers)
        return self._run(rec, outcome.subject_key)


def concern(label: str, hours_ago: float, name: str = "Testchild") -> Envelope:
    child = subject(label=label, household_key=HOME, given_name=name)
    return envelope(
        subjects=[child],
        risk=risk(RiskLevel.HIGH),
        received_at=NOW - timedelta(hours=hours_ago),
        occurred_at=NOW - timedelta(hours=hours_ago + 1),
        reported_at=NOW - timedelta(hours=hours_ago + 0.5),
    )


def store_copies(team: TeamApp, hub: Hub, out: list[OutRecord], area: Area) -> None:
    check = copy_check(hub, (area,))
    for i, o in enumerate(o for o in out if o.topic == f"route.{area.value}"):
        accept_routed(team.deps.store, area, delivered(o, i), NOW, check)


@pytest.fixture
async def team(hub: Hub, tmp_path: Path) -> AsyncIterator[TeamApp]:
    deps = make_deps(hub, tmp_path / "teams", (Area.MASH, Area.EARLY_HELP))
    async with running_app(deps) as app:
        yield app


def bearer(team: TeamApp, area: Area, role: Role = Role.PRACTITIONER) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.deps.accounts.add_client(area, role)}"}


async def scenario(team: TeamApp, hub: Hub) -> tuple[MiniRouter, list[Envelope]]:
    """Child A twice (the first decided by the MASH), sibling B once, then child A again."""
    router = MiniRouter(hub)
    first, sibling, second, third = (
        concern("child-a", 72),
        concern("child-b", 48, "Testsibling"),
        concern("child-a", 24),
        concern("child-a", 0),
    )
    out = router.route(first)
    store_copies(team, hub, out, Area.MASH)
    decided = await team.post_outcome(
        Area.MASH, first.message_id, "s17_assessment", "Synthetic: needs a section 17 assessment."
    )
    assert decided.status_code == 201, decided.text
    published, _headers = team.published.published[-1]
    router.apply(published, team.published.partitions[-1])
    for env in (sibling, second, third):
        store_copies(team, hub, router.route(env), Area.MASH)
    return router, [first, sibling, second, third]


class TestChronologyOnTheApi:
    async def test_the_third_message_shows_two_earlier_contacts_and_the_sibling(
        self, team: TeamApp, hub: Hub
    ) -> None:
        """Done when: the child's two contacts (with the outcome) and the sibling's, household."""
        _router, (first, sibling, second, third) = await scenario(team, hub)
        response = await team.client.get(
            f"/api/v1/areas/mash/messages/{third.message_id}", headers=bearer(team, Area.MASH)
        )
        assert response.status_code == 200
        answer = response.json()
        rows = [(c["message_id"], c["relation"]) for c in answer["chronology"]]
        assert rows == [
            (str(second.message_id), "same_child"),
            (str(sibling.message_id), "household"),
            (str(first.message_id), "same_child"),
        ]
        (outcome,) = answer["chronology"][2]["outcomes"]
        assert set(outcome) >= {"area", "outcome", "rationale", "decided_by", "decided_at"}
        assert outcome["rationale"] == "Synthetic: needs a section 17 assessment."
        totals = answer["chronology_totals"]
        assert totals["contacts_12m"] == 3
        assert totals["by_partner"] == {"police": 3}
        assert answer["decision"]["history"]["contacts_12m"] == 3  # two earlier + this one

    async def test_another_areas_rationale_is_hidden_from_a_practitioner(
        self, team: TeamApp, hub: Hub
    ) -> None:
        """Early help sees the MASH's outcome but not its rationale; its manager sees it."""
        router, _ = await scenario(team, hub)
        later = envelope(
            "health.safeguarding_concern", [subject(label="child-a", household_key=HOME)]
        )
        out = router.route(later)
        store_copies(team, hub, out, Area.EARLY_HELP)
        assert any(o.topic == "route.early-help" for o in out), [o.topic for o in out]
        path = f"/api/v1/areas/early-help/messages/{later.message_id}"
        plain = (await team.client.get(path, headers=bearer(team, Area.EARLY_HELP))).json()
        outcomes = [o for c in plain["chronology"] for o in c["outcomes"]]
        assert outcomes
        assert all(o["rationale"] is None for o in outcomes)
        manager = bearer(team, Area.EARLY_HELP, Role.MANAGER)
        seen = (await team.client.get(path, headers=manager)).json()
        assert any(o["rationale"] for c in seen["chronology"] for o in c["outcomes"])


class TestAuthorisation:
    async def _decide(self, team: TeamApp, hub: Hub) -> Envelope:
        env = concern("child-z", 1)
        store_copies(team, hub, MiniRouter(hub).route(env), Area.MASH)
        response = await team.post_outcome(
            Area.MASH, env.message_id, "no_further_action", "Synthetic: no concerns found."
        )
        assert response.status_code == 201
        return env

    async def test_a_mash_threshold_decision_awaits_a_manager(
        self, team: TeamApp, hub: Hub
    ) -> None:
        """No further action waits; a practitioner's token is 403; blank is 422; then 201."""
        env = await self._decide(team, hub)
        path = f"/api/v1/areas/mash/messages/{env.message_id}"
        entry = (await team.client.get(path, headers=bearer(team, Area.MASH))).json()
        assert entry["status"] == "awaiting_authorisation"
        assert entry["authorisation"]["due_by"] is not None
        body: dict[str, Any] = {"decision": "authorise", "rationale": "Agreed on the history."}
        refused = await team.client.post(
            f"{path}/authorisation", json=body, headers=bearer(team, Area.MASH)
        )
        assert refused.status_code == 403
        manager = bearer(team, Area.MASH, Role.MANAGER)
        blank = await team.client.post(
            f"{path}/authorisation", json={**body, "rationale": "  "}, headers=manager
        )
        assert blank.status_code == 422
        assert "rationale" in blank.text
        done = await team.client.post(f"{path}/authorisation", json=body, headers=manager)
        assert done.status_code == 201, done.text
        record = done.json()
        assert record["authorisation"] == "authorise"
        assert record["authorises"] == str(team.published.published[0][0].outcome_id)
        after = (await team.client.get(path, headers=manager)).json()
        assert after["status"] == "decided"
        assert after["authorisation"]["rationale"] == "Agreed on the history."
        again = await team.client.post(f"{path}/authorisation", json=body, headers=manager)
        assert again.status_code == 409

    async def test_a_return_sends_it_back_to_the_queue(self, team: TeamApp, hub: Hub) -> None:
        """Returned: undecided again, with the manager's reason shown."""
        env = await self._decide(team, hub)
        path = f"/api/v1/areas/mash/messages/{env.message_id}"
        manager = bearer(team, Area.MASH, Role.MANAGER)
        body = {"decision": "return", "rationale": "Check the school's view first."}
        done = await team.client.post(f"{path}/authorisation", json=body, headers=manager)
        assert done.status_code == 201
        after = (await team.client.get(path, headers=manager)).json()
        assert after["status"] == "undecided"
        assert after["authorisation"]["decision"] == "return"

    async def test_another_outcome_needs_no_authorisation(self, team: TeamApp, hub: Hub) -> None:
        """Open case is not a threshold decision: decided at once."""
        env = concern("child-y", 1)
        store_copies(team, hub, MiniRouter(hub).route(env), Area.MASH)
        path = f"/api/v1/areas/mash/messages/{env.message_id}"
        await team.post_outcome(Area.MASH, env.message_id, "open_case", "x")
        entry = (await team.client.get(path, headers=bearer(team, Area.MASH))).json()
        assert entry["status"] == "decided"

    async def test_oversight_and_assignment(self, team: TeamApp, hub: Hub) -> None:
        """A manager sees drift and assigns; a practitioner's token may not."""
        await self._decide(team, hub)
        waiting = concern("child-w", 1)
        store_copies(team, hub, MiniRouter(hub).route(waiting), Area.MASH)
        team.deps.accounts.add_user("sw-synthetic", Area.MASH)
        manager = bearer(team, Area.MASH, Role.MANAGER)
        path = f"/api/v1/areas/mash/messages/{waiting.message_id}/assignment"
        denied = await team.client.post(
            path, json={"assignee": "sw-synthetic"}, headers=bearer(team, Area.MASH)
        )
        assert denied.status_code == 403
        unknown = await team.client.post(path, json={"assignee": "nobody"}, headers=manager)
        assert unknown.status_code == 422
        ok = await team.client.post(path, json={"assignee": "sw-synthetic"}, headers=manager)
        assert ok.json()["assigned_to"] == "sw-synthetic"
        figures = (await team.client.get("/api/v1/areas/mash/oversight", headers=manager)).json()
        assert figures["awaiting_authorisation"] == 1
        assert figures["undecided"] == 1
        assert figures["by_practitioner"]["sw-synthetic"]["assigned_undecided"] == 1
        assert (
            await team.client.get("/api/v1/areas/mash/oversight", headers=bearer(team, Area.MASH))
        ).status_code == 403


class TestPages:
    async def test_a_manager_reads_the_chronology_and_authorises(
        self, team: TeamApp, hub: Hub
    ) -> None:
        """The page shows the household contact and the authorise form; posting it records."""
        _router, (_first, _sibling, _second, third) = await scenario(team, hub)
        assert (await team.sign_in_as("mgr-synthetic", Area.MASH, Role.MANAGER)).status_code == 303
        path = f"/areas/mash/messages/{third.message_id}"
        page = await team.client.get(path)
        assert "household" in page.text
        assert "Synthetic: needs a section 17 assessment." in page.text
        first_path = f"/areas/mash/messages/{_first.message_id}"
        first_page = await team.client.get(first_path)
        assert "Awaiting a manager" in first_page.text
        token = csrf_of(first_page.text)
        blank = await team.client.post(
            f"{first_path}/authorisation?child=0",
            data={"csrf_token": token, "decision": "authorise", "rationale": ""},
        )
        assert blank.status_code == 422
        done = await team.client.post(
            f"{first_path}/authorisation?child=0",
            data={"csrf_token": token, "decision": "authorise", "rationale": "Agreed."},
        )
        assert done.status_code == 303
        assert "Authorised by mgr-synthetic" in (await team.client.get(first_path)).text
        oversight = await team.client.get("/areas/mash/oversight")
        assert oversight.status_code == 200

    async def test_a_practitioner_gets_no_manager_pages(self, team: TeamApp, hub: Hub) -> None:
        """Oversight is 403 to a practitioner."""
        del hub
        await team.sign_in_as("sw-plain", Area.MASH)
        assert (await team.client.get("/areas/mash/oversight")).status_code == 403
