"""A manager in a real browser: a decision awaiting authorisation, the chronology, authorise.

The real router routes three messages (a sibling's, then two about the child, all at
one address) to the real ``hub teams serve``; a practitioner records a MASH threshold
decision on the child's latest message; the manager sees it awaiting authorisation
(and the scorecard counts it), reads the child's chronology including the sibling's
earlier contact marked household, and authorises it with a rationale.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from hub.settings import KafkaSettings
from schemas.common import Area, RiskLevel
from schemas.envelope import Envelope
from schemas.outcome import Outcome, OutcomeRecorded
from tests.e2e.processes import wait_http_ready
from tests.e2e.test_team_browser import (
    browser,  # noqa: F401 -- the fixture
    browser_env,
    browser_stack,
    chromium,  # noqa: F401 -- the fixture
    sign_in,
    teams_cli,
    wait_queued,
)
from tests.factories import NOW, envelope, key, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic

HOME = key("browser-household")


def concern(label: str, name: str, hours_ago: float) -> Envelope:
    return envelope(
        subjects=[subject(label=label, given_name=name, household_key=HOME)],
        risk=risk(RiskLevel.HIGH),
        narrative=f"Synthetic narrative about {name}",
        received_at=NOW - timedelta(hours=hours_ago),
        occurred_at=NOW - timedelta(hours=hours_ago + 1),
        reported_at=NOW - timedelta(hours=hours_ago + 0.5),
    )


async def awaiting_on_scorecard(page: Page, monitor: str, want: int) -> None:
    """Refresh the scorecard until the decisions awaiting authorisation are ``want``."""
    figure = page.locator(".figure", has_text="awaiting a manager's authorisation").locator("b")
    await page.goto(f"{monitor}/")
    for _ in range(90):
        if await figure.count() and (await figure.inner_text()).strip() == str(want):
            return
        await page.wait_for_timeout(1000)
        await page.get_by_role("button", name="Refresh").click()
    raise AssertionError(f"the scorecard never showed {want} awaiting authorisation")


async def practitioner_decides(chrome: Browser, base: str, message: str, password: str) -> None:
    """Mia records no further action on the child's latest message: it awaits a manager."""
    page = await chrome.new_page()
    await sign_in(page, base, "mia", password)
    await page.goto(message)
    await page.get_by_role("combobox", name="Outcome").select_option(
        Outcome.NO_FURTHER_ACTION.value
    )
    await page.get_by_role("textbox", name="Rationale").fill(
        "Synthetic: no further action; the family is known and supported"
    )
    await page.get_by_role("button", name="Record outcome").click()
    await expect(page.get_by_text("Awaiting a manager's authorisation")).to_be_visible()
    await page.close()


async def manager_authorises(chrome: Browser, base: str, password: str) -> None:
    """Sam finds it awaiting, reads the chronology with the sibling, and authorises."""
    page = await chrome.new_page()
    await sign_in(page, base, "sam", password)
    await expect(page.get_by_role("heading", name="MASH queue")).to_be_visible()
    await page.get_by_role("link", name="Awaiting authorisation").click()
    await expect(page.get_by_role("table")).to_contain_text("Decided, awaiting authorisation")
    await page.get_by_role("link", name="police.notification.child_concern").click()
    chronology = page.get_by_role("table", name="Earlier contacts, newest first")
    await expect(chronology.get_by_role("row")).to_have_count(3)  # header and two contacts
    await expect(chronology).to_contain_text("this child")
    await expect(chronology).to_contain_text("household")
    await page.get_by_role("combobox", name="Decision").select_option("authorise")
    await page.get_by_role("button", name="Record authorisation").click()
    await expect(page.get_by_role("alert")).to_contain_text("rationale")
    await page.get_by_role("textbox", name="Manager's rationale").fill(
        "Synthetic: agreed, having read the sibling's earlier contact"
    )
    await page.get_by_role("button", name="Record authorisation").click()
    await expect(page.get_by_text("Authorised by sam")).to_be_visible()
    await page.goto(f"{base}/areas/mash/oversight")
    await expect(page.get_by_role("heading", name="MASH oversight")).to_be_visible()
    await page.close()


@pytest.mark.timeout(300)
async def test_a_manager_authorises_with_the_family_history_in_view(
    hub_topics: KafkaSettings,
    tmp_path: Path,
    browser: Browser,  # noqa: F811 -- the fixture
) -> None:
    """Awaiting authorisation, the chronology with the sibling, authorised with a rationale."""
    hub = hub_for(hub_topics, tmp_path)
    env = browser_env(hub_topics, tmp_path, '["mash"]')
    sibling = concern("browser-sibling", "Testsibling", 48)
    earlier = concern("browser-child", "Testchild", 24)
    latest = concern("browser-child", "Testchild", 0)
    mia = teams_cli(["add-user", "mia", "mash"], env).strip().splitlines()[-1]
    sam = teams_cli(["add-user", "sam", "mash", "--role", "manager"], env).strip().splitlines()[-1]

    with browser_stack(env, tmp_path) as stack:
        base, monitor = stack.base, stack.monitor
        await produce(hub, [sibling, earlier])
        await read_topic(hub_topics, "hub.decisions", expected=2, timeout_s=120)
        await produce(hub, [latest])
        await read_topic(hub_topics, "hub.decisions", expected=3, timeout_s=120)
        wait_http_ready(f"{base}/health", stack.teams, stack.teams_log)
        await wait_queued(base, Area.MASH.value, 3)
        message = f"{base}/areas/mash/messages/{latest.message_id}"

        await practitioner_decides(browser, base, message, mia)
        board = await browser.new_page()
        await awaiting_on_scorecard(board, monitor, 1)
        await manager_authorises(browser, base, sam)
        await awaiting_on_scorecard(board, monitor, 0)
        await board.close()
        records = await read_topic(hub_topics, "team.outcomes", expected=2, idle_s=1.0)
        outcomes = [OutcomeRecorded.model_validate_json(r.value) for r in records]
        decision, authorisation = sorted(outcomes, key=lambda o: o.decided_at)
        assert decision.decided_by == "mia"
        assert authorisation.decided_by == "sam"
        assert authorisation.authorises == decision.outcome_id
        assert authorisation.authorisation == "authorise"
    assert "Testsibling" not in stack.teams_log.read_text()
