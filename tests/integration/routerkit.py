"""Helpers for router tests on the real broker: keys, producing envelopes, reading topics.

And waiting: until the router group has committed what is inbound, or a condition holds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.audit import verify_chain
from hub.bootstrap import Hub
from hub.bootstrap.ingest import sealer_for
from hub.kafka import KafkaAdmin, TopicPartition, end_offsets, make_consumer, make_producer, started
from hub.router.service import Router
from hub.security.keys import init_keyring
from hub.settings import CryptoSettings, HubSettings, KafkaSettings, RouterSettings
from schemas.common import Partner, RiskLevel, SubjectRole
from schemas.decision import DecisionRecorded
from schemas.envelope import Envelope
from schemas.routed import MessageRouted
from tests.commands import run_hub
from tests.factories import envelope, risk, subject


def hub_for(kafka: KafkaSettings, tmp: Path, **crypto: Any) -> Hub:
    keys = tmp / "keys"
    init_keyring(keys)
    settings = HubSettings(
        kafka=kafka,
        crypto=CryptoSettings(keys_dir=keys, **crypto),
        router=RouterSettings(state_dir=tmp / "router"),
    )
    return Hub(settings)


async def produce(hub: Hub, envelopes: list[Envelope]) -> None:
    kafka = hub.settings.kafka
    sealers = {p: sealer_for(hub, p) for p in Partner}
    producer = make_producer(kafka, "test-partner")
    async with started(producer, "test producer"):
        futures = []
        for env in envelopes:
            rec = sealers[env.partner].encode(env)
            futures.append(
                await producer.send(
                    kafka.topic(rec.topic),
                    rec.value,
                    key=rec.key,
                    partition=rec.partition,
                    headers=list(rec.headers),
                )
            )
        await asyncio.gather(*futures)


async def produce_raw(  # noqa: PLR0917 -- a record's parts
    kafka: KafkaSettings,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int | None = None,
) -> None:
    producer = make_producer(kafka, "test-raw")
    async with started(producer, "test producer"):
        await producer.send_and_wait(
            kafka.topic(topic), value, key=key, headers=headers or [], partition=partition
        )


async def read_topic(
    kafka: KafkaSettings,
    topic: str,
    *,
    expected: int | None = None,
    idle_s: float = 2.0,
    timeout_s: float = 60.0,
) -> list[Any]:
    """Read a topic from the start with read_committed until `expected` or idle."""
    consumer = make_consumer(kafka, "test-reader", topic, read_committed=True)
    records: list[Any] = []
    async with started(consumer, "test reader"):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last = loop.time()
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=250)
            for msgs in batch.values():
                records.extend(msgs)
            if batch:
                last = loop.time()
            if expected is not None and len(records) >= expected:
                await asyncio.sleep(idle_s / 2)
                for msgs in (await consumer.getmany(timeout_ms=250)).values():
                    records.extend(msgs)
                break
            if expected is None and loop.time() - last > idle_s:
                break
    return records


async def assert_routed_exactly_once(kafka: KafkaSettings, message_ids: set[str]) -> None:
    """Each message: one decision, each of its routed copies once (read_committed); chain intact."""
    decisions = await read_topic(kafka, "hub.decisions", expected=len(message_ids), timeout_s=120)
    records = [DecisionRecorded.model_validate_json(r.value) for r in decisions]
    ids = collections.Counter(str(d.message_id) for d in records)
    dupes = [m for m, c in ids.items() if c > 1]
    assert not dupes, f"{len(dupes)} messages have more than one decision record"
    assert set(ids) == message_ids, f"{len(message_ids - set(ids))} messages have no decision"
    want = collections.Counter(
        (str(d.message_id), a.value) for d in records for a in d.destinations
    )
    got: collections.Counter[tuple[str, str]] = collections.Counter()
    for area in {a for _m, a in want}:
        for r in await read_topic(kafka, f"route.{area}", idle_s=2.0, timeout_s=120):
            got[(str(MessageRouted.model_validate_json(r.value).message_id), area)] += 1
    assert got == want
    chains: dict[int, list[tuple[int, bytes]]] = collections.defaultdict(list)
    for r in decisions:
        chains[r.partition].append((r.offset, r.value))
    for partition, chain in chains.items():
        _count, broken = verify_chain(partition, sorted(chain))
        assert broken is None, broken


INBOUND = [
    "partner.police.inbound",
    "partner.health.inbound",
    "partner.housing.inbound",
    "partner.domestic-abuse.inbound",
]


def traffic(n: int) -> list[Envelope]:
    """A varied stream over n/4 subjects (so history matters)."""
    out = []
    for i in range(n):
        child = subject(label=f"child-{i % (n // 4)}", present=True, school_urn="100001")
        adult = subject(SubjectRole.VICTIM, f"adult-{i % (n // 4)}")
        match i % 5:
            case 0:
                out.append(envelope(subjects=[child], risk=risk(RiskLevel.HIGH)))
            case 1:
                out.append(envelope("police.notification.domestic_abuse", [adult, child]))
            case 2:
                out.append(envelope("police.notification.domestic_abuse", [adult]))
            case 3:
                out.append(envelope("health.safeguarding_concern", [child]))
            case _:
                out.append(envelope("housing.duty_to_refer", [adult]))
    return out


async def inbound_lag(kafka: KafkaSettings) -> int:
    tps = [TopicPartition(kafka.topic(t), p) for t in INBOUND for p in range(6)]
    ends = await end_offsets(kafka, tps)
    async with KafkaAdmin(kafka) as admin:
        committed = await admin.committed_offsets(kafka.group("router"))
    return sum(ends[tp] - committed.get(tp, 0) for tp in tps)


async def lag_below(kafka: KafkaSettings, limit: int) -> bool:
    return await inbound_lag(kafka) < limit


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def wait_until_routed(kafka: KafkaSettings, what: str, timeout_s: float = 120) -> None:
    """Wait until the router group has committed every inbound record."""
    await wait_for(lambda: lag_below(kafka, 1), timeout_s, what)


@dataclass
class RunningRouter:
    router: Router
    stop: asyncio.Event
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def running_router(
    hub: Hub, instance: str = "router", checkpoint_every_s: float = 60.0
) -> AsyncIterator[RunningRouter]:
    router = Router(
        hub.settings.kafka,
        hub.router_context(),
        hub.settings.router.state_dir,
        instance=instance,
        checkpoint_every_s=checkpoint_every_s,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(router.run(stop))
    try:
        async with asyncio.timeout(60):
            while not router.ready.is_set():
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield RunningRouter(router, stop, task)
    finally:
        stop.set()
        async with asyncio.timeout(60):
            await task


async def route_through_restart_and_rebalance(
    hub: Hub, first: list[Envelope], second: list[Envelope], third: list[Envelope]
) -> int:
    """Route ``first`` on router-a, ``second`` once it restarts, ``third`` once router-b joins.

    Each batch is routed before the next is sent; returns how many router-b routed.
    """
    kafka = hub.settings.kafka
    async with running_router(hub, "router-a"):
        await produce(hub, first)
        await wait_until_routed(kafka, "the first batch")
    async with running_router(hub, "router-a"):
        await produce(hub, second)
        await wait_until_routed(kafka, "the second batch, after the restart")
        async with running_router(hub, "router-b") as b:
            await produce(hub, third)
            await wait_until_routed(kafka, "the third batch, after the rebalance")
    return b.router.stats.routed


def hub_cli(kafka: KafkaSettings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``hub <args>`` against this test's topics (its prefix), as an operator would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment |= {k: v for k, v in os.environ.items() if k.startswith("HUB_KAFKA__")} | {
        "HUB_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "HUB_LOGGING__LEVEL": "WARNING",
        **env,
    }
    return run_hub(*args, env=environment, timeout=300)
