"""`hub router run` with HUB_ROUTER__METRICS_PORT: a readiness probe, ops-gated metrics."""

from __future__ import annotations

from pathlib import Path

import httpx

from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from tests.e2e.processes import free_port, hub_env, start, stop, wait_http_ready


def test_the_router_serves_readiness_and_metrics(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """Ready once its tasks are assigned; /metrics to loopback (no token) with its series."""
    init_keyring(tmp_path / "keys")
    port = free_port()
    env = hub_env(hub_topics, tmp_path, HUB_ROUTER__METRICS_PORT=str(port))
    log = tmp_path / "router.log"
    proc = start(["router", "run"], env, log)
    try:
        wait_http_ready(f"http://127.0.0.1:{port}/health/ready", proc, log)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        missing = httpx.get(f"http://127.0.0.1:{port}/nothing", timeout=5)
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "hub_router_tasks 6.0" in metrics.text
    assert "hub_router_transaction_duration_seconds_bucket" in metrics.text
    assert missing.status_code == 404
