"""A 20 MiB police CSV batch uploaded while ten clients post single notifications.

``hub connectors serve`` runs as a real process on the shared broker. Ten clients
(:mod:`bench.http_client`, one keep-alive connection each) post single police
notifications, each pausing ``PAUSE_S`` between answers: first for ``BASELINE_S``
seconds alone, then while one client uploads a 20 MiB police CSV (the connector's
limit: tens of thousands of notifications). Reported: the batch's answer and time,
and the single notifications' latency alone and while the batch was in flight
(issue 11: p99 under 250 ms), with the cores each process used.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from typing import Any

from bench.common import Rig, Usage, free_port, rig, stop_process
from bench.http_client import RawConnection
from bench.records import police_notification
from bench.report import LATENCY_HEADERS, cores_cell, latency_cells, summary_ms, table
from hub.demo.bulk import police_csv_batch
from schemas.common import Partner

POLICE = "/v1/police/notifications"
CLIENTS = 10
PAUSE_S = 0.05
BASELINE_S = 15.0
BATCH_BYTES = 20 * 1024 * 1024
TARGET_P99_MS = 250.0


async def _singles(
    port: int, token: str, until: asyncio.Event, run: str
) -> tuple[list[float], dict[int, int]]:
    """Ten clients posting single notifications until ``until`` is set."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    counter = itertools.count()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        connection = await RawConnection.open("127.0.0.1", port)
        try:
            while not until.is_set():
                body = police_notification(run, next(counter))
                began = time.perf_counter()
                status, _ = await connection.post(POLICE, headers, body)
                if not until.is_set():
                    latencies.append(time.perf_counter() - began)
                    statuses[status] = statuses.get(status, 0) + 1
                await asyncio.sleep(PAUSE_S)
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies, statuses


async def _upload(port: int, token: str, batch: bytes) -> tuple[int, int]:
    """Post the batch on a connection of its own; its status and answer size."""
    connection = await RawConnection.open("127.0.0.1", port)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        status, answer = await connection.post(POLICE, headers, batch)
    finally:
        await connection.close()
    return status, len(answer)


async def _phase(r: Rig, port: int, pid: int, batch: bytes | None) -> dict[str, Any]:
    token = r.partner_token(Partner.POLICE)
    run = uuid.uuid4().hex[:6]
    stop = asyncio.Event()
    usage = Usage({"client": os.getpid(), "connectors": pid})
    began = time.monotonic()
    singles = asyncio.create_task(_singles(port, token, stop, run))
    result: dict[str, Any] = {}
    if batch is None:
        await asyncio.sleep(BASELINE_S)
    else:
        status, size = await _upload(port, token, batch)
        result |= {"batch_status": status, "batch_answer_bytes": size}
    result["seconds"] = round(time.monotonic() - began, 1)
    cores = usage.cores()
    stop.set()
    latencies, statuses = await singles
    return result | {
        "singles": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "latency": summary_ms(latencies),
        "cores_used": cores,
    }


async def run() -> dict[str, Any]:
    """The batch-upload bench."""
    batch, _, notifications = police_csv_batch(BATCH_BYTES, uuid.uuid4().hex[:4].upper())
    async with rig("upload") as r:
        port = free_port()
        proc = r.start_connectors(port)
        alone = await _phase(r, port, proc.pid, None)
        during = await _phase(r, port, proc.pid, batch)
        stop_process(proc)
    # cores: connectors / client / broker / whole machine
    rows = [("alone", alone), (f"during the {len(batch) / 2**20:.0f} MiB batch", during)]
    table(
        f"{CLIENTS} clients posting single police notifications ({PAUSE_S * 1000:g} ms pause), "
        f"alone and while one client uploads a {len(batch):,}-byte CSV of {notifications:,} "
        "notifications",
        [
            "singles",
            "seconds",
            "count",
            *LATENCY_HEADERS,
            "statuses",
            "cores",
        ],
        [
            [
                name,
                row["seconds"],
                row["singles"],
                *latency_cells(row["latency"]),
                row["statuses"],
                cores_cell(row["cores_used"], ("connectors", "client", "broker", "machine")),
            ]
            for name, row in rows
        ],
    )
    print(
        f"The batch was answered {during.get('batch_status')} after {during['seconds']} s "
        f"({during.get('batch_answer_bytes', 0):,} bytes of message ids). Target: p99 of the "
        f"single notifications under {TARGET_P99_MS:g} ms while it is in flight."
    )
    return {
        "batch_bytes": len(batch),
        "batch_notifications": notifications,
        "clients": CLIENTS,
        "pause_s": PAUSE_S,
        "alone": alone,
        "during_batch": during,
    }
