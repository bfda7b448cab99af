"""A practitioner in a real browser, on the real ``hub teams serve`` fed by the real router.

Headless Chromium from Debian (``/usr/bin/chromium``, installed with ``apt-get install -y
chromium``) driven by Playwright's Python package: sign in, see the queue, open a
message, be refused a blank rationale, record an outcome, see it decided; and the
manager's scorecard (``hub monitor run``) changes when the outcome is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from hub.settings import KafkaSettings
from hub.teams.validation import RATIONALE_REQUIRED
from schemas.common import Area, RiskLevel
from schemas.outcome import Outcome, OutcomeRecorded
from tests.e2e.processes import free_port, hub_env, start, stop, wait_http_ready
from tests.factories import envelope, risk, subject
from tests.integration.routerkit import hub_for, produce, read_topic
from tests.unit.teams.teamkit import teams_command

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_teams(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``hub teams ...`` as a process (the module itself until ``teams`` is registered)."""
    command = teams_command()
    if command[:2] == ["-m", "hub"]:
        return start(["teams", *args], env, log)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *command, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def teams_cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *teams_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; the test fails (never skips) without it."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: install it with `apt-get install -y chromium`")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@dataclass(frozen=True)
class BrowserStack:
    """The real router, ``hub teams serve`` and the manager's scorecard, as processes."""

    base: str
    """The team app's address."""
    monitor: str
    """The scorecard's address."""
    teams: subprocess.Popen[bytes]
    teams_log: Path


def browser_env(hub_topics: KafkaSettings, tmp_path: Path, areas: str) -> dict[str, str]:
    """The environment of the processes: this test's topics, the team app for ``areas``."""
    return hub_env(
        hub_topics,
        tmp_path,
        HUB_TEAMS__STATE_DIR=str(tmp_path / "teams"),
        HUB_TEAMS__AREAS=areas,
        HUB_TEAMS__INSTANCE="browser",
    )


@contextlib.contextmanager
def browser_stack(env: dict[str, str], tmp_path: Path) -> Iterator[BrowserStack]:
    """Start the router, the team app and the scorecard; stop them, each must exit cleanly."""
    port, monitor_port = free_port(), free_port()
    router_log, teams_log = tmp_path / "router.log", tmp_path / "teams.log"
    monitor_log = tmp_path / "monitor.log"
    router = start(["router", "run"], env, router_log)
    teams = run_teams(["serve", "--port", str(port)], env, teams_log)
    scorecard = start(
        ["monitor", "run", "--port", str(monitor_port)],
        env | {"HUB_MONITOR__INTERVAL_S": "1"},
        monitor_log,
    )
    try:
        yield BrowserStack(
            f"http://127.0.0.1:{port}", f"http://127.0.0.1:{monitor_port}", teams, teams_log
        )
    finally:
        teams_status = stop(teams)
        router_status = stop(router)
        monitor_status = stop(scorecard)
    assert monitor_status == 0, monitor_log.read_text()[-2000:]
    assert teams_status == 0, teams_log.read_text()[-2000:]
    assert router_status == 0, router_log.read_text()[-2000:]


async def wait_queued(base: str, area: str, count: int, timeout_s: float = 90) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(timeout_s):
        while True:
            health = (await client.get(f"{base}/health")).json()
            if health["undecided"].get(area, 0) >= count:
                return
            await asyncio.sleep(0.3)


