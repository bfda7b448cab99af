"""Agency checks in-process: a MASH practitioner asks, partners answer, the answer is attached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.checks.crypto import Received
from hub.ingest.credentials import CredentialStore
from hub.teams.checkconsumer import apply_check_record
from schemas.checks import CheckPartner
from schemas.common import Area, Partner, RiskLevel, SubjectRole
from schemas.envelope import Envelope
from tests.factories import envelope, risk, subject
from tests.unit.checks.checkkit import MASH, Ingest, asked_writer
from tests.unit.teams.teamkit import TeamApp, queue

PROBLEM = "application/problem+json"


@pytest.fixture
def contact(team: TeamApp, hub: Hub) -> Envelope:
    child = subject(given_name="Testchild", family_name="Synthetic")
    mother = subject(SubjectRole.PARENT_CARER, "mother-1", given_name="Testmother")
    env = envelope(subjects=[child, mother], risk=risk(RiskLevel.HIGH))
    assert queue(team.deps.store, hub, env, Area.MASH) == 1
    return env


def mash(team: TeamApp) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.MASH)}"}


ASK = {"partners": ["police", "health"], "urgency": "red", "question": "What do you know?"}


async def ask(team: TeamApp, contact: Envelope, body: object = None) -> dict[str, object]:
    url = f"/api/v1/areas/mash/messages/{contact.message_id}/checks"
    response = await team.client.post(url, json=body or ASK, headers=mash(team))
    assert response.status_code == 201, response.text
    found: dict[str, object] = response.json()
    return found


async def asked_check(
    team: TeamApp, partners: Ingest, contact: Envelope, partner: CheckPartner
) -> str:
    """Ask police and health about the contact, deliver, and return ``partner``'s check id."""
    await ask(team, contact)
    deliver(team, partners)
    return await partners.first_check_id(partner)


def deliver(team: TeamApp, partners: Ingest) -> None:
    """Carry what each side wrote to the other, as Kafka would."""
    for record in asked_writer(team.deps).delivered():
        partners.checks.index.read(record)
    assert team.deps.checks is not None
    for writer in partners.writer.values():
        for record in writer.delivered():
            apply_check_record(team.deps.checks.store, team.deps.checks.keys, MASH, record)


class TestAsking:
    async def test_one_check_per_partner_with_a_red_deadline(
        self, team: TeamApp, contact: Envelope
    ) -> None:
        """Red is 4 working hours: asked Wednesday 14:30, due Thursday 10:30."""
        found = await ask(team, contact)
        checks = found["checks"]
        assert isinstance(checks, list)
        assert [c["partner"] for c in checks] == ["police", "health"]
        assert {c["due_by"] for c in checks} == {"2026-11-26T10:30:00Z"}
        assert {c["status"] for c in checks} == {"open"}
        assert {c["asked_by"] for c in checks} == {c["asked_by"] for c in checks[:1]}

    async def test_written_in_one_transaction_keyed_by_subject(
        self, team: TeamApp, contact: Envelope
    ) -> None:
        """Both requests go in one write, keyed by the subject key, sealed and MACed."""
        await ask(team, contact)
        batches = asked_writer(team.deps).batches
        assert len(batches) == 1
        assert [r.topic for r in batches[0]] == ["hub.checks", "hub.checks"]
        assert {r.key for r in batches[0]} == {contact.subject_key.encode()}
        for record in batches[0]:
            assert b"Testchild" not in record.value
            assert b"What do you know" not in record.value
            assert {name for name, _ in record.headers} == {"hub-key-id", "hub-mac"}

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            (
                {"partners": [], "urgency": "pink", "question": " "},
                {"partners", "urgency", "question"},
            ),
            (
                {"partners": ["police", "police", "mi5"], "urgency": "red", "question": "q"},
                {"partners.2"},
            ),
            ({"urgency": "red"}, {"partners", "question"}),
        ],
    )
    async def test_bad_requests_are_422_naming_every_field(
        self, team: TeamApp, contact: Envelope, body: object, fields: set[str]
    ) -> None:
        """Every problem is named; nothing is written."""
        url = f"/api/v1/areas/mash/messages/{contact.message_id}/checks"
        response = await team.client.post(url, json=body, headers=mash(team))
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert {e["field"] for e in response.json()["errors"]} >= fields
        assert asked_writer(team.deps).batches == []

    async def test_another_area_may_not_ask(self, team: TeamApp, contact: Envelope) -> None:
        """Early help's token cannot ask about a MASH message, nor for its own area."""
        early = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.EARLY_HELP)}"}
        for area in ("mash", "early-help"):
            url = f"/api/v1/areas/{area}/messages/{contact.message_id}/checks"
            response = await team.client.post(url, json=ASK, headers=early)
            assert response.status_code == 403

    async def test_unknown_message_is_404(self, team: TeamApp) -> None:
        """A message not in the MASH's queue."""
        url = "/api/v1/areas/mash/messages/00000000-0000-4000-8000-000000000000/checks"
        response = await team.client.post(url, json=ASK, headers=mash(team))
        assert response.status_code == 404

    async def test_kafka_down_is_503_and_nothing_is_kept(
        self, team: TeamApp, contact: Envelope
    ) -> None:
        """Nothing committed, nothing recorded."""
        asked_writer(team.deps).fail = True
        url = f"/api/v1/areas/mash/messages/{contact.message_id}/checks"
        response = await team.client.post(url, json=ASK, headers=mash(team))
        assert response.status_code == 503
        assert "retry-after" in response.headers
        assert team.deps.checks is not None
        assert team.deps.checks.store.counts() == (0, 0)


