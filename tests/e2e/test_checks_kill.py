"""Agency checks survive a SIGKILL of every process, mid-flow (issue 14).

The real ``hub router run``, ``hub teams serve`` (the MASH) and ``hub connectors
serve`` run as processes on the broker. The MASH asks police and health through the
team API; then each process is killed (SIGKILL: no shutdown, no flush) at the worst
moment of the flow and started again:

- the ingest right after the ask (its index of open checks is rebuilt from Kafka; the
  partner's list is ``503`` until then), and again right after the last answer (a
  second answer is still ``409``);
- the team app right after police's answer is ``201`` (health answers while it is
  down; both answers are attached once it is back);
- the router, with a second contact in flight (it plays no part in checks: nothing of
  them changes, and the second contact reaches the MASH with no checks).

Every asked check and every answer is then there exactly once: in the message's
``checks`` on the team API, and on ``hub.checks`` and ``hub.check-responses`` read
with ``read_committed``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.settings import KafkaSettings
from schemas.common import Partner, RiskLevel
from tests.e2e.processes import free_port, hub_command, hub_env, start, stop, wait_http_ready
from tests.factories import envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic
from tests.orgs import org_args

PARTNERS = ("police", "health")
ASK = {"partners": list(PARTNERS), "urgency": "red", "question": "Known to you?"}
ANSWERS = {
    p: {
        "result": "information_found",
        "details": f"Synthetic {p} record",
        "answered_by": f"A. Synthetic ({p})",
    }
    for p in PARTNERS
}


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy (its value), within a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        try:
            found = await check()
        except httpx.TransportError:  # the process is (re)starting
            found = None
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    """The three processes, each killed and restarted by name; their logs appended."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.ports = {"teams": free_port(), "connectors": free_port(), "router": free_port()}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def start(self, *names: str) -> None:
        """Start ``names`` together; return once each is ready."""
        for name in names:
            port = str(self.ports[name])
            args = {
                "teams": ["teams", "serve", "--port", port],
                "connectors": ["connectors", "serve", "--port", port],
                "router": ["router", "run"],
            }[name]
            env = self.env | ({"HUB_ROUTER__METRICS_PORT": port} if name == "router" else {})
            self.procs[name] = start(args, env, self.log(name))
        for name in names:
            ready = self.url(name) + ("/health/ready" if name == "router" else "/health")
            wait_http_ready(ready, self.procs[name], self.log(name))

    def kill(self, name: str) -> None:
        """SIGKILL: no signal handler, no shutdown, nothing flushed."""
        proc = self.procs.pop(name)
        proc.kill()
        assert proc.wait(10) == -9

    def stop_all(self) -> dict[str, int]:
        return {name: stop(proc) for name, proc in self.procs.items()}

    def assert_clean(self, statuses: dict[str, int]) -> None:
        """Each last run exited 0 on SIGTERM; no log of any run names the child or an answer."""
        for name, status in statuses.items():
            log = self.log(name).read_text()
            assert status == 0, log[-2000:]
            assert "Testchild" not in log
            assert not any(a["details"] in log for a in ANSWERS.values())


async def open_checks(client: httpx.AsyncClient, partner: str, auth: dict[str, str]) -> Any:
    """The partner's open checks, or None while the restarted ingest rebuilds its index."""
    listed = await client.get(f"/v1/{partner}/checks", headers=auth)
    if listed.status_code == 503:
        return None
    assert listed.status_code == 200, listed.text
    return listed.json()["checks"]


async def listed_empty(client: httpx.AsyncClient, partner: str, auth: dict[str, str]) -> bool:
    """True once the restarted ingest answers, with no open check of ``partner``."""
    listed = await open_checks(client, partner, auth)
    if listed is None:
        return False
    assert listed == [], listed
    return True


async def answer(
    client: httpx.AsyncClient, partner: str, check_id: str, auth: dict[str, str]
) -> int:
    url = f"/v1/{partner}/checks/{check_id}/response"
    response = await client.post(url, json=ANSWERS[partner], headers=auth)
    return response.status_code


