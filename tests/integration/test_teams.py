"""The team queue on the real broker, fed by the real router: isolation, outcomes, redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hub.bootstrap import Hub
from hub.bootstrap.teams import copy_check, team_deps
from hub.broker.local import LocalBroker
from hub.broker.topics import apply_topics, load_topics_file
from hub.kafka import KafkaAdmin
from hub.security.credentials import apply_security
from hub.security.passwords import SecretStore
from hub.security.principals import load_principals_file
from hub.settings import (
    PROJECT_ROOT,
    BrokerSettings,
    KafkaSettings,
    SecuritySettings,
    TeamSettings,
)
from hub.teams.app import create_app
from hub.teams.intake import RoutedRecord, accept_routed
from hub.teams.validation import RATIONALE_REQUIRED
from hub.topology import team_group
from schemas.common import Area, ConsentStatus, RiskLevel, SubjectRole
from schemas.envelope import Envelope
from schemas.outcome import Outcome, OutcomeRecorded
from tests.factories import consent, envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic, running_router
from tests.unit.teams.teamkit import TeamApp, csrf_of

SERVED = ("mash", "early-help")


def team_hub(kafka: KafkaSettings, tmp: Path) -> Hub:
    hub = hub_for(kafka, tmp)
    teams = TeamSettings(state_dir=tmp / "teams", areas=SERVED, instance="it")
    return Hub(hub.settings.model_copy(update={"teams": teams}))


def traffic() -> dict[str, Envelope]:
    """One message for the MASH, one for early help, one adults-only (kept off both)."""
    return {
        "mash": envelope(risk=risk(RiskLevel.HIGH), narrative="Synthetic narrative for MASH"),
        "early-help": envelope("health.safeguarding_concern", [subject(label="eh-child")]),
        "adults": envelope(
            "police.notification.domestic_abuse",
            [subject(SubjectRole.VICTIM, "v1"), subject(SubjectRole.PERSON_CAUSING_HARM, "p1")],
            risk=risk(RiskLevel.STANDARD),
            consent=consent(ConsentStatus.NOT_SOUGHT),
        ),
    }


async def poll(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 60) -> None:
    """Wait, with a bound, until ``check`` is true."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def wait_for_rows(team: TeamApp, want: dict[str, int], timeout_s: float = 60) -> None:
    """Wait, with a bound, until the local queue holds ``want`` rows per area."""
    async with asyncio.timeout(timeout_s):
        while True:
            counts = team.deps.store.counts()
            if all(sum(counts.get(a, (0, 0))) >= n for a, n in want.items()):
                return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_team(hub: Hub) -> AsyncIterator[TeamApp]:
    """The real app in-process: real consumers and producer, ready once the groups joined."""
    deps = team_deps(hub)
    app = create_app(deps)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://teams.test") as client:
            team = TeamApp(client, deps)

            async def ready() -> bool:
                return bool((await client.get("/health")).json()["ready"])

            await poll(ready, "the team consumers to join their groups")
            yield team


async def routed(hub: Hub, sent: list[Envelope]) -> None:
    """Route ``sent`` with the real router and wait for every decision."""
    async with running_router(hub):
        await produce(hub, sent)
        await read_topic(hub.settings.kafka, "hub.decisions", expected=len(sent))


@contextlib.asynccontextmanager
async def team_with_traffic(hub: Hub) -> AsyncIterator[tuple[TeamApp, dict[str, Envelope]]]:
    """The :func:`traffic` routed, then the team app running with both areas' rows queued."""
    sent = traffic()
    await routed(hub, list(sent.values()))
    async with running_team(hub) as team:
        await wait_for_rows(team, {"mash": 1, "early-help": 1})
        yield team, sent