class TestAnswering:
    async def test_a_partner_sees_its_own_checks_decrypted(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """Police sees the question, the child and the household; health sees its own."""
        await ask(team, contact)
        deliver(team, partners)
        response = await partners.client.get("/v1/police/checks", headers=partners.auth("police"))
        assert response.status_code == 200
        checks = response.json()["checks"]
        assert len(checks) == 1
        check = checks[0]
        assert check["question"] == "What do you know?"
        assert check["urgency"] == "red"
        assert check["child"]["details"]["given_name"] == "Testchild"
        assert [p["details"]["given_name"] for p in check["household"]] == ["Testmother"]
        education = await partners.client.get(
            "/v1/education/checks", headers=partners.auth("education")
        )
        assert education.json() == {"checks": []}

    async def test_answer_once_then_409_and_attached_to_the_contact(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """201, then 409; the MASH sees the answer on the message's API answer."""
        check_id = await asked_check(team, partners, contact, "health")
        answer = {
            "result": "information_found",
            "details": "Known to the GP.",
            "answered_by": "Dr Synthetic",
        }
        first = await partners.answer("health", check_id, answer)
        assert first.status_code == 201, first.text
        assert first.json()["on_time"] is True
        second = await partners.answer("health", check_id, answer)
        assert second.status_code == 409
        listed = await partners.client.get("/v1/health/checks", headers=partners.auth("health"))
        assert listed.json() == {"checks": []}
        deliver(team, partners)
        message = await team.client.get(
            f"/api/v1/areas/mash/messages/{contact.message_id}", headers=mash(team)
        )
        by_partner = {c["partner"]: c for c in message.json()["checks"]}
        assert by_partner["health"]["status"] == "answered"
        assert by_partner["health"]["details"] == "Known to the GP."
        assert by_partner["health"]["answered_by"] == "Dr Synthetic"
        assert by_partner["police"]["status"] == "open"

    async def test_another_partners_check_is_404(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """Police cannot answer health's check through its own path, nor use health's path."""
        health = await asked_check(team, partners, contact, "health")
        answer = {"result": "nothing_known", "answered_by": "PC Synthetic"}
        mine = await partners.answer("police", health, answer)
        assert mine.status_code == 404
        theirs = await partners.answer("health", health, answer, partners.auth("police"))
        assert theirs.status_code == 403
        assert all(not w.batches for w in partners.writer.values())

    async def test_bad_answers_are_422_naming_every_problem(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """Unknown result, information found without details, nobody named."""
        check_id = await asked_check(team, partners, contact, "police")
        bad = {"result": "maybe", "details": "", "answered_by": "  ", "extra": 1}
        response = await partners.answer("police", check_id, bad)
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert {e["field"] for e in response.json()["errors"]} == {"result", "answered_by", "extra"}
        found = {"result": "information_found", "answered_by": "PC Synthetic"}
        response = await partners.answer("police", check_id, found)
        assert {e["field"] for e in response.json()["errors"]} == {"details"}
        url = f"/v1/police/checks/{check_id}/response"
        not_json = await partners.client.post(url, content=b"{", headers=partners.auth("police"))
        assert not_json.status_code == 422

    @pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer hubp_x.y"])
    async def test_no_credential_is_401(self, partners: Ingest, header: str | None) -> None:
        """Before anything is read."""
        headers = {"Authorization": header} if header else {}
        response = await partners.client.get("/v1/police/checks", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_partner_without_a_system_answers_with_its_own_credential(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """Probation's credential answers probation's check; it cannot read police's."""
        await ask(
            team, contact, {"partners": ["probation"], "urgency": "green", "question": "Known?"}
        )
        deliver(team, partners)
        checks = (
            await partners.client.get("/v1/probation/checks", headers=partners.auth("probation"))
        ).json()["checks"]
        assert len(checks) == 1
        assert checks[0]["due_by"] == "2026-11-30T14:30:00Z"  # 3 working days
        police = await partners.client.get("/v1/police/checks", headers=partners.auth("probation"))
        assert police.status_code == 403
        answer = {"result": "nothing_known", "answered_by": "Probation officer"}
        answered = await partners.answer("probation", checks[0]["check_id"], answer)
        assert answered.status_code == 201


class TestTrust:
    async def test_a_forged_or_changed_request_is_not_indexed(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """A changed byte, another key or a copy to another partition is refused."""
        await ask(team, contact, {"partners": ["police"], "urgency": "amber", "question": "q?"})
        (record,) = asked_writer(team.deps).delivered()
        value = json.loads(record.value)
        value["urgency"] = "green"
        changed = Received(
            record.topic, record.partition, record.key, json.dumps(value).encode(), record.headers
        )
        moved = Received(
            record.topic, (record.partition + 1) % 6, record.key, record.value, record.headers
        )
        rekeyed = Received(record.topic, record.partition, b"other", record.value, record.headers)
        bare = Received(record.topic, record.partition, record.key, record.value, [])
        for forged in (changed, moved, rekeyed, bare):
            partners.checks.index.read(forged)
        assert partners.checks.index.checks == {}
        assert partners.checks.index.refused == 4

    async def test_an_answer_opens_only_for_the_asking_area(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """The answer's data key is wrapped for area:mash alone, not for the partner."""
        from hub.checks.crypto import partner_recipient  # noqa: PLC0415
        from schemas.checks import CheckAnswered  # noqa: PLC0415

        await ask(team, contact, {"partners": ["police"], "urgency": "red", "question": "q?"})
        deliver(team, partners)
        check_id = await partners.first_check_id("police")
        answer = {"result": "information_found", "details": "Synthetic record", "answered_by": "PC"}
        await partners.answer("police", check_id, answer)
        (record,) = partners.writer["police"].delivered()
        answered = CheckAnswered.model_validate_json(record.value)
        assert b"Synthetic record" not in record.value
        assert [k.recipient for k in answered.sealed.keys] == ["area:mash"]
        assert partner_recipient(answered.partner) == "partner:police"


class TestMessagePage:
    async def test_a_practitioner_asks_on_the_page_and_sees_the_answer(
        self, team: TeamApp, partners: Ingest, contact: Envelope
    ) -> None:
        """The form asks (CSRF checked); the page shows each check and, later, its answer."""
        assert (await team.sign_in_as("alice", Area.MASH)).status_code == 303
        page = f"/areas/mash/messages/{contact.message_id}"
        form = {
            "partner_police": "on",
            "partner_health": "on",
            "urgency": "amber",
            "question": "Known?",
        }
        forged = await team.client.post(f"{page}/checks", data={**form, "csrf_token": "nope"})
        assert forged.status_code == 403
        token = await team.csrf(page)
        asked = await team.client.post(f"{page}/checks", data={**form, "csrf_token": token})
        assert asked.status_code == 303
        deliver(team, partners)
        check_id = await partners.first_check_id("police")
        answer = {
            "result": "information_found",
            "details": "Synthetic police record",
            "answered_by": "PC Synthetic",
        }
        await partners.answer("police", check_id, answer)
        deliver(team, partners)
        html = (await team.client.get(page)).text
        assert 'data-partner="police" data-status="answered"' in html
        assert "Synthetic police record" in html
        assert 'data-partner="health" data-status="open"' in html

    async def test_an_empty_form_names_each_problem(self, team: TeamApp, contact: Envelope) -> None:
        """No partner and no question: 422, both named."""
        await team.sign_in_as("alice", Area.MASH)
        page = f"/areas/mash/messages/{contact.message_id}"
        token = await team.csrf(page)
        response = await team.client.post(
            f"{page}/checks", data={"urgency": "red", "question": "", "csrf_token": token}
        )
        assert response.status_code == 422
        assert "Partners" in response.text
        assert "Question" in response.text


class TestOrganisations:
    """A check asked of one organisation is seen and answered only by that organisation."""

    async def test_another_force_neither_sees_nor_answers_it(
        self, team: TeamApp, partners: Ingest, contact: Envelope, tmp_path: Path
    ) -> None:
        await ask(team, contact, {**ASK, "partners": ["police"], "organisations": ["47"]})
        deliver(team, partners)
        store = CredentialStore(tmp_path / "ingest" / "credentials.json")
        other = {"Authorization": f"Bearer {store.add(Partner.POLICE, ['99'])}"}
        seen = await partners.client.get("/v1/police/checks", headers=other)
        assert seen.json() == {"checks": []}
        check_id = await partners.first_check_id("police")
        answer = {"result": "nothing_known", "answered_by": "PC Synthetic"}
        assert (await partners.answer("police", check_id, answer, other)).status_code == 404
        assert all(not w.batches for w in partners.writer.values())

    async def test_a_credential_from_before_organisations_reads_no_check(
        self, team: TeamApp, partners: Ingest, contact: Envelope, tmp_path: Path
    ) -> None:
        await ask(team, contact)
        deliver(team, partners)
        path = tmp_path / "ingest" / "credentials.json"
        stored = json.loads(path.read_text())
        for record in stored["credentials"]:
            record.pop("orgs")
        path.write_text(json.dumps(stored))
        seen = await partners.client.get("/v1/police/checks", headers=partners.auth("police"))
        assert seen.status_code == 401


class TestThrottling:
    async def test_beyond_the_burst_is_429(self, partners: Ingest) -> None:
        """The check endpoints share the partner's rate limit."""
        from hub.web import TokenBuckets  # noqa: PLC0415

        partners.checks.limiter = TokenBuckets(burst=2, per_s=0.001)
        statuses = [
            (
                await partners.client.get("/v1/police/checks", headers=partners.auth("police"))
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
