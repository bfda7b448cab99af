"""The pages work under the Content Security Policy they are sent with.

``default-src 'none'; style-src 'self'`` blocks every script, inline style and
event-handler attribute and every resource from elsewhere: a page that relied on one
would break in a browser (or push someone to loosen the policy). The pages must need
none: only the app's own stylesheet, forms posting to the app itself.
"""

from __future__ import annotations

import re

import pytest

from hub.monitor.service import MonitorState
from hub.monitor.web import create_app as monitor_app
from hub.teams.app import create_app as team_app
from hub.teams.deps import TeamDeps
from hub.web import SECURITY_HEADERS
from schemas.common import Area
from tests.security.conftest import OFFICE, client_at, running
from tests.security.test_sign_in import sign_in

BLOCKED = [
    re.compile(r"<script", re.IGNORECASE),
    re.compile(r"<style", re.IGNORECASE),
    re.compile(r"\sstyle\s*=", re.IGNORECASE),
    re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    re.compile(r"javascript:", re.IGNORECASE),
    re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE),
]


def assert_csp_clean(html: str, csp: str) -> None:
    assert csp == SECURITY_HEADERS["Content-Security-Policy"]
    for pattern in BLOCKED:
        assert not pattern.search(html), pattern.pattern


async def test_team_pages(team_deps: TeamDeps) -> None:
    password = team_deps.accounts.add_user("alice", Area.MASH)
    app = team_app(team_deps)
    async with running(app), client_at(app, OFFICE) as client:
        form = await client.get("/sign-in")
        assert_csp_clean(form.text, form.headers["content-security-policy"])
        assert (await sign_in(client, "alice", password)).status_code == 303
        for path in ("/areas/mash/queue", "/areas/mash/queue?status=all", "/areas/lado/queue"):
            page = await client.get(path)
            assert page.status_code in {200, 403}
            assert_csp_clean(page.text, page.headers["content-security-policy"])


@pytest.mark.parametrize("state", [MonitorState()], ids=["first-sample-pending"])
async def test_monitor_page(state: MonitorState) -> None:
    app = monitor_app(state)
    async with running(app), client_at(app, "127.0.0.1") as client:
        page = await client.get("/")
    assert page.status_code == 200
    assert_csp_clean(page.text, page.headers["content-security-policy"])
