"""A MASH practitioner asks police and health in a real browser and sees both answers.

The real ``hub router run``, ``hub teams serve`` and ``hub connectors serve`` processes
on the local broker; Debian's Chromium driven by Playwright (as in
``test_team_browser.py``). Police and health answer with plain HTTP and their own
credentials (``hub partners add``), as a partner's system would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from hub.settings import KafkaSettings
from schemas.common import Area, Partner, RiskLevel, SubjectRole
from tests.e2e.processes import free_port, hub_env, partner_token, start, stop, wait_http_ready
from tests.e2e.test_team_browser import (  # the browser fixtures too
    browser,  # noqa: F401
    chromium,  # noqa: F401
    run_teams,
    sign_in,
    teams_cli,
    wait_queued,
)
from tests.factories import envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic

ANSWERS = {
    "police": "Synthetic: two call-outs to the address this year.",
    "health": "Synthetic: missed health visitor appointments.",
}


async def partner_answers(ingest: str, partner: str, token: str, timeout_s: float = 90) -> None:
    """The partner's system: wait for its open check, read it, answer it once."""
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=ingest) as client, asyncio.timeout(timeout_s):
        while True:
            listed = await client.get(f"/v1/{partner}/checks", headers=auth)
            if listed.status_code == 200 and listed.json()["checks"]:
                break
            await asyncio.sleep(0.5)
        (check,) = listed.json()["checks"]
        assert check["question"] == "What do you know about this child and household?"
        assert check["child"]["details"]["given_name"] == "Testchild"
        answer = {
            "result": "information_found",
            "details": ANSWERS[partner],
            "answered_by": f"{partner} officer",
        }
        url = f"/v1/{partner}/checks/{check['check_id']}/response"
        assert (await client.post(url, json=answer, headers=auth)).status_code == 201
        assert (await client.post(url, json=answer, headers=auth)).status_code == 409


async def ask_in_the_browser(page: Page, base: str, password: str) -> None:
    await sign_in(page, base, "mia", password)
    await expect(page.get_by_role("heading", name="MASH queue")).to_be_visible()
    await page.get_by_role("link", name="police.notification.child_concern").click()
    checks = page.get_by_role("region", name="Agency checks")
    await expect(checks).to_contain_text("No partner has been asked yet.")
    await checks.get_by_label("police").check()
    await checks.get_by_label("health").check()
    await checks.get_by_label("Urgency").select_option("red")
    await checks.get_by_label("Question").fill("What do you know about this child and household?")
    await checks.get_by_role("button", name="Ask partners").click()
    await expect(page.locator('tr.check[data-partner="police"]')).to_contain_text("open")
    await expect(page.locator('tr.check[data-partner="health"]')).to_contain_text("open")


async def both_answers_shown(page: Page, timeout_s: float = 90) -> None:
    async with asyncio.timeout(timeout_s):
        while await page.locator('tr.check[data-status="answered"]').count() < 2:
            await asyncio.sleep(1.0)
            await page.reload()
    for partner, text in ANSWERS.items():
        await expect(page.locator(f'tr.check[data-partner="{partner}"]')).to_contain_text(text)


@pytest.mark.timeout(300)
async def test_a_practitioner_asks_police_and_health_and_sees_both_answers(
    hub_topics: KafkaSettings,
    tmp_path: Path,
    browser: Browser,  # noqa: F811 -- the fixture imported above
) -> None:
    """Ask on the message page; police and health answer; both answers are on the page."""
    hub = hub_for(hub_topics, tmp_path)
    env = hub_env(
        hub_topics,
        tmp_path,
        HUB_TEAMS__AREAS='["mash"]',
        HUB_TEAMS__INSTANCE="browser",
    )
    child = subject(given_name="Testchild", family_name="Synthetic")
    mother = subject(SubjectRole.PARENT_CARER, "mother-1", given_name="Testmother")
    contact = envelope(subjects=[child, mother], risk=risk(RiskLevel.HIGH), narrative="Synthetic")
    password = teams_cli(["add-user", "mia", "mash"], env).strip().splitlines()[-1]
    tokens = {p: partner_token(Partner(p), env) for p in ("police", "health")}
    port, ingest_port = free_port(), free_port()
    base, ingest = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ingest_port}"
    logs = {n: tmp_path / f"{n}.log" for n in ("router", "teams", "connectors")}
    router = start(["router", "run"], env, logs["router"])
    teams = run_teams(["serve", "--port", str(port)], env, logs["teams"])
    connectors = start(["connectors", "serve", "--port", str(ingest_port)], env, logs["connectors"])
    try:
        await produce(hub, [contact])
        await read_topic(hub_topics, "hub.decisions", expected=1, timeout_s=120)
        wait_http_ready(f"{base}/health", teams, logs["teams"])
        wait_http_ready(f"{ingest}/health", connectors, logs["connectors"])
        await wait_queued(base, Area.MASH.value, 1)
        page = await browser.new_page()
        await ask_in_the_browser(page, base, password)
        await asyncio.gather(*(partner_answers(ingest, p, t) for p, t in tokens.items()))
        await both_answers_shown(page)
        await page.close()
    finally:
        statuses = {
            n: stop(p)
            for n, p in (("teams", teams), ("router", router), ("connectors", connectors))
        }
    for name, status in statuses.items():
        assert status == 0, logs[name].read_text()[-2000:]
    for log in logs.values():
        text = log.read_text()
        assert "Testchild" not in text
        assert "Synthetic: two call-outs" not in text
