"""Sign-in throttling an attacker cannot turn against a practitioner; malformed tokens.

Throttling per username alone let anyone lock any practitioner out with one wrong
password every 30 seconds; behind a proxy every caller shared one address; and any
local process could set ``X-Forwarded-For``. Now failures count per (username,
client address) and per address, and ``X-Forwarded-For`` is believed only from the
configured proxies.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from hub.settings import HttpSettings
from hub.teams.app import create_app
from hub.teams.deps import TeamDeps
from hub.teams.ratelimit import SignInLimiter
from hub.web import TokenBuckets, address_key
from schemas.common import Area
from tests.security.conftest import ELSEWHERE, OFFICE, client_at, running
from tests.security.servekit import served
from tests.unit.teams.teamkit import csrf_of

SIGN_IN_COOKIE = "hub_team_sign_in"


async def sign_in(
    client: httpx.AsyncClient,
    username: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    form = await client.get("/sign-in", headers=headers)
    token = csrf_of(form.text)
    return await client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
    )


@pytest.fixture
def deps(team_deps: TeamDeps) -> TeamDeps:
    """The shipped limiter (burst 5 per account and address, 30 per address)."""
    team_deps.limiter = SignInLimiter()
    return team_deps


class TestLockOut:
    async def test_an_attacker_elsewhere_cannot_lock_a_practitioner_out(
        self, deps: TeamDeps
    ) -> None:
        """Forty wrong passwords for alice from another address; alice still signs in."""
        password = deps.accounts.add_user("alice", Area.MASH)
        app = create_app(deps)
        async with running(app), client_at(app, ELSEWHERE) as attacker:
            tries = [(await sign_in(attacker, "alice", "guess")).status_code for _ in range(40)]
            async with client_at(app, OFFICE) as alice:
                answer = await sign_in(alice, "Alice", password)
        assert set(tries[:5]) == {401}
        assert 429 in tries
        assert answer.status_code == 303
        assert answer.headers["location"] == "/areas/mash/queue"

    async def test_guessing_is_429_with_retry_after(self, deps: TeamDeps) -> None:
        """From one address, five failures on one account, then 429 with Retry-After."""
        password = deps.accounts.add_user("alice", Area.MASH)
        app = create_app(deps)
        async with running(app), client_at(app, ELSEWHERE) as attacker:
            tries = [(await sign_in(attacker, "alice", "guess")) for _ in range(6)]
            right = await sign_in(attacker, "alice", password)
        assert [t.status_code for t in tries] == [401] * 5 + [429]
        assert int(tries[-1].headers["retry-after"]) > 0
        assert right.status_code == 429  # even the right password waits there

    async def test_successes_never_lock_out(self, deps: TeamDeps) -> None:
        """A practitioner signing in again and again is never throttled (only failures count)."""
        password = deps.accounts.add_user("alice", Area.MASH)
        app = create_app(deps)
        answers = []
        async with running(app):
            for _ in range(8):
                async with client_at(app, OFFICE) as alice:
                    answers.append((await sign_in(alice, "alice", password)).status_code)
        assert answers == [303] * 8

    async def test_an_ipv6_host_is_one_client_across_its_64(self, deps: TeamDeps) -> None:
        """Rotating addresses inside one /64 does not escape the limit."""
        deps.accounts.add_user("alice", Area.MASH)
        app = create_app(deps)
        statuses = []
        async with running(app):
            for host in range(1, 8):
                async with client_at(app, f"2001:db8:1:2::{host:x}") as attacker:
                    statuses.append((await sign_in(attacker, "alice", "guess")).status_code)
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429, 429]
        assert address_key("2001:db8:1:2::7") == address_key("2001:db8:1:2:ffff::1")
        assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")


class TestForwardedFor:
    def test_x_forwarded_for_is_ignored_without_trusted_proxies(self, deps: TeamDeps) -> None:
        """A local process spraying passwords with a new X-Forwarded-For each time is throttled.

        uvicorn's default believes X-Forwarded-For from 127.0.0.1, which let it pose
        as a new client on every attempt.
        """
        deps.limiter = SignInLimiter(per_address=TokenBuckets(burst=5, per_s=1 / 3600))
        with served(create_app(deps), HttpSettings()) as port:
            statuses = asyncio.run(_spray(port, 7))
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429, 429]

    def test_x_forwarded_for_is_believed_from_a_configured_proxy(self, deps: TeamDeps) -> None:
        """Behind a configured proxy, clients are told apart by the address it names."""
        password = deps.accounts.add_user("alice", Area.MASH)
        settings = HttpSettings(trusted_proxies=("127.0.0.0/8",))
        with served(create_app(deps), settings) as port:
            statuses = asyncio.run(_lock_out_via_proxy(port, password))
        attacker, alice = statuses
        assert 429 in attacker
        assert alice == 303


async def _spray(port: int, accounts: int) -> list[int]:
    statuses = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(accounts):
            spoofed = {"X-Forwarded-For": f"192.0.2.{i + 1}"}
            statuses.append((await sign_in(client, f"user{i}", "guess", spoofed)).status_code)
    return statuses


async def _lock_out_via_proxy(port: int, password: str) -> tuple[list[int], int]:
    attacker_hop = {"X-Forwarded-For": f"{OFFICE}, {ELSEWHERE}"}  # a spoofed first hop
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as proxy:
        attacker = [
            (await sign_in(proxy, "alice", "guess", attacker_hop)).status_code for _ in range(8)
        ]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as proxy:
        alice = await sign_in(proxy, "alice", password, {"X-Forwarded-For": OFFICE})
    return attacker, alice.status_code


class TestMalformedTokens:
    @pytest.mark.parametrize("token", ["é" * 43, "\u2028", "a\x00b"], ids=["accent", "ls", "nul"])
    async def test_a_malformed_sign_in_token_is_403(self, deps: TeamDeps, token: str) -> None:
        """A non-ASCII token used to crash the comparison: 500. Now 403."""
        deps.accounts.add_user("alice", Area.MASH)
        app = create_app(deps)
        async with running(app), client_at(app, OFFICE) as client:
            await client.get("/sign-in")
            answer = await client.post(
                "/sign-in", data={"username": "alice", "password": "x", "csrf_token": token}
            )
        assert answer.status_code == 403

    async def test_a_malformed_sign_in_cookie_is_403(self, deps: TeamDeps) -> None:
        app = create_app(deps)
        cookie = f"{SIGN_IN_COOKIE}=\u00e9t\u00e9".encode("latin-1")
        async with running(app), client_at(app, OFFICE) as client:
            answer = await client.post(
                "/sign-in",
                data={"username": "alice", "password": "x", "csrf_token": "\u00e9t\u00e8"},
                headers={"Cookie": cookie},  # type: ignore[dict-item]
            )
        assert answer.status_code == 403

    async def test_a_malformed_form_token_on_an_outcome_is_403(self, deps: TeamDeps) -> None:
        password = deps.accounts.add_user("alice", Area.MASH)
        app = create_app(deps)
        async with running(app), client_at(app, OFFICE) as client:
            assert (await sign_in(client, "alice", password)).status_code == 303
            answer = await client.post(
                "/sign-out", data={"csrf_token": "\u00e9" * 43}, follow_redirects=False
            )
        assert answer.status_code == 403
        assert re.search("Form expired", answer.text)
