"""HTTP ingest rate of the connectors app (one uvicorn worker), closed loop.

``hub connectors serve`` runs as a real process (no router: this measures the door).
For each concurrency N, N clients each post a valid police notification (unique
reference and people), wait for the answer, and post the next, for ``seconds``
seconds after a short warm-up, each on its own keep-alive connection
(:mod:`bench.http_client`, far lighter than httpx). Reported per N: requests a second,
latency p50, p95, p99 and max, any status other than 202, and the cores used by the
app, the client, the broker and the whole machine (the client and other people's jobs
share these 2 cores, so the rates are a floor). A cProfile of the app at the highest
concurrency follows.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import pstats
import time
import uuid
from collections import Counter
from typing import Any

from bench.common import Rig, Usage, free_port, rig, stop_process, wait_http_ready
from bench.http_client import RawConnection
from bench.records import police_notification
from bench.report import LATENCY_HEADERS, cores_cell, latency_cells, summary_ms, table
from schemas.common import Partner

POLICE = "/v1/police/notifications"
WARM_UP_S = 2.0
TARGET_P99_MS = 100.0


async def closed_loop(
    port: int, token: str, clients: int, seconds: float, app_pid: int | None = None
) -> dict[str, Any]:
    """``clients`` concurrent posters for ``seconds``; latency of every answered request."""
    run = uuid.uuid4().hex[:6]
    counter = itertools.count()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connections = [await RawConnection.open("127.0.0.1", port) for _ in range(clients)]

    async def poster(connection: RawConnection, until: float, record: bool) -> None:
        while time.monotonic() < until:
            body = police_notification(run, next(counter))
            began = time.perf_counter()
            status, _answer = await connection.post(POLICE, headers, body)
            if record:
                latencies.append(time.perf_counter() - began)
                statuses[status] += 1

    try:
        warm = time.monotonic() + WARM_UP_S
        await asyncio.gather(*(poster(c, warm, record=False) for c in connections))
        usage = Usage({"client": os.getpid(), **({"connectors": app_pid} if app_pid else {})})
        began = time.monotonic()
        await asyncio.gather(*(poster(c, began + seconds, record=True) for c in connections))
        elapsed = time.monotonic() - began
        cores = usage.cores()
    finally:
        for connection in connections:
            await connection.close()
    app_cores = cores.get("connectors", 0.0)
    return {
        "clients": clients,
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "latency": summary_ms(latencies),
        "cores_used": cores,
        "cpu_ms_per_request": round(app_cores * elapsed * 1000 / max(1, len(latencies)), 2),
    }


async def _profiled(r: Rig, token: str, clients: int, seconds: float) -> list[str]:
    """The connectors process under cProfile for one closed-loop run (figures not kept)."""
    port = free_port()
    out = r.tmp / "connectors.pstats"
    args = ["cProfile", "-o", str(out), "-m", "hub", "connectors", "serve", "--port", str(port)]
    proc = r.start(args, "connectors-profiled")
    url = f"http://127.0.0.1:{port}/health"
    await asyncio.to_thread(wait_http_ready, url, proc, r.log("connectors-profiled"), 120)
    await closed_loop(port, token, clients, seconds)
    stop_process(proc)
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("tottime").print_stats(15)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return [line.rstrip() for line in lines[start:] if line.strip()]


async def run(concurrency: list[int], seconds: float) -> dict[str, Any]:
    """The ingest bench."""
    async with rig("ingest") as r:
        port = free_port()
        token = r.partner_token(Partner.POLICE)
        proc = r.start_connectors(port)
        rows = [
            await closed_loop(port, token, clients, seconds, app_pid=proc.pid)
            for clients in concurrency
        ]
        stop_process(proc)
        profile = await _profiled(r, token, max(concurrency), min(seconds, 10.0))
    table(
        f"HTTP ingest, closed loop, {seconds:g} s per concurrency (police JSON notifications)",
        [
            "clients",
            "req/s",
            *LATENCY_HEADERS,
            "statuses",
            "app CPU ms/req",
            "cores app/client/broker/machine",
        ],
        [
            [
                row["clients"],
                row["req_per_s"],
                *latency_cells(row["latency"]),
                row["statuses"],
                row["cpu_ms_per_request"],
                cores_cell(row["cores_used"], ("connectors", "client", "broker", "machine")),
            ]
            for row in rows
        ],
    )
    within = [row for row in rows if (row["latency"]["p99_ms"] or 1e9) < TARGET_P99_MS]
    best = max(within, key=lambda row: row["req_per_s"], default=None)
    if best is None:
        print(f"No concurrency kept p99 under {TARGET_P99_MS:g} ms.")
    else:
        print(
            f"Highest rate with p99 < {TARGET_P99_MS:g} ms: {best['req_per_s']:,.0f} req/s "
            f"at {best['clients']} client(s) (p99 {best['latency']['p99_ms']} ms)."
        )
    print(
        f"\ncProfile of `hub connectors serve` at {max(concurrency)} clients, top 15 by own time:"
    )
    print("\n".join(profile))
    return {
        "seconds_per_concurrency": seconds,
        "rows": rows,
        "connectors_profile_top_tottime": profile,
        "best_rate_with_p99_under_100ms": best["req_per_s"] if best else None,
    }
