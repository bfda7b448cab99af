"""Partner staff answer checks in a browser: sign in, see their own checks, answer once."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from hub.bootstrap import Hub
from hub.partners.accounts import PartnerAccounts
from hub.partners.page import PartnerPages, add_partner_pages
from hub.teams.ratelimit import SignInLimiter
from hub.web import TokenBuckets
from schemas.checks import CheckPartner
from schemas.common import Area, RiskLevel
from tests.factories import NOW, envelope, risk
from tests.unit.checks.checkkit import Ingest, ingest, team_checks
from tests.unit.checks.test_flow import deliver
from tests.unit.teams.teamkit import TeamApp, make_deps, queue, running_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def team(hub: Hub, tmp_path: Path) -> AsyncIterator[TeamApp]:
    deps = make_deps(hub, tmp_path / "teams", (Area.MASH,))
    deps = dataclasses.replace(deps, checks=team_checks(hub, tmp_path / "teams"))
    async with running_app(deps) as app:
        yield app


@dataclasses.dataclass
class Staff:
    client: httpx.AsyncClient
    partners: Ingest
    accounts: PartnerAccounts


@pytest.fixture
async def staff(hub: Hub, tmp_path: Path, team: TeamApp) -> AsyncIterator[Staff]:
    async with ingest(hub, tmp_path / "ingest", NOW + timedelta(hours=1)) as partners:
        accounts = PartnerAccounts(tmp_path / "partner-accounts.sqlite")
        pages = PartnerPages(
            checks=partners.checks,
            accounts=accounts,
            limiter=SignInLimiter(TokenBuckets(3, 0.001), TokenBuckets(100, 1)),
            clock=lambda: NOW,
        )
        app = create_app_with_pages(partners, pages)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            contact = envelope(risk=risk(RiskLevel.HIGH))
            queue(team.deps.store, hub, contact, Area.MASH)
            url = f"/api/v1/areas/mash/messages/{contact.message_id}/checks"
            auth = {"Authorization": f"Bearer {team.deps.accounts.add_client(Area.MASH)}"}
            body = {
                "partners": ["education", "probation"],
                "urgency": "amber",
                "question": "Known at school?",
            }
            assert (await team.client.post(url, json=body, headers=auth)).status_code == 201
            deliver(team, partners)
            yield Staff(client, partners, accounts)
        accounts.close()


def create_app_with_pages(partners: Ingest, pages: PartnerPages) -> object:
    app = partners.client._transport.app  # type: ignore[attr-defined]
    add_partner_pages(app, pages)
    return app


async def sign_in(
    client: httpx.AsyncClient, partner: str, username: str, password: str
) -> httpx.Response:
    form = await client.get(f"/partners/{partner}/sign-in")
    found = CSRF.search(form.text)
    assert found is not None
    data = {"username": username, "password": password, "csrf_token": found.group(1)}
    return await client.post(f"/partners/{partner}/sign-in", data=data)


class TestPartnerPage:
    async def test_staff_see_their_own_checks_and_answer_once(
        self, staff: Staff, team: TeamApp
    ) -> None:
        """Sign in, see education's check (not probation's), answer; it reaches the MASH."""
        password = staff.accounts.add_user(CheckPartner.EDUCATION, "sam.teacher")
        signed = await sign_in(staff.client, "education", "sam.teacher", password)
        assert signed.status_code == 303
        page = await staff.client.get("/partners/education/checks")
        assert page.status_code == 200
        assert "Known at school?" in page.text
        assert page.text.count('class="check"') == 1
        assert "x-frame-options" in page.headers or "content-security-policy" in page.headers
        token = CSRF.search(page.text)
        assert token is not None
        check_id = re.search(r'data-check="([^"]+)"', page.text)
        assert check_id is not None
        url = f"/partners/education/checks/{check_id.group(1)}/response"
        forged = await staff.client.post(url, data={"result": "nothing_known", "csrf_token": "x"})
        assert forged.status_code == 403
        missing = await staff.client.post(
            url, data={"result": "information_found", "details": "", "csrf_token": token.group(1)}
        )
        assert missing.status_code == 422
        assert "details" in missing.text
        sent = await staff.client.post(
            url, data={"result": "nothing_known", "details": "", "csrf_token": token.group(1)}
        )
        assert sent.status_code == 303
        again = await staff.client.post(
            url, data={"result": "nothing_known", "details": "", "csrf_token": token.group(1)}
        )
        assert again.status_code == 409
        deliver(team, staff.partners)
        assert team.deps.checks is not None
        assert team.deps.checks.store.counts() == (2, 1)

    async def test_another_partners_page_and_wrong_passwords(self, staff: Staff) -> None:
        """Education's account does not open probation's page; guessing is throttled."""
        password = staff.accounts.add_user(CheckPartner.EDUCATION, "sam.teacher")
        assert (
            await sign_in(staff.client, "probation", "sam.teacher", password)
        ).status_code == 401
        assert (await staff.client.get("/partners/probation/checks")).status_code == 303
        statuses = [
            (await sign_in(staff.client, "education", "sam.teacher", "wrong")).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 429, 429]  # the probation attempt counted too (burst 3)
        assert (
            await sign_in(staff.client, "education", "sam.teacher", password)
        ).status_code == 429

    async def test_without_a_session_every_page_sends_to_sign_in(self, staff: Staff) -> None:
        """No cookie, or a made-up one."""
        staff.client.cookies.set("hub_partner_education", "made-up")
        assert (await staff.client.get("/partners/education/checks")).status_code == 303
        post = await staff.client.post("/partners/education/checks/x/response", data={})
        assert post.status_code == 303
