"""Health, /metrics and the monitor give no counts per area to anyone but operators.

The team app's ``/health`` listed every area's undecided count, the ingest's the
number of messages known, and the monitor served lag, SLA breaches and volumes per
area and partner to whoever could reach it. Now, without the ops token (or, with
none configured, from anywhere but loopback), ``/health`` says only whether the
process is ready and the rest is refused.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from hub.ingest.app import create_app as ingest_app
from hub.monitor.service import MonitorState
from hub.monitor.web import create_app as monitor_app
from hub.teams.app import create_app as team_app
from hub.teams.deps import TeamDeps
from tests.security.conftest import ELSEWHERE, client_at, running
from tests.security.servekit import ingest_deps

TOKEN = "ops-token-for-tests"
MONITOR_PATHS = ("/", "/metrics", "/api/status")


class TestWithoutAToken:
    async def test_health_from_elsewhere_says_only_ready(
        self, team_deps: TeamDeps, tmp_path: Path
    ) -> None:
        team = team_app(team_deps)
        deps, _ = ingest_deps(tmp_path)
        ingest = ingest_app(deps)
        async with running(team), running(ingest):
            async with client_at(team, ELSEWHERE) as client:
                team_health = (await client.get("/health")).json()
            async with client_at(ingest, ELSEWHERE) as client:
                ingest_health = (await client.get("/health")).json()
            async with client_at(team, "127.0.0.1") as client:
                local = (await client.get("/health")).json()
        assert team_health == {"ready": True}
        assert ingest_health == {"ready": True}
        assert "undecided" in local

    @pytest.mark.parametrize("path", MONITOR_PATHS)
    async def test_the_monitor_refuses_other_hosts(self, path: str) -> None:
        app = monitor_app(MonitorState())
        async with running(app), client_at(app, ELSEWHERE) as client:
            answer = await client.get(path)
            health = await client.get("/health")
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "application/problem+json"
        assert health.json() == {"ready": False}

    @pytest.mark.parametrize("path", MONITOR_PATHS[:2])
    async def test_the_monitor_serves_loopback(self, path: str) -> None:
        app = monitor_app(MonitorState())
        async with running(app), client_at(app, "127.0.0.1") as client:
            assert (await client.get(path)).status_code == 200


class TestWithAToken:
    @pytest.mark.parametrize("path", MONITOR_PATHS[:2])
    async def test_loopback_alone_is_not_enough(self, path: str) -> None:
        """A reverse proxy on the same host would make everyone loopback."""
        app = monitor_app(MonitorState(), ops_token=SecretStr(TOKEN))
        async with running(app), client_at(app, "127.0.0.1") as client:
            anonymous = await client.get(path)
            wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
            bearer = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            basic = base64.b64encode(f"ops:{TOKEN}".encode()).decode()
            browser = await client.get(path, headers={"Authorization": f"Basic {basic}"})
        assert anonymous.status_code == 401
        assert "Basic" in anonymous.headers["www-authenticate"]
        assert wrong.status_code == 401
        assert bearer.status_code == 200
        assert browser.status_code == 200

    async def test_health_details_with_the_token(self, team_deps: TeamDeps) -> None:
        team_deps.ops_token = SecretStr(TOKEN)
        app = team_app(team_deps)
        async with running(app), client_at(app, ELSEWHERE) as client:
            plain = (await client.get("/health")).json()
            detailed = await client.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert plain == {"ready": True}
        assert set(detailed.json()) >= {"ready", "undecided", "areas"}


def test_a_malformed_basic_header_is_refused() -> None:
    from hub.web.ops import presented_secret  # noqa: PLC0415

    assert presented_secret("Basic !!!not-base64") is None
    assert presented_secret("Digest x") is None
    assert presented_secret("Bearer ") is None


async def test_metrics_answer_prometheus_text_to_an_operator() -> None:
    app = monitor_app(MonitorState(), ops_token=SecretStr(TOKEN))
    transport = httpx.ASGITransport(app=app, client=(ELSEWHERE, 1))
    async with (
        running(app),
        httpx.AsyncClient(transport=transport, base_url="http://m") as client,
    ):
        answer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
