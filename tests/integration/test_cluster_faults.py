"""A three-broker cluster loses a broker while partners post and the router routes.

The test runs a cluster of its own (``hub broker start --nodes 3`` in code: three KRaft
nodes with SASL on free ports, state under the test's temporary folder, never the shared
broker), applies the topics with the production profile (replication factor 3,
``min.insync.replicas`` 2), and starts the real ``hub connectors serve`` and ``hub router
run`` processes. Partners post police notifications continuously and retry each 503
after its Retry-After, as the API asks them to. Mid-flow the node that leads the
transaction coordinator (and a third of the partitions) is killed with SIGKILL, later
restarted; the cluster must heal (every replica back in sync).

Checked: every answer is 202, or 503 with Retry-After (never another 5xx); every
accepted message is on the inbound topic once, has exactly one decision and each of
its routed copies exactly once (read_committed); the decision log's hash chain holds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from hub.broker.local import LocalBroker
from hub.broker.topics import load_topics_file
from hub.kafka import client_options
from hub.security.keys import init_keyring
from hub.settings import BrokerSettings, KafkaSettings
from schemas.common import Partner
from schemas.wire import MessageReceived
from tests.e2e.processes import free_port, hub_command, hub_env, start, stop, wait_http_ready
from tests.integration.ingestkit import EXAMPLES, PROJECT
from tests.integration.routerkit import assert_routed_exactly_once, read_topic
from tests.orgs import org_args

POLICE = "/v1/police/notifications"
INBOUND = "partner.police.inbound"
INTERNAL = ("__transaction_state", "__consumer_offsets")
WORKERS = 4
FAMILIES = 60
TEMPLATE = json.loads((EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes())


def free_port_block(count: int) -> int:
    """A base port with ``count`` free ports after it, below Linux's ephemeral range."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 32_000, 2)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise AssertionError("no block of free ports found")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Cluster:
    broker: LocalBroker
    admin: KafkaSettings
    start_s: float


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A three-node SASL cluster of this test's own; stopped afterwards, no JVM left."""
    base = free_port_block(6)
    broker = LocalBroker(
        BrokerSettings(
            nodes=3,
            sasl=True,
            port=base,
            controller_port=base + 1,
            state_dir=tmp_path / "kafka",
            start_timeout_s=180,  # three JVMs (and a restart's log recovery) on a busy CI box
        )
    )
    began = time.monotonic()
    try:
        broker.start()
        start_s = time.monotonic() - began
        yield Cluster(broker, broker.admin_kafka_settings(), start_s)
    finally:
        broker.stop()
        assert not any(n.live_pid() for n in broker.nodes), "a broker JVM was left running"


@dataclass
class Tally:
    """Every answer the partners got, and when (seconds on the loop's clock)."""

    accepted: set[str] = field(default_factory=set)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    unavailable: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    posted: int = 0

    def note(self, response: httpx.Response, at: float) -> bool:
        """Record one answer; return whether the message was accepted."""
        self.statuses[response.status_code] += 1
        if response.status_code == 202:
            self.accepted.update(m["message_id"] for m in response.json()["messages"])
            return True
        if response.status_code == 503 and response.headers.get("Retry-After", "").isdigit():
            self.unavailable.append(at)
        else:
            self.wrong.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        return False


