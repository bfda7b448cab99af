"""A slow team consumer, and what the monitor's collector says about it.

A producer writes routed records to ``route.mash`` (partition 0) at 20 a second. The
team's consumer (group ``team-mash``) goes through four phases while the monitor's
:class:`~hub.monitor.collector.Collector` samples every second with a 5-sample window:

1. ``slow``: it reads and commits one record every 0.25 s (4/s), so its lag grows;
2. ``stalled``: it stays in the group but stops reading and committing;
3. ``left``: it leaves the group;
4. ``caught_up``: the producer stops and a fresh member drains the queue.

Nothing may be lost: every produced id is consumed by the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import Rig, rig
from hub.errors import HubError
from hub.kafka import make_consumer, make_producer, started
from hub.monitor.collector import Collector
from hub.settings import MonitorSettings
from hub.topology import route_topic, team_group
from schemas.common import Area

TOPIC = route_topic(Area.MASH)
GROUP = team_group(Area.MASH)
SLOW_S, STALLED_S, LEFT_S, CATCH_UP_S = 15.0, 15.0, 8.0, 60.0


async def slow_team() -> dict[str, Any]:
    """Run the four phases; return statuses per phase and the loss check."""
    async with rig("slowteam") as r:
        collector = Collector(
            r.kafka,
            MonitorSettings(window=5, interval_s=1.0, state_dir=r.tmp / "monitor"),
            ZoneInfo("Europe/London"),
            areas=(Area.MASH,),
        )
        produced: list[str] = []
        consumed: list[str] = []
        samples: list[dict[str, Any]] = []
        phase = ["slow"]
        producing = asyncio.Event()
        producing.set()
        async with collector:
            producer = asyncio.create_task(_produce(r, produced, producing))
            sampler = asyncio.create_task(_sample(collector, phase, samples))
            try:
                await _team(r, phase, consumed, producing)
                await asyncio.sleep(4)  # a few samples after catching up
            finally:
                producing.clear()
                sampler.cancel()
                await producer
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
    return _verdict(produced, consumed, samples)


async def _produce(r: Rig, produced: list[str], producing: asyncio.Event) -> None:
    producer = make_producer(r.kafka, "bench-router-stand-in")
    async with started(producer, "bench producer"):
        while producing.is_set():
            message_id = str(uuid.uuid4())
            value = json.dumps({"message_id": message_id, "area": "mash"}).encode()
            await producer.send_and_wait(r.kafka.topic(TOPIC), value, partition=0)
            produced.append(message_id)
            await asyncio.sleep(0.05)


async def _sample(collector: Collector, phase: list[str], out: list[dict[str, Any]]) -> None:
    began = time.monotonic()
    while True:
        tick = time.monotonic()
        try:
            snapshot = await collector.sample(catch_up_budget_s=2.0)
        except HubError as exc:  # the monitor reports a failed sample; so does the bench
            out.append(
                {
                    "t": round(time.monotonic() - began, 1),
                    "phase": phase[0],
                    "status": "SAMPLE_FAILED",
                    "error": str(exc)[:200],
                    "lag": 0,
                    "lag_seconds": 0.0,
                    "members": 0,
                }
            )
        else:
            group = next(g for g in snapshot.groups if g.name == GROUP)
            out.append(
                {
                    "t": round(time.monotonic() - began, 1),
                    "phase": phase[0],
                    "status": group.status.value,
                    "lag": group.lag,
                    "lag_seconds": round(group.lag_seconds, 1),
                    "members": group.members,
                }
            )
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))


async def _team(r: Rig, phase: list[str], consumed: list[str], producing: asyncio.Event) -> None:
    consumer = make_consumer(r.kafka, "bench-team", TOPIC, group_id=GROUP)
    await consumer.start()
    try:
        until = time.monotonic() + SLOW_S
        while time.monotonic() < until:
            batch = await consumer.getmany(timeout_ms=500, max_records=1)
            consumed.extend(_ids(batch))
            if batch:
                await consumer.commit()
            await asyncio.sleep(0.25)
        phase[0] = "stalled"
        await asyncio.sleep(STALLED_S)
    finally:
        await consumer.stop()
    phase[0] = "left"
    await asyncio.sleep(LEFT_S)
    producing.clear()
    phase[0] = "caught_up"
    await _catch_up(r, consumed)


async def _catch_up(r: Rig, consumed: list[str]) -> None:
    consumer = make_consumer(r.kafka, "bench-team", TOPIC, group_id=GROUP)
    async with started(consumer, "bench team consumer"):
        deadline = time.monotonic() + CATCH_UP_S
        idle = 0
        while time.monotonic() < deadline and idle < 3:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            consumed.extend(_ids(batch))
            if batch:
                await consumer.commit()
                idle = 0
            else:
                idle += 1


def _ids(batch: dict[Any, list[Any]]) -> list[str]:
    return [json.loads(m.value)["message_id"] for msgs in batch.values() for m in msgs]


def _verdict(
    produced: list[str], consumed: list[str], samples: list[dict[str, Any]]
) -> dict[str, Any]:
    by_phase: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        if sample["status"] not in by_phase[sample["phase"]]:
            by_phase[sample["phase"]].append(sample["status"])
    lost = len(set(produced) - set(consumed))
    flagged = {
        "slow": bool({"WARN", "STALL", "STOP"} & set(by_phase["slow"])),
        "stalled": bool({"STALL", "STOP"} & set(by_phase["stalled"])),
        "left": "STOP" in by_phase["left"],
        "caught_up": bool(samples) and samples[-1]["status"] == "OK",
    }
    return {
        "ok": all(flagged.values()) and lost == 0,
        "flagged": flagged,
        "statuses_by_phase": dict(by_phase),
        "max_lag": max((s["lag"] for s in samples), default=0),
        "max_lag_seconds": max((s["lag_seconds"] for s in samples), default=0),
        "produced": len(produced),
        "consumed": len(consumed),
        "lost": lost,
        "redelivered": len(consumed) - len(set(consumed)),
        "samples": samples,
    }
