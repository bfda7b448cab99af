"""End-to-end latency: from a partner's HTTP 202 to visibility on a route topic.

``hub router run`` and ``hub connectors serve`` run as real processes. An open-loop load
generator posts police notifications (unique references and people) on a fixed
schedule, ``rate`` a second for ``duration`` seconds, over keep-alive connections of
:mod:`bench.http_client`: each request starts at its scheduled time whether or not
earlier ones have answered, and the time each 202 arrives is noted. (It used httpx,
which cost about 2 ms of CPU a request: at 200 a second the generator took 0.4 of a
core of the machine's two and started requests up to 420 ms late, so the figure
measured the generator's share of the CPU as much as the hub.)

:mod:`bench.watch`, a ``read_committed`` reader of
every route topic in a process of its own, notes when each message id first becomes
visible. Latency is visible minus 202, per message. RSS of both hub processes is
sampled every second (the memory bench reads those samples).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.common import Rig, Usage, free_port, rig, router_stats, rss_kib, stop_process
from bench.http_client import RawConnection
from bench.records import police_notification
from bench.report import cores_cell, latency_cells, summary_ms, table
from bench.watch import STAGES, read_sightings, read_watch
from schemas.common import Partner

STAGES_ON = os.environ.get("BENCH_LATENCY_STAGES", "") == "1"
"""Break each message's latency into stages (:mod:`bench.watch` ``--stages``): the watch
then reads the police inbound topic too, a little more work for the broker."""
POLICE = "/v1/police/notifications"
WARM_UP = 20
CONNECTIONS = 128
"""Keep-alive connections; a request waits for a free one (part of its response time)."""
CLIENT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)
"""What a broken or refused connection raises in :class:`RawConnection`."""


@dataclass
class Load:
    """What the load generator saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    accepted: dict[str, float] = field(default_factory=dict)
    """message id -> unix time its 202 arrived."""
    sent: dict[str, float] = field(default_factory=dict)
    """message id -> unix time its request was sent."""
    response_s: list[float] = field(default_factory=list)
    start_lateness_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


class _Connections:
    """``CONNECTIONS`` keep-alive connections; a broken one is opened afresh when next taken."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._free: asyncio.Queue[RawConnection | None] = asyncio.Queue()

    async def open(self) -> None:
        """Open every connection before the schedule starts."""
        for _ in range(CONNECTIONS):
            self._free.put_nowait(await RawConnection.open(self._host, self._port))

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST on the next free connection (waiting for one); raise ``CLIENT_ERRORS``."""
        connection = await self._free.get()
        try:
            if connection is None:
                connection = await RawConnection.open(self._host, self._port)
            answer = await connection.post(POLICE, headers, body)
        except CLIENT_ERRORS:
            if connection is not None:
                await _closed(connection)
            self._free.put_nowait(None)
            raise
        self._free.put_nowait(connection)
        return answer

    async def close(self) -> None:
        """Close every connection."""
        while not self._free.empty():
            connection = self._free.get_nowait()
            if connection is not None:
                await _closed(connection)


async def _closed(connection: RawConnection) -> None:
    try:
        await connection.close()
    except CLIENT_ERRORS:
        return