def notification(reference: str, family: int) -> bytes:
    data = json.loads(json.dumps(TEMPLATE))
    data["reference"] = reference
    for person in data["persons"]:
        person.pop("nhs_number", None)  # keyed by name, so families spread over partitions
        person["family_name"] = "Sample" + chr(97 + family // 26) + chr(97 + family % 26)
    return json.dumps(data).encode()


async def partner(
    client: httpx.AsyncClient, token: str, worker: int, done: asyncio.Event, tally: Tally
) -> None:
    """Post one notification after another; retry each 503 after Retry-After until accepted."""
    loop = asyncio.get_running_loop()
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    n = 0
    while not done.is_set():
        n += 1
        body = notification(f"47/{worker}/{n}", (worker * 7919 + n) % FAMILIES)
        tally.posted += 1
        while True:
            response = await client.post(POLICE, content=body, headers=auth)
            if tally.note(response, loop.time()):
                break
            if response.status_code != 503:
                return
            await asyncio.sleep(int(response.headers["Retry-After"]))
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def admin_client(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(**client_options(kafka, "test-cluster-admin"))
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def partitions(kafka: KafkaSettings, topics: list[str]) -> list[dict[str, Any]]:
    """Every partition of ``topics``: leader, replicas and in-sync replicas."""
    async with admin_client(kafka) as client:
        described = await client.describe_topics(topics)
    return [p for t in described for p in t["partitions"]]


async def wait_until(predicate: Any, timeout_s: float, what: str) -> float:
    """Poll ``predicate`` until true; return how long it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        with contextlib.suppress(Exception):
            if await predicate():
                return loop.time() - began
        if loop.time() - began > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.5)


async def assert_exactly_once(kafka: KafkaSettings, accepted: set[str]) -> None:
    """Each accepted message: inbound once, one decision, each routed copy once; chain intact."""
    inbound = await read_topic(kafka, INBOUND, expected=len(accepted), timeout_s=120)
    inbound_ids = collections.Counter(
        str(MessageReceived.model_validate_json(r.value).metadata.message_id) for r in inbound
    )
    assert set(inbound_ids) == accepted
    assert max(inbound_ids.values()) == 1, "a message is on the inbound topic twice"
    await assert_routed_exactly_once(kafka, accepted)


def process_env(kafka: KafkaSettings, tmp_path: Path) -> dict[str, str]:
    """The hub processes' environment: this cluster as its admin, the production profile."""
    assert kafka.password is not None
    return hub_env(
        kafka,
        tmp_path,
        HUB_KAFKA__SECURITY_PROTOCOL="SASL_PLAINTEXT",
        HUB_KAFKA__USERNAME="admin",
        HUB_KAFKA__PASSWORD=kafka.password.get_secret_value(),
        HUB_TOPICS__PROFILE="production",
        HUB_CONNECTORS__PUBLISH_TIMEOUT_S="5",
        HUB_CONNECTORS__RETRY_AFTER_S="1",
        HUB_CONNECTORS__RATE_PER_S="1000",
        HUB_CONNECTORS__RATE_BURST="1000",
        HUB_LOGGING__LEVEL="WARNING",
    )


async def kill_and_heal(cluster: Cluster, topics: list[str], figures: dict[str, Any]) -> float:
    """Kill the transaction coordinator's node, restart it, wait until it is in sync again.

    Records the times in ``figures``; returns when the node was killed (loop clock).
    """
    kafka, loop = cluster.admin, asyncio.get_running_loop()
    coordinator = (await partitions(kafka, ["__transaction_state"]))[0]["leader"]
    led = [p for p in await partitions(kafka, topics) if p["leader"] == coordinator]
    figures |= {"killed_node": coordinator, "partitions_it_led": len(led)}
    killed_at = loop.time()
    await asyncio.to_thread(cluster.broker.kill, coordinator)
    figures["leaders_again_s"] = await wait_until(
        lambda: _led_without(kafka, [*topics, *INTERNAL], coordinator),
        90,
        "every partition to have a leader on the two live nodes",
    )
    await asyncio.sleep(10)  # partners keep posting to two nodes
    restarted = loop.time()
    await asyncio.to_thread(cluster.broker.start)
    figures["restart_s"] = loop.time() - restarted
    await wait_until(
        lambda: _in_sync(kafka, [*topics, *INTERNAL]), 120, "every replica in sync again"
    )
    figures["healed_s"] = loop.time() - restarted
    return killed_at


@pytest.mark.slow
@pytest.mark.timeout(480)
async def test_a_broker_killed_mid_flow_loses_and_duplicates_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    """SIGKILL the transaction coordinator's node while partners post; 503s, then heal."""
    kafka = cluster.admin
    env = process_env(kafka, tmp_path)
    init_keyring(tmp_path / "keys")
    hub_command("topics", "apply", env=env)
    topics = [s.name for s in load_topics_file(PROJECT / "deploy" / "topics.yaml", "production")]
    assert {len(p["replicas"]) for p in await partitions(kafka, topics)} == {3}
    token = (
        hub_command("partners", "add", "police", *org_args(Partner.POLICE), env=env)
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("connectors", "router")}
    connectors = start(["connectors", "serve", "--port", str(port)], env, logs["connectors"])
    router = start(["router", "run"], env, logs["router"])
    figures: dict[str, Any] = {"cluster_start_s": cluster.start_s}
    tally = Tally()
    loop = asyncio.get_running_loop()
    try:
        await asyncio.to_thread(
            wait_http_ready, f"http://127.0.0.1:{port}/health", connectors, logs["connectors"]
        )
        done = asyncio.Event()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            posting = [
                asyncio.create_task(partner(client, token, w, done, tally)) for w in range(WORKERS)
            ]
            await wait_until(lambda: _at_least(tally, 100), 120, "100 accepted messages")
            figures["accepted_before_kill"] = len(tally.accepted)
            killed_at = await kill_and_heal(cluster, topics, figures)
            await asyncio.sleep(3)
            done.set()
            await asyncio.wait_for(asyncio.gather(*posting), 120)
        # The router has routed everything once every accepted message has its decision
        # (consumer lag cannot say so: the ingest's transaction markers take offsets).
        drain_began = loop.time()
        await read_topic(kafka, "hub.decisions", expected=len(tally.accepted), timeout_s=180)
        figures["drain_s"] = loop.time() - drain_began
    finally:
        for proc, name in ((router, "router"), (connectors, "connectors")):
            code = stop(proc, timeout_s=60)
            assert code == 0, f"{name} exited {code}: {logs[name].read_text()[-3000:]}"
    refused = [t - killed_at for t in tally.unavailable]
    figures |= {
        "posted": tally.posted,
        "accepted": len(tally.accepted),
        "statuses": dict(tally.statuses),
        "first_503_s": min(refused, default=None),
        "last_503_s": max(refused, default=None),
    }
    rounded = {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}
    print(f"\ncluster fault figures: {json.dumps(rounded)}")  # noqa: T201 - the test's figures
    assert not tally.wrong, tally.wrong[:3]
    assert set(tally.statuses) <= {202, 503}
    assert len(tally.accepted) == tally.posted
    # Partners were refused only while the cluster failed over (and briefly after it).
    assert all(t < figures["leaders_again_s"] + 30 for t in refused), refused
    await assert_exactly_once(kafka, tally.accepted)


async def _at_least(tally: Tally, count: int) -> bool:
    return len(tally.accepted) >= count


async def _led_without(kafka: KafkaSettings, topics: list[str], dead: int) -> bool:
    return all(p["leader"] not in (-1, dead) for p in await partitions(kafka, topics))


async def _in_sync(kafka: KafkaSettings, topics: list[str]) -> bool:
    return all(len(p["isr"]) == 3 for p in await partitions(kafka, topics))
