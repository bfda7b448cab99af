"""A 20 MiB police CSV batch does not stall everyone else (issue 11, files and processes).

The batch (about 63,000 notifications) is parsed, sealed, signed and answered off the
event loop (``hub/ingest/batch.py``) and written by the partner's bulk publisher; while
it is in flight, ten clients posting single police notifications must all be
answered. Before, sealing and signing the batch ran on the event loop and every other
request waited for all of it.

The ingest app runs in a process of its own, served as ``hub connectors serve`` serves
it, with real sealing and signing; Kafka is replaced by in-memory ports
(``tests/security/ingest_server.py``; ``python -m bench batch_upload`` measures the
whole path with the broker, docs/performance.md). The p50/p99 printed are
wall-clock figures on a shared machine; the test asserts behaviour: every single
notification answered (within 5 s) while the batch was in flight, and the batch
accepted.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub.ingest.credentials import CredentialStore
from hub.security.keys import init_keyring
from schemas.common import Partner
from tests.e2e.processes import free_port
from tests.orgs import TEST_ORGS
from tests.security.batchkit import Connection, police_csv, police_single

CLIENTS = 10
PAUSE_S = 0.05
SINGLE_TIMEOUT_S = 5.0
"""A single notification not answered within this is a failure (the control's bound)."""
POLICE = "/v1/police/notifications"


async def _upload_with_singles(port: int, token: str, batch: bytes) -> dict[str, object]:
    auth = {"Authorization": f"Bearer {token}"}
    done = asyncio.Event()
    latencies: list[float] = []
    statuses: list[int] = []

    async def upload() -> tuple[int, bytes]:
        connection = await Connection.open(port)
        try:
            return await connection.post(POLICE, {**auth, "Content-Type": "text/csv"}, batch)
        finally:
            done.set()
            await connection.close()

    async def single_poster(number: int) -> None:
        connection = await Connection.open(port)
        index = number * 100_000
        headers = {**auth, "Content-Type": "application/json"}
        try:
            while not done.is_set():
                began = time.perf_counter()
                async with asyncio.timeout(SINGLE_TIMEOUT_S):
                    status, _ = await connection.post(POLICE, headers, police_single(index))
                if not done.is_set():  # only what was answered while the batch was in flight
                    latencies.append(time.perf_counter() - began)
                    statuses.append(status)
                index += 1
                await asyncio.sleep(PAUSE_S)
        finally:
            await connection.close()

    began = time.perf_counter()
    (status, answer), *_ = await asyncio.gather(
        upload(), *(single_poster(n) for n in range(CLIENTS))
    )
    return {
        "status": status,
        "answer": answer,
        "batch_s": time.perf_counter() - began,
        "latencies": latencies,
        "statuses": statuses,
    }


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_single_notifications_are_answered_while_a_20_mib_batch_is_in_flight(
    tmp_path: Path,
) -> None:
    batch, copies = police_csv()
    init_keyring(tmp_path / "keys")
    token = CredentialStore(tmp_path / "credentials.json").add(
        Partner.POLICE, TEST_ORGS[Partner.POLICE]
    )
    port = free_port()
    log = tmp_path / "ingest.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.security.ingest_server", str(tmp_path), str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(port, server, log)
        result = asyncio.run(_upload_with_singles(port, token, batch))
    finally:
        server.terminate()
        server.wait(30)
    latencies = sorted(result["latencies"])  # type: ignore[call-overload]
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    accepted = json.loads(result["answer"])["messages"]  # type: ignore[arg-type]
    print(
        f"\n20 MiB police CSV ({len(batch):,} bytes, {len(accepted):,} notifications) answered "
        f"{result['status']} in {result['batch_s']:.1f} s; meanwhile {len(latencies)} single "
        f"notifications from {CLIENTS} clients: p50 {statistics.median(latencies) * 1000:.0f} "
        f"ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    assert result["status"] == 202
    assert len(accepted) == copies * 3
    assert set(result["statuses"]) == {202}  # type: ignore[call-overload]
    assert len(latencies) >= CLIENTS * 5  # every client was answered throughout


def _wait_ready(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json().get("ready"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(log.read_text()[-2000:])