def credentials(env: dict[str, str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Police's and health's credentials (``hub partners add``), and the MASH's API token."""

    def bearer(*command: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + hub_command(*command, env=env).split()[-1]}

    partners = {p: bearer("partners", "add", p, *org_args(Partner(p))) for p in PARTNERS}
    return partners, bearer("teams", "add-client", "mash")


def attached_once(checks: list[dict[str, Any]], ids: dict[str, str]) -> None:
    """The message's checks: each asked one once, each with its partner's answer."""
    assert sorted((c["partner"], c["check_id"]) for c in checks) == sorted(ids.items())
    for c in checks:
        assert c["status"] == "answered"
        assert c["details"] == ANSWERS[c["partner"]]["details"]
        assert c["answered_by"] == ANSWERS[c["partner"]]["answered_by"]


async def on_kafka_once(kafka: KafkaSettings, ids: dict[str, str], key: bytes) -> None:
    """Each check asked once on ``hub.checks``, answered once on ``hub.check-responses``."""
    topics = ("hub.checks", "hub.check-responses")
    read = await asyncio.gather(*(read_topic(kafka, t, idle_s=3) for t in topics))
    for records in read:  # read_committed, to the end
        assert sorted(json.loads(r.value)["check_id"] for r in records) == sorted(ids.values())
        assert {r.key for r in records} == {key}


@pytest.mark.timeout(180)
async def test_every_check_and_answer_survives_a_sigkill_of_each_process(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """Ask, kill, answer, kill, answer, kill: each check and each answer exactly once."""
    keyring = hub_for(hub_topics, tmp_path)  # the keys, and a partner to send contacts
    env = hub_env(hub_topics, tmp_path, HUB_TEAMS__AREAS='["mash"]', HUB_TEAMS__INSTANCE="kill")
    auth, mash = credentials(env)
    child = subject(given_name="Testchild", family_name="Synthetic")
    first, second = (
        envelope(subjects=[child], risk=risk(RiskLevel.HIGH), narrative="Synthetic")
        for _ in range(2)
    )
    message = f"/api/v1/areas/mash/messages/{first.message_id}"
    processes = Processes(env, tmp_path)
    try:
        processes.start("router", "teams", "connectors")
        async with (
            httpx.AsyncClient(base_url=processes.url("teams"), headers=mash) as team,
            httpx.AsyncClient(base_url=processes.url("connectors")) as ingest,
        ):

            async def in_queue(message_id: object) -> Any:
                found = await team.get(f"/api/v1/areas/mash/messages/{message_id}")
                return found.json() if found.status_code == 200 else None

            async def attached(want: int) -> Any:
                checks = (await team.get(message)).json()["checks"]
                done = [c for c in checks if c["status"] == "answered"]
                return checks if len(done) >= want else None

            await produce(keyring, [first])
            await until(lambda: in_queue(first.message_id), "the contact in the MASH queue")
            asked = await team.post(f"{message}/checks", json=ASK)
            assert asked.status_code == 201, asked.text
            ids = {c["partner"]: c["check_id"] for c in asked.json()["checks"]}
            assert sorted(ids) == sorted(PARTNERS)

            # 1. The ingest dies right after the ask; restarted, it finds both checks again.
            processes.kill("connectors")
            processes.start("connectors")
            for p in PARTNERS:
                listed = await until(
                    partial(open_checks, ingest, p, auth[p]), f"{p}'s check after a restart"
                )
                assert [c["check_id"] for c in listed] == [ids[p]]
                assert listed[0]["question"] == "Known to you?"
            assert await answer(ingest, "police", ids["police"], auth["police"]) == 201

            # 2. The team app dies right after police's answer; health answers meanwhile.
            processes.kill("teams")
            assert await answer(ingest, "health", ids["health"], auth["health"]) == 201

            # 3. The ingest dies again right after the last answer; it still refuses a second.
            processes.kill("connectors")
            processes.start("connectors")
            for p in PARTNERS:
                assert await until(partial(listed_empty, ingest, p, auth[p]), f"{p} synced")
                assert await answer(ingest, p, ids[p], auth[p]) == 409

            # 4. The router dies with a second contact in flight; checks are none of its business.
            await produce(keyring, [second])
            processes.kill("router")
            processes.start("router", "teams")
            checks = await until(lambda: attached(2), "both answers attached after the restarts")
            later = await until(lambda: in_queue(second.message_id), "the second contact")
            assert later["checks"] == []

            attached_once(checks, ids)
            assert (await team.get(f"{message}/checks")).json() == checks
            for p in PARTNERS:  # still answered once, with every process restarted
                assert await answer(ingest, p, ids[p], auth[p]) == 409
    finally:
        statuses = processes.stop_all()
    processes.assert_clean(statuses)

    await on_kafka_once(hub_topics, ids, first.subject_key.encode())
