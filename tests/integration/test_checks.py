"""Agency checks on the real broker: the MASH asks, partners answer, the answer is attached.

The team app, the partner ingest and the router run for real (in-process) against the
local broker. Each process is stopped mid-flow and started again; every asked check and
every answer is still there, exactly once, on Kafka and in the team's record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from hub.bootstrap import Hub
from hub.bootstrap.ingest import ingest_deps
from hub.ingest.checkcredentials import CheckCredentialStore, check_credentials_file
from hub.settings import ConnectorSettings, KafkaSettings
from schemas.checks import CheckPartner
from schemas.common import Area, RiskLevel
from tests.factories import envelope, risk
from tests.integration.routerkit import read_topic
from tests.integration.test_teams import poll, routed, running_team, team_hub, wait_for_rows
from tests.memory_ingest import ingest_client
from tests.unit.teams.teamkit import TeamApp


def checks_hub(kafka: KafkaSettings, tmp: Path) -> Hub:
    hub = team_hub(kafka, tmp)
    connectors = ConnectorSettings(state_dir=tmp / "connectors")
    return Hub(hub.settings.model_copy(update={"connectors": connectors}))


@contextlib.asynccontextmanager
async def running_partners(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """The partner ingest in-process, once its index of checks has caught up."""
    deps = ingest_deps(hub)
    assert deps.checks is not None
    async with ingest_client(deps) as client:
        await asyncio.wait_for(deps.checks.index.synced.wait(), 60)
        yield client


def tokens(hub: Hub) -> dict[str, dict[str, str]]:
    """A credential for police, health (connectors) and probation (answer-only)."""
    from hub.ingest.credentials import CredentialStore  # noqa: PLC0415
    from schemas.common import Partner  # noqa: PLC0415
    from tests.orgs import TEST_ORGS  # noqa: PLC0415

    path = hub.settings.connectors.credentials_file
    store = CredentialStore(path)
    found = {p: store.add(Partner(p), TEST_ORGS[Partner(p)]) for p in ("police", "health")}
    found["probation"] = CheckCredentialStore(check_credentials_file(path)).add(
        CheckPartner.PROBATION
    )
    return {p: {"Authorization": f"Bearer {t}"} for p, t in found.items()}


async def open_checks(
    client: httpx.AsyncClient, partner: str, auth: dict[str, str]
) -> list[dict[str, object]]:
    response = await client.get(f"/v1/{partner}/checks", headers=auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["checks"]
    return found


async def answered(team: TeamApp, want: int) -> None:
    assert team.deps.checks is not None
    store = team.deps.checks.store

    async def done() -> bool:
        return store.counts()[1] >= want

    await poll(done, f"{want} answers attached")


ANSWER = {
    "result": "information_found",
    "details": "Synthetic record",
    "answered_by": "A. Synthetic",
}


class TestChecksOnTheBroker:
    async def test_ask_answer_attach_with_every_process_restarted(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Ask police, health and probation; restart the ingest, the team app and the router."""
        hub = checks_hub(hub_topics, tmp_path)
        contact = envelope(risk=risk(RiskLevel.HIGH), narrative="Synthetic narrative for MASH")
        await routed(hub, [contact])
        auth = tokens(hub)
        url = f"/api/v1/areas/mash/messages/{contact.message_id}/checks"
        ask = {
            "partners": ["police", "health", "probation"],
            "urgency": "red",
            "question": "Known?",
        }

        async with running_team(hub) as team:
            await wait_for_rows(team, {"mash": 1})
            mash = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.MASH)}"}
            asked = await team.client.post(url, json=ask, headers=mash)
            assert asked.status_code == 201, asked.text
            # The ingest starts after the checks were asked: it finds them on hub.checks.
            async with running_partners(hub) as partners:
                police = await open_checks(partners, "police", auth["police"])
                assert [c["question"] for c in police] == ["Known?"]
                first = await partners.post(
                    f"/v1/police/checks/{police[0]['check_id']}/response",
                    json=ANSWER,
                    headers=auth["police"],
                )
                assert first.status_code == 201
            await answered(team, 1)

        # Team app down: health and probation answer meanwhile; the ingest restarts too.
        async with running_partners(hub) as partners:
            again = await partners.post(
                f"/v1/police/checks/{police[0]['check_id']}/response",
                json=ANSWER,
                headers=auth["police"],
            )
            assert again.status_code == 409  # known answered after the restart
            assert await open_checks(partners, "police", auth["police"]) == []
            for partner in ("health", "probation"):
                (check,) = await open_checks(partners, partner, auth[partner])
                response = await partners.post(
                    f"/v1/{partner}/checks/{check['check_id']}/response",
                    json=ANSWER,
                    headers=auth[partner],
                )
                assert response.status_code == 201
            other = await partners.post(
                f"/v1/police/checks/{check['check_id']}/response",
                json=ANSWER,
                headers=auth["police"],
            )
            assert other.status_code == 404  # probation's check, asked through police's path

        # The router restarts (it plays no part in checks, and changes nothing of them).
        await routed(hub, [])
        async with running_team(hub) as team:
            await answered(team, 3)
            mash = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.MASH)}"}
            message = await team.client.get(
                f"/api/v1/areas/mash/messages/{contact.message_id}", headers=mash
            )
            checks = message.json()["checks"]
            assert sorted(c["partner"] for c in checks) == ["health", "police", "probation"]
            assert {c["status"] for c in checks} == {"answered"}
            assert {c["details"] for c in checks} == {"Synthetic record"}
            assert team.deps.checks is not None
            assert team.deps.checks.store.counts() == (3, 3)

        kafka = hub.settings.kafka
        requests = await read_topic(kafka, "hub.checks", expected=3)
        answers = await read_topic(kafka, "hub.check-responses", expected=3)
        assert len(requests) == 3
        assert len(answers) == 3
        assert all(r.key == contact.subject_key.encode() for r in requests + answers)
        assert all(b"Synthetic record" not in r.value for r in answers)
        assert all(b"Known?" not in r.value for r in requests)
