"""A schema-driven fuzz of the real ingest server from its OpenAPI document: no 5xx."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from schemas.common import Partner
from tests.e2e.processes import free_port, hub_env, partner_token, start, stop, wait_http_ready


@pytest.mark.timeout(600)
def test_no_server_errors(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """Whatever the generated request, the real server answers without a 5xx."""
    init_keyring(tmp_path / "keys")
    env = hub_env(hub_topics, tmp_path)
    token = partner_token(Partner.POLICE, env)
    port = free_port()
    log = tmp_path / "connectors.log"
    proc = start(["connectors", "serve", "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    seen: dict[int, int] = {}
    try:
        wait_http_ready(f"{base}/health", proc, log)
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        documented = json.loads(
            (Path(__file__).parents[2] / "docs" / "openapi.json").read_text(encoding="utf-8")
        )["paths"]
        assert len(operations) == sum(len(methods) for methods in documented.values())
        strategy = st.one_of([op.as_strategy() for op in operations])

        @given(case=strategy)
        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=auth, timeout=30)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (case.method, case.path, response.text[:300])

        check()
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
    assert 422 in seen or 415 in seen, seen  # the fuzz did reach the parsers
