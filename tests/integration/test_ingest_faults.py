"""The ingest when Kafka goes away: 503 with Retry-After, then exactly once after a retry.

The ingest runs as the real ``hub connectors serve`` process against a broker of this
test's own, which the test kills and restarts; stopping the shared broker would
disturb every other test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.broker.local import LocalBroker
from hub.broker.topics import apply_topics, load_topics_file
from hub.security.keys import init_keyring
from hub.settings import BrokerSettings, KafkaSettings
from schemas.common import Partner
from schemas.wire import MessageReceived
from tests.e2e.processes import free_port, hub_env, partner_token, start, stop, wait_http_ready
from tests.integration.ingestkit import EXAMPLES
from tests.integration.routerkit import read_topic

POLICE = "/v1/police/notifications"
PORT = 29092


@pytest.fixture
def own_broker(tmp_path: Path, kafka_up: str) -> Iterator[LocalBroker]:
    """A second broker of this test's own, so stopping it disturbs no other test."""
    del kafka_up  # the shared broker must be up: its jars are installed
    broker = LocalBroker(
        BrokerSettings(port=PORT, controller_port=PORT + 1, state_dir=tmp_path / "broker")
    )
    broker.start()
    yield broker
    broker.stop()


def notification(reference: str) -> bytes:
    data = json.loads((EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes())
    data["reference"] = reference
    return json.dumps(data).encode()


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_broker_down_gives_503_and_the_retry_lands_exactly_once(
    own_broker: LocalBroker, tmp_path: Path
) -> None:
    """Kafka stopped: 503 + Retry-After, nothing kept; restarted: the retry exists once."""
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{PORT}")
    await apply_topics(load_topics_file(Path("deploy/topics.yaml"), "local"), kafka)
    init_keyring(tmp_path / "keys")
    env = hub_env(
        kafka,
        tmp_path,
        HUB_CONNECTORS__PUBLISH_TIMEOUT_S="3",
        HUB_CONNECTORS__RETRY_AFTER_S="2",
        HUB_KAFKA__REQUEST_TIMEOUT_MS="3000",
        # This test's own broker is a plain one, whatever the shared broker is.
        HUB_KAFKA__SECURITY_PROTOCOL="PLAINTEXT",
    )
    token = partner_token(Partner.POLICE, env)
    port = free_port()
    log = tmp_path / "connectors.log"
    proc = start(["connectors", "serve", "--port", str(port)], env, log)
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        wait_http_ready(f"http://127.0.0.1:{port}/health", proc, log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            before = await client.post(POLICE, content=notification("47/1"), headers=auth)
            assert before.status_code == 202
            own_broker.kill()
            during = await client.post(POLICE, content=notification("47/2"), headers=auth)
            assert during.status_code == 503
            assert during.headers["Retry-After"] == "2"
            again = await client.post(POLICE, content=notification("47/2"), headers=auth)
            assert again.status_code == 503
            own_broker.start()
            async with asyncio.timeout(120):
                while True:
                    retry = await client.post(POLICE, content=notification("47/2"), headers=auth)
                    if retry.status_code == 202:
                        break
                    assert retry.status_code == 503
                    await asyncio.sleep(1)
            assert not any(m["duplicate"] for m in retry.json()["messages"])
            resend = await client.post(POLICE, content=notification("47/2"), headers=auth)
            assert all(m["duplicate"] for m in resend.json()["messages"])
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
    inbound = await read_topic(kafka, "partner.police.inbound", idle_s=2.0)
    references = sorted(
        MessageReceived.model_validate_json(r.value).metadata.partner_reference for r in inbound
    )
    assert references == ["47/1", "47/2"]
