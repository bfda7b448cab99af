"""What the three web apps share: token buckets, problem details, security headers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from hub.web import SECURITY_HEADERS, HubApp, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestTokenBuckets:
    def test_burst_then_refusal_then_refill(self) -> None:
        """A burst passes, the next request waits for a token, time refills."""
        clock = Clock()
        limiter = TokenBuckets(burst=3.0, per_s=2.0, clock=clock)
        assert [limiter.allow("police") for _ in range(4)] == [True, True, True, False]
        clock.now = 0.5
        assert limiter.allow("police")
        assert not limiter.allow("police")

    def test_keys_have_their_own_buckets(self) -> None:
        """One partner's burst does not starve another."""
        limiter = TokenBuckets(burst=1.0, per_s=1.0, clock=Clock())
        assert limiter.allow("police")
        assert not limiter.allow("police")
        assert limiter.allow("health")

    def test_wait_is_the_time_to_the_next_token(self) -> None:
        """An empty bucket says how long until its next token."""
        limiter = TokenBuckets(burst=1.0, per_s=0.5, clock=Clock())
        assert limiter.take("k") == 0.0
        assert limiter.take("k") == 2.0


def _app() -> FastAPI:
    app = HubApp(cacheable=frozenset({"/asset"}))

    @app.get("/items/{number}")
    async def item(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/asset")
    async def asset() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Cache-Control": "public, max-age=60"})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError

    return app


async def _get(path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path)


class TestFrameworkErrors:
    """The framework's own errors are problem details with the security headers."""

    async def test_unknown_path_is_a_problem(self) -> None:
        response = await _get("/nowhere")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
        assert response.headers["x-frame-options"] == "DENY"

    async def test_wrong_method_is_a_problem(self) -> None:
        response = await _get("/items/1", method="DELETE")
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"

    async def test_invalid_parameter_is_a_problem_naming_it(self) -> None:
        response = await _get("/items/one")
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "number"

    async def test_headers_on_success_and_on_a_crash(self) -> None:
        """Every response carries every security header, a 500 included."""
        for path, status in (("/items/1", 200), ("/boom", 500)):
            response = await _get(path)
            assert response.status_code == status
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value, (path, name)
        assert response.headers["content-type"] == "application/problem+json"

    async def test_cacheable_paths_keep_their_cache_control(self) -> None:
        response = await _get("/asset")
        assert response.headers["cache-control"] == "public, max-age=60"
        assert response.headers["x-content-type-options"] == "nosniff"