async def offered_load(base: str, token: str, rate: float, duration: float, run: str) -> Load:
    """Post ``rate`` notifications a second for ``duration`` s, open loop.

    A scheduler starts request i at ``start + i / rate`` whatever happened to earlier
    ones. Each request borrows one of ``CONNECTIONS`` keep-alive connections; the wait
    for a free one is part of its response time.
    """
    count = int(rate * duration)
    bodies = [police_notification(run, i) for i in range(count)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    host, _, port = base.removeprefix("http://").partition(":")
    connections = _Connections(host, int(port))
    await connections.open()
    load = Load()

    async def one(i: int) -> None:
        began, sent = time.perf_counter(), time.time()
        try:
            status, answer = await connections.post(bodies[i], headers)
        except CLIENT_ERRORS as exc:
            load.errors[type(exc).__name__] += 1
            return
        arrived = time.time()
        load.response_s.append(time.perf_counter() - began)
        load.statuses[status] += 1
        if status == 202:
            for message in json.loads(answer)["messages"]:
                load.accepted[message["message_id"]] = arrived
                load.sent[message["message_id"]] = sent

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    tasks = set()
    try:
        for i in range(count):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            load.start_lateness_s.append(loop.time() - due)
            task = asyncio.create_task(one(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    finally:
        await connections.close()
    return load


async def hub_under_load(rate: float, duration: float, name: str) -> dict[str, Any]:
    """Run router + connectors, offer the load, and measure latency and memory."""
    async with rig(name) as r:
        port = free_port()
        token = r.partner_token(Partner.POLICE)
        router = r.start_router()
        connectors = r.start_connectors(port)
        sightings_file = r.tmp / "sightings.txt"
        r.start(
            ["bench.watch", "--out", str(sightings_file), *(["--stages"] if STAGES_ON else [])],
            "watch",
        )
        base = f"http://127.0.0.1:{port}"
        await _warm_up(base, token, sightings_file)
        memory: list[dict[str, Any]] = []
        sampler = asyncio.create_task(_sample_memory(router.pid, connectors.pid, memory))
        usage = Usage({"connectors": connectors.pid, "router": router.pid, "client": os.getpid()})
        load = await offered_load(base, token, rate, duration, uuid.uuid4().hex[:6])
        cores = usage.cores()
        sampler.cancel()
        sightings = await wait_visible(sightings_file, set(load.accepted), timeout_s=120)
        peaks = {"router": rss_kib(router.pid), "connectors": rss_kib(connectors.pid)}
        router_rc = stop_process(router)
        stats = router_stats(r.log("router"))
        stages = read_watch(sightings_file).stages(load.accepted) if STAGES_ON else {}
        return _result(r, load, sightings, memory, peaks) | {
            **(
                {
                    "stages": {name: summary_ms(values) for name, values in stages.items()},
                    "stages_of_slowest_1pct_ms": _slowest(stages),
                }
                if stages
                else {}
            ),
            "router_exit": router_rc,
            "router_stats": stats,
            "router_transactions_per_s": round(stats.get("transactions", 0) / duration, 1),
            "cores_used": cores,
        }


def _slowest(stages: dict[str, list[float]]) -> dict[str, float]:
    """Each stage's mean (ms) over the slowest 1% of messages (202 to visible)."""
    total = [sum(parts) for parts in zip(*(stages[s] for s in STAGES[1:]), strict=True)]
    if not total:
        return {}
    order = sorted(range(len(total)), key=total.__getitem__)[-max(1, len(total) // 100) :]
    return {s: round(1000 * sum(stages[s][i] for i in order) / len(order), 1) for s in STAGES}


async def _warm_up(base: str, token: str, sightings_file: Any) -> None:
    """A few messages end to end first: the router has its tasks, every client is warm."""
    load = await offered_load(base, token, 10, WARM_UP / 10, "warm" + uuid.uuid4().hex[:4])
    if not load.accepted:
        raise RuntimeError(f"warm-up: nothing accepted ({dict(load.statuses)}, {load.errors})")
    await wait_visible(sightings_file, set(load.accepted), timeout_s=120)


async def wait_visible(path: Any, ids: set[str], timeout_s: float) -> dict[str, float]:
    """Poll a watch file until every id in ``ids`` was seen or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = read_sightings(path)
        if ids <= seen.keys() or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.5)


async def _sample_memory(router: int, connectors: int, out: list[dict[str, Any]]) -> None:
    started = time.monotonic()
    while True:
        out.append(
            {
                "t": round(time.monotonic() - started, 1),
                "router": rss_kib(router),
                "connectors": rss_kib(connectors),
            }
        )
        await asyncio.sleep(1.0)


def _result(
    r: Rig,
    load: Load,
    sightings: dict[str, float],
    memory: list[dict[str, Any]],
    peaks: dict[str, dict[str, int]],
) -> dict[str, Any]:
    latencies = [sightings[m] - t for m, t in load.accepted.items() if m in sightings]
    from_send = [sightings[m] - t for m, t in load.sent.items() if m in sightings]
    answered = sorted(load.accepted.values())
    span = answered[-1] - min(load.sent.values()) if answered else 0.0
    return {
        "requests": sum(load.statuses.values()) + sum(load.errors.values()),
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "client_errors": dict(load.errors),
        "accepted": len(load.accepted),
        "never_visible": len(set(load.accepted) - sightings.keys()),
        "visible_after_202": summary_ms(latencies),
        "visible_after_send": summary_ms(from_send),
        "accepted_per_s": round(len(answered) / span, 1) if span > 0 else None,
        "http_response": summary_ms(load.response_s),
        "schedule_lateness": summary_ms(load.start_lateness_s),
        "memory_samples": memory,
        "memory_end_kib": peaks,
        "prefix": r.kafka.topic_prefix,
    }


async def run(rates: list[float], duration: float) -> dict[str, Any]:
    """The latency bench, at each offered rate in turn."""
    runs = []
    for rate in rates:
        result = await hub_under_load(rate, duration, "latency")
        result.pop("memory_samples")
        runs.append({"offered_rate": rate, "duration_s": duration} | result)
    table(
        f"End-to-end latency per message, open loop for {duration:g} s (ms; visible = first "
        "read_committed sight on route.*)",
        [
            "offered/s",
            "202s/s",
            "count",
            "202->visible p50",
            "p95",
            "p99",
            "max",
            "send->visible p99",
            "HTTP p99",
            "never visible",
            "statuses",
            "router txn/s",
            "cores app/router/client/broker/machine",
        ],
        [
            [
                run["offered_rate"],
                run["accepted_per_s"],
                run["visible_after_202"]["count"],
                *latency_cells(run["visible_after_202"]),
                run["visible_after_send"]["p99_ms"],
                run["http_response"]["p99_ms"],
                run["never_visible"],
                run["statuses"],
                run["router_transactions_per_s"],
                cores_cell(
                    run["cores_used"], ("connectors", "router", "client", "broker", "machine")
                ),
            ]
            for run in runs
        ],
    )
    if STAGES_ON:
        _stage_table(runs)
    for run in runs:
        late = run["schedule_lateness"]
        if (late["p99_ms"] or 0) > 100 or (run["accepted_per_s"] or 0) < 0.95 * run["offered_rate"]:
            print(
                f"At {run['offered_rate']:g}/s the hub did not keep up: 202s came at "
                f"{run['accepted_per_s']}/s, HTTP p99 {run['http_response']['p99_ms']} ms, and "
                f"the generator started requests up to {late['max_ms']} ms late. Once the "
                "connectors app saturates, a 202 is queued behind others and can arrive after "
                "the message is already visible (negative 202->visible)."
            )
    return {"duration_s": duration, "runs": runs}


def _stage_table(runs: list[dict[str, Any]]) -> None:
    table(
        "Where the time goes: each stage's p50 / p99 (mean over the slowest 1%), ms. "
        "Stages 2-5 add up to 202 -> visible.",
        ["offered/s", *STAGES],
        [
            [
                run["offered_rate"],
                *(
                    f"{run['stages'][s]['p50_ms']} / {run['stages'][s]['p99_ms']} "
                    f"({run['stages_of_slowest_1pct_ms'].get(s)})"
                    for s in STAGES
                ),
            ]
            for run in runs
        ],
    )
