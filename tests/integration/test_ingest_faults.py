"""The ingest when Kafka goes away: 503 with Retry-After, then exactly once after a retry."""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.local_broker import LocalBroker
from hub.settings import BrokerSettings, KafkaSettings
from hub.topics import apply_topics, load_topics_file
from schemas.common import Partner
from schemas.wire import MessageReceived
from tests.integration.ingestkit import EXAMPLES, ingest_hub, running_ingest
from tests.integration.routerkit import read_topic

POLICE = "/v1/police/notifications"
JSON = {"Content-Type": "application/json"}
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
    # Clients whose broker was killed under them hold sockets aiokafka never closed;
    # collect them here, where their ResourceWarning is the expected result of the
    # fault, rather than let them surface in whichever test runs next.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


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
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{PORT}", request_timeout_ms=3000)
    await apply_topics(load_topics_file(Path("deploy/topics.yaml"), "local"), kafka)
    hub = ingest_hub(kafka, tmp_path, publish_timeout_s=3.0, retry_after_s=2)
    async with running_ingest(hub) as ingest:
        auth = JSON | ingest.auth(Partner.POLICE)
        before = await ingest.client.post(POLICE, content=notification("47/1"), headers=auth)
        assert before.status_code == 202
        own_broker.kill()
        during = await ingest.client.post(POLICE, content=notification("47/2"), headers=auth)
        assert during.status_code == 503
        assert during.headers["Retry-After"] == "2"
        again = await ingest.client.post(POLICE, content=notification("47/2"), headers=auth)
        assert again.status_code == 503
        own_broker.start()
        async with asyncio.timeout(120):
            while True:
                retry = await ingest.client.post(POLICE, content=notification("47/2"), headers=auth)
                if retry.status_code == 202:
                    break
                assert retry.status_code == 503
                await asyncio.sleep(1)
        assert not any(m["duplicate"] for m in retry.json()["messages"])
        resend = await ingest.client.post(POLICE, content=notification("47/2"), headers=auth)
        assert all(m["duplicate"] for m in resend.json()["messages"])
    inbound = await read_topic(kafka, "partner.police.inbound", idle_s=2.0)
    references = [
        MessageReceived.model_validate_json(r.value).metadata.partner_reference for r in inbound
    ]
    assert sorted(references) == ["47/1", "47/2"]