class TestTeamQueue:
    async def test_each_practitioner_sees_only_their_areas_messages(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """MASH sees the MASH message (decrypted when opened); early help sees only its own."""
        async with team_with_traffic(team_hub(hub_topics, tmp_path)) as (team, sent):
            mash_id, eh_id = sent["mash"].message_id, sent["early-help"].message_id
            await team.sign_in_as("mia", Area.MASH)
            queue = await team.client.get("/areas/mash/queue")
            assert str(mash_id) in queue.text
            assert str(eh_id) not in queue.text
            assert str(sent["adults"].message_id) not in queue.text
            opened = await team.client.get(f"/areas/mash/messages/{mash_id}")
            assert "Synthetic narrative for MASH" in opened.text
            assert "Testchild" in opened.text
            assert (await team.client.get("/areas/early-help/queue")).status_code == 403
            assert (await team.client.get(f"/areas/mash/messages/{eh_id}")).status_code == 404

            token = csrf_of(opened.text)
            await team.client.post("/sign-out", data={"csrf_token": token})
            await team.sign_in_as("eve", Area.EARLY_HELP)
            eh_queue = await team.client.get("/areas/early-help/queue")
            assert str(eh_id) in eh_queue.text
            assert str(mash_id) not in eh_queue.text
            assert (await team.client.get("/areas/mash/queue")).status_code == 403

    async def test_recorded_outcome_reaches_team_outcomes(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Blank rationales are refused (page and API); a real one lands on team.outcomes."""
        hub = team_hub(hub_topics, tmp_path)
        message = traffic()["mash"]
        await routed(hub, [message])
        async with running_team(hub) as team:
            await wait_for_rows(team, {"mash": 1})
            page = f"/areas/mash/messages/{message.message_id}"
            await team.sign_in_as("mia", Area.MASH)
            token = await team.csrf(page)
            blank = await team.client.post(
                f"{page}/outcome",
                data={"csrf_token": token, "outcome": "s17_assessment", "rationale": "  "},
            )
            assert blank.status_code == 422
            assert RATIONALE_REQUIRED in blank.text
            api = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.MASH)}"}
            url = f"/api/v1/areas/mash/messages/{message.message_id}/outcome"
            body = {"message_id": str(message.message_id), "outcome": "s17_assessment"}
            refused = await team.client.post(url, json=body | {"rationale": ""}, headers=api)
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["field"] == "rationale"

            token = await team.csrf(page)
            done = await team.client.post(
                f"{page}/outcome",
                data={
                    "csrf_token": token,
                    "outcome": "s17_assessment",
                    "rationale": "Synthetic: significant harm, assess under s17 first",
                },
            )
            assert done.status_code == 303
            decided = await team.client.get("/areas/mash/queue?status=decided")
            assert str(message.message_id) in decided.text
            assert "Decided" in decided.text
        records = await read_topic(hub_topics, "team.outcomes", expected=1, idle_s=1.0)
        assert len(records) == 1
        assert records[0].key == message.subject_key.encode()
        outcome = OutcomeRecorded.model_validate_json(records[0].value)
        assert outcome.message_id == message.message_id
        assert outcome.area is Area.MASH
        assert outcome.outcome is Outcome.S17_ASSESSMENT
        assert outcome.rationale == "Synthetic: significant harm, assess under s17 first"
        assert outcome.decided_by == "mia"
        assert outcome.decided_at.tzinfo is not None
        assert outcome.decided_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert outcome.due_by is not None
        # Authenticated with the MASH's outcome key, on its routed copy's partition number.
        copy = (await read_topic(hub_topics, "route.mash", expected=1, idle_s=0.5))[0]
        assert records[0].partition == copy.partition
        key_id = (
            hub.router_macs()
            .outcome[Area.MASH]
            .verify(
                "team.outcomes",
                records[0].partition,
                records[0].key,
                records[0].value,
                [(k, bytes(v)) for k, v in records[0].headers],
            )
        )
        assert key_id == "k1"

    async def test_api_isolation_and_outcome(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Tokens read and decide only their own area; the API outcome reaches Kafka."""
        async with team_with_traffic(team_hub(hub_topics, tmp_path)) as (team, sent):
            mash_id = sent["mash"].message_id
            mash = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.MASH)}"}
            early = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.EARLY_HELP)}"}
            c = team.client
            assert (await c.get("/api/v1/areas/mash/queue")).status_code == 401
            assert (await c.get("/api/v1/areas/mash/queue", headers=early)).status_code == 403
            eh_queue = (await c.get("/api/v1/areas/early-help/queue", headers=early)).json()
            assert [i["message_id"] for i in eh_queue["items"]] == [
                str(sent["early-help"].message_id)
            ]
            hidden = await c.get(f"/api/v1/areas/early-help/messages/{mash_id}", headers=early)
            assert hidden.status_code == 404
            body = {
                "message_id": str(mash_id),
                "outcome": "strategy_discussion",
                "rationale": "Synthetic: convene a strategy discussion",
            }
            url = f"/api/v1/areas/mash/messages/{mash_id}/outcome"
            assert (await c.post(url, json=body, headers=early)).status_code == 403
            created = await c.post(url, json=body, headers=mash)
            assert created.status_code == 201, created.text
        records = await read_topic(hub_topics, "team.outcomes", expected=1, idle_s=1.0)
        assert [OutcomeRecorded.model_validate_json(r.value) for r in records] == [
            OutcomeRecorded.model_validate(created.json())
        ]

    async def test_offsets_follow_the_store_and_redelivery_adds_nothing(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Rows stored before a crash (offsets not committed) are not queued twice."""
        hub = team_hub(hub_topics, tmp_path)
        sent = [traffic()["mash"], envelope(risk=risk(RiskLevel.HIGH))]
        await routed(hub, sent)
        # As if a previous run stored both rows and crashed before committing.
        deps = team_deps(hub)
        for record in await read_topic(hub_topics, "route.mash", expected=2):
            headers = tuple((k, bytes(v)) for k, v in record.headers)
            accept_routed(
                deps.store,
                Area.MASH,
                RoutedRecord(record.partition, record.offset, record.value, record.key, headers),
                deps.clock(),
                copy_check(hub, (Area.MASH,)),
            )
        deps.close()
        async with running_team(hub) as team:
            group = hub_topics.group(team_group(Area.MASH))

            async def committed() -> bool:
                return sum((await _committed(hub_topics, group)).values()) >= 2

            await poll(committed, "both offsets to be committed")
            assert team.deps.store.counts()["mash"] == (2, 0)
        async with running_team(hub) as team:
            await asyncio.sleep(1.0)
            assert team.deps.store.counts()["mash"] == (2, 0)


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KafkaSettings, Path]]:
    """A SASL/SCRAM broker with deny-by-default ACLs of this module's own (free ports)."""
    state = tmp_path_factory.mktemp("teams-sasl")
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    settings = BrokerSettings(
        state_dir=state, port=ports[0], controller_port=ports[1], sasl=True, heap="512m"
    )
    broker = LocalBroker(settings)
    broker.start()
    try:
        yield broker.admin_kafka_settings(), state / "secrets"
    finally:
        broker.stop()


class TestLeastPrivilege:
    async def test_each_area_reads_and_decides_as_its_own_principal(
        self, sasl_broker: tuple[KafkaSettings, Path], tmp_path: Path
    ) -> None:
        """With per-component principals, team-mash and team-early-help each do their part."""
        base, secrets = sasl_broker
        admin = base.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
        specs = load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")
        names = {"team-mash", "team-early-help"}
        principals = load_principals_file(
            PROJECT_ROOT / "deploy" / "principals.yaml", [s.name for s in specs]
        )
        await apply_topics(specs, admin)
        await apply_security(
            [p for p in principals if p.name in names], admin, SecretStore(secrets)
        )
        hub = team_hub(admin, tmp_path)
        security = SecuritySettings(per_component=True, secrets_dir=secrets)
        hub = Hub(hub.settings.model_copy(update={"security": security}))
        sent = traffic()
        await routed(hub, list(sent.values()))
        async with running_team(hub) as team:
            assert team.deps.consumer is not None
            brokers = team.deps.consumer.brokers  # type: ignore[attr-defined]
            users = sorted(b._connection_kwargs["sasl_plain_username"] for b in brokers)
            assert users == ["team-early-help", "team-mash"]
            await wait_for_rows(team, {"mash": 1, "early-help": 1})
            for area, message in ((Area.MASH, sent["mash"]), (Area.EARLY_HELP, sent["early-help"])):
                response = await team.post_outcome(
                    area,
                    message.message_id,
                    "no_further_action",
                    "Synthetic: recorded by the area's own principal",
                )
                assert response.status_code == 201, response.text
        records = await read_topic(admin, "team.outcomes", expected=2, idle_s=1.0)
        assert {OutcomeRecorded.model_validate_json(r.value).area for r in records} == {
            Area.MASH,
            Area.EARLY_HELP,
        }


async def _committed(kafka: KafkaSettings, group: str) -> dict[object, int]:
    async with KafkaAdmin(kafka) as admin:
        return dict(await admin.committed_offsets(group))