async def sign_in(page: Page, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def practitioner_session(browser: Browser, base: str, password: str) -> None:
    """What mia (MASH) does in the browser, checking each screen."""
    page = await browser.new_page()
    await sign_in(page, base, "mia", password)
    await expect(page.get_by_role("heading", name="MASH queue")).to_be_visible()
    table = page.get_by_role("table")
    await expect(table).to_contain_text("police.notification.child_concern")
    await expect(table).to_contain_text("On time")
    await expect(table).not_to_contain_text("health.safeguarding_concern")

    await page.get_by_role("link", name="police.notification.child_concern").click()
    await expect(page.get_by_text("Synthetic narrative for the browser")).to_be_visible()
    await expect(page.get_by_role("rowheader", name="Testchild Synthetic")).to_be_visible()

    await page.get_by_role("combobox", name="Outcome").select_option(Outcome.S17_ASSESSMENT.value)
    await page.get_by_role("button", name="Record outcome").click()
    await expect(page.get_by_role("alert")).to_contain_text(RATIONALE_REQUIRED)
    await expect(page.get_by_role("textbox", name="Rationale")).to_have_attribute(
        "aria-invalid", "true"
    )
    await expect(page.get_by_role("combobox", name="Outcome")).to_have_value(
        Outcome.S17_ASSESSMENT.value
    )

    await page.get_by_role("textbox", name="Rationale").fill(
        "Synthetic: significant harm; s17 assessment"
    )
    await page.get_by_role("button", name="Record outcome").click()
    await expect(page.get_by_role("status")).to_contain_text("The outcome was recorded.")
    await expect(page.get_by_text("Section 17 assessment")).to_be_visible()

    await page.get_by_role("link", name="Back to the MASH queue").click()
    await expect(page.get_by_text("No undecided messages.")).to_be_visible()
    await page.get_by_role("link", name="Decided", exact=True).click()
    await expect(page.get_by_role("table")).to_contain_text("Decided")

    await page.goto(f"{base}/areas/early-help/queue")
    await expect(page.get_by_role("heading", name="Not your area")).to_be_visible()
    await page.close()


async def undecided_on_scorecard(
    page: Page, monitor: str, want: int, timeout_s: float = 90
) -> None:
    """Refresh the scorecard with its own button until "routed, not yet decided" is ``want``.

    The page never refreshes itself (no meta refresh), and its tables are named by
    their captions for screen readers.
    """
    figure = page.locator(".figure", has_text="routed, not yet decided").locator("b")
    await page.goto(f"{monitor}/")
    assert await page.locator('meta[http-equiv="refresh"]').count() == 0
    async with asyncio.timeout(timeout_s):
        while True:
            if await figure.count() and (await figure.inner_text()).strip() == str(want):
                queues = page.get_by_role("table", name="Lag and consumer status")
                await expect(queues.get_by_role("rowheader", name="mash")).to_be_visible()
                return
            await asyncio.sleep(1.0)
            await page.get_by_role("button", name="Refresh").click()


@pytest.mark.timeout(300)
async def test_practitioner_records_an_outcome_in_the_browser(
    hub_topics: KafkaSettings, tmp_path: Path, browser: Browser
) -> None:
    """Sign in, see the MASH queue, open a message, blank rationale refused, outcome recorded."""
    hub = hub_for(hub_topics, tmp_path)
    env = browser_env(hub_topics, tmp_path, '["mash", "early-help"]')
    mash = envelope(risk=risk(RiskLevel.HIGH), narrative="Synthetic narrative for the browser")
    early = envelope("health.safeguarding_concern", [subject(label="eh-child")])
    password = teams_cli(["add-user", "mia", "mash"], env).strip().splitlines()[-1]

    with browser_stack(env, tmp_path) as stack:
        base, monitor = stack.base, stack.monitor
        await produce(hub, [mash, early])
        await read_topic(hub_topics, "hub.decisions", expected=2, timeout_s=120)
        wait_http_ready(f"{base}/health", stack.teams, stack.teams_log)
        await wait_queued(base, Area.MASH.value, 1)

        # The manager's scorecard, before and after the practitioner decides.
        manager = await browser.new_page()
        await undecided_on_scorecard(manager, monitor, 2)
        await practitioner_session(browser, base, password)
        await undecided_on_scorecard(manager, monitor, 1)
        await manager.close()
        records = await read_topic(hub_topics, "team.outcomes", expected=1, idle_s=1.0)
        outcome = OutcomeRecorded.model_validate_json(records[0].value)
        assert outcome.message_id == mash.message_id
        assert outcome.decided_by == "mia"
        assert outcome.rationale == "Synthetic: significant harm; s17 assessment"
    assert "Testchild" not in stack.teams_log.read_text()
    assert "Synthetic narrative" not in stack.teams_log.read_text()
