"""Helpers for router tests on the real broker: keys, producing envelopes, reading topics."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.audit import verify_chain
from hub.bootstrap import Hub
from hub.bootstrap.ingest import sealer_for
from hub.kafka import make_consumer, make_producer, started
from hub.router.service import Router
from hub.security.keys import init_keyring
from hub.settings import CryptoSettings, HubSettings, KafkaSettings, RouterSettings
from schemas.common import Partner
from schemas.decision import DecisionRecorded
from schemas.envelope import Envelope
from schemas.routed import MessageRouted
from tests.commands import run_hub


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


def hub_cli(kafka: KafkaSettings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``hub <args>`` against this test's topics (its prefix), as an operator would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment |= {k: v for k, v in os.environ.items() if k.startswith("HUB_KAFKA__")} | {
        "HUB_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "HUB_LOGGING__LEVEL": "WARNING",
        **env,
    }
    return run_hub(*args, env=environment, timeout=300)
