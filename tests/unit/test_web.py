"""What the three web apps share: buckets, problems, headers, serving, client keys, forms."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from hub.errors import ConfigurationError
from hub.settings import HttpSettings
from hub.web import SECURITY_HEADERS, HubApp, TokenBuckets, address_key, http_config
from hub.web.body import FormError, parse_form
from tests.factories import Clock


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


class TestServing:
    """How ``http_config`` serves every app: proxies believed only when configured."""

    def test_no_proxy_is_trusted_by_default(self) -> None:
        config = http_config(HubApp(), "127.0.0.1", 8000, HttpSettings())
        assert config.proxy_headers is False
        assert config.limit_concurrency is None

    def test_configured_proxies_are_the_only_ones_believed(self) -> None:
        settings = HttpSettings(trusted_proxies=("10.0.0.0/8", "192.0.2.7"))
        config = http_config(HubApp(), "127.0.0.1", 8000, settings)
        assert config.proxy_headers is True
        assert config.forwarded_allow_ips == ["10.0.0.0/8", "192.0.2.7"]

    @pytest.mark.parametrize("entry", ["*", "proxy.example", "10.0.0.0/33"])
    def test_a_wildcard_or_a_name_is_refused(self, entry: str) -> None:
        with pytest.raises(ValidationError, match="not an IP address or network"):
            HttpSettings(trusted_proxies=(entry,))

    def test_a_certificate_needs_its_key(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="TLS"):
            http_config(HubApp(), "127.0.0.1", 8000, HttpSettings(), certfile=tmp_path / "c")


class TestClientKeys:
    @pytest.mark.parametrize(
        ("host", "key"),
        [
            ("203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("testclient", "testclient"),
        ],
    )
    def test_ipv6_is_keyed_by_its_64(self, host: str, key: str) -> None:
        assert address_key(host) == key


class TestForms:
    def test_a_form_is_read_as_utf8_fields(self) -> None:
        fields = parse_form(b"a=1&b=%C3%A9t%C3%A9&a=2", "application/x-www-form-urlencoded")
        assert fields == {"a": "1", "b": "été"}

    @pytest.mark.parametrize(
        ("raw", "content_type", "status"),
        [
            (b"a=1", "multipart/form-data; boundary=x", 415),
            (b"a=%FF", "application/x-www-form-urlencoded", 400),
            (b"\xff=1", "application/x-www-form-urlencoded", 400),
            (b"&".join(b"f%d=x" % i for i in range(30)), "application/x-www-form-urlencoded", 400),
        ],
    )
    def test_other_forms_are_refused(self, raw: bytes, content_type: str, status: int) -> None:
        with pytest.raises(FormError) as refused:
            parse_form(raw, content_type)
        assert refused.value.status == status
