"""Health, /metrics and the monitor give no counts per area to anyone but operators.

The team app's ``/health`` listed every area's undecided count, the ingest's the
number of messages known, and the monitor served lag, SLA breaches and volumes per
area and partner to whoever could reach it. Now, without the ops token (or, with
none configured, from anywhere but loopback), ``/health`` says only whether the
process is ready and the rest is refused.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from hub.ingest.app import create_app as ingest_app
from hub.monitor.service import MonitorState
from hub.monitor.web import create_app as monitor_app
from hub.router import metrics as router_metrics_module
from hub.router.metrics import OpsEndpoint, RouterMetrics, answer, serve_ops
from hub.router.service import RouterStats
from hub.teams.app import create_app as team_app
from hub.teams.deps import TeamDeps
from schemas.common import Partner
from tests.security.conftest import ELSEWHERE, client_at, running
from tests.security.servekit import ingest_deps

TOKEN = "ops-token-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


class TestServiceMetrics:
    """The ingest's and the team app's /metrics: operators only, histograms by route template."""

    async def test_refused_without_the_token_served_with_it(
        self, team_deps: TeamDeps, tmp_path: Path
    ) -> None:
        team_deps.ops_token = SecretStr(TOKEN)
        deps, partner_tokens = ingest_deps(tmp_path)
        deps.ops_token = SecretStr(TOKEN)
        team, ingest = team_app(team_deps), ingest_app(deps)
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with running(team), running(ingest):
            async with client_at(team, "127.0.0.1") as client:
                team_anonymous = await client.get("/metrics")
                await client.get("/health")
                team_text = (await client.get("/metrics", headers=bearer)).text
            async with client_at(ingest, ELSEWHERE) as client:
                ingest_anonymous = await client.get("/metrics")
                police = {"Authorization": f"Bearer {partner_tokens[Partner.POLICE]}"}
                await client.get(f"/v1/police/messages/{uuid.uuid4()}", headers=police)
                ingest_text = (await client.get("/metrics", headers=bearer)).text
        assert team_anonymous.status_code == 401
        assert ingest_anonymous.status_code == 401
        assert 'hub_team_undecided_messages{area="mash"}' in team_text
        assert "hub_team_rejected_records_total 0.0" in team_text
        assert 'route="/health"' in team_text
        assert "hub_http_request_duration_seconds_bucket" in ingest_text
        assert 'route="/v1/police/messages/{message_id}"' in ingest_text
        assert "/v1/police/messages/" + "0" not in ingest_text  # never a concrete id

    async def test_per_area_counts_need_loopback_without_a_token(self, team_deps: TeamDeps) -> None:
        app = team_app(team_deps)
        async with running(app), client_at(app, ELSEWHERE) as client:
            answer = await client.get("/metrics")
        assert answer.status_code == 403
        assert "mash" not in answer.text


class TestRouterPort:
    """The router's own port: a probe for anyone, /metrics for operators, no slow client."""

    @staticmethod
    async def _get(port: int, path: str, authorization: str = "") -> tuple[int, str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        extra = f"Authorization: {authorization}\r\n" if authorization else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: router\r\n{extra}\r\n".encode())
        await writer.drain()
        raw = await reader.read()
        writer.close()
        head, _, body = raw.decode().partition("\r\n\r\n")
        return int(head.split()[1]), body

    async def test_access_rule_and_readiness(self) -> None:
        ready = asyncio.Event()
        router_metrics = RouterMetrics(RouterStats, lambda: 3)
        endpoint = OpsEndpoint(ready.is_set, router_metrics, SecretStr(TOKEN))
        stop = asyncio.Event()
        port = free_port()
        server = asyncio.create_task(serve_ops(endpoint, "127.0.0.1", port, stop))
        try:
            await asyncio.sleep(0.2)
            assert (await self._get(port, "/health/ready"))[0] == 503
            ready.set()
            assert await self._get(port, "/health/ready") == (200, '{"ready":true}\n')
            anonymous, body = await self._get(port, "/metrics")
            wrong, _ = await self._get(port, "/metrics", "Bearer nope")
            status, text = await self._get(port, "/metrics", f"Bearer {TOKEN}")
        finally:
            stop.set()
            await server
        assert (anonymous, wrong) == (401, 401)
        assert "hub_router" not in body
        assert status == 200
        assert "hub_router_tasks 3.0" in text

    def test_loopback_only_without_a_token(self) -> None:
        endpoint = OpsEndpoint(lambda: True, RouterMetrics(RouterStats, lambda: 0), None)
        assert answer(endpoint, "GET", "/metrics", ELSEWHERE, "")[0] == 403
        assert answer(endpoint, "GET", "/metrics", "127.0.0.1", "")[0] == 200
        assert answer(endpoint, "GET", "/health", ELSEWHERE, "")[0] == 200
        assert answer(endpoint, "POST", "/metrics", "127.0.0.1", "")[0] == 405

    async def test_a_silent_or_oversized_client_is_cut_off(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(router_metrics_module, "_READ_TIMEOUT_S", 0.5)
        endpoint = OpsEndpoint(lambda: True, RouterMetrics(RouterStats, lambda: 0), None)
        stop = asyncio.Event()
        port = free_port()
        server = asyncio.create_task(serve_ops(endpoint, "127.0.0.1", port, stop))
        try:
            await asyncio.sleep(0.2)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.1\r\n")  # and then nothing
            async with asyncio.timeout(5):
                silent = await reader.read()
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n")
            async with asyncio.timeout(5):
                oversized = await reader.read()
            writer.close()
        finally:
            stop.set()
            await server
        assert silent.startswith(b"HTTP/1.1 400")
        assert oversized.startswith(b"HTTP/1.1 400")


class TestHonestHealth:
    async def test_not_ready_is_503(self, tmp_path: Path) -> None:
        """A probe sees 503 until the ingest's ledger is synced; 200 once it is."""
        deps, _ = ingest_deps(tmp_path)
        app = ingest_app(deps)
        async with running(app), client_at(app, ELSEWHERE) as client:
            deps.ledger.synced.clear()
            waiting = await client.get("/health")
            deps.ledger.synced.set()
            ready = await client.get("/health")
        assert (waiting.status_code, waiting.json()) == (503, {"ready": False})
        assert (ready.status_code, ready.json()) == (200, {"ready": True})
