"""A 20 MiB police CSV batch does not stall everyone else (issue 11, files and processes).

The batch (about 63,000 notifications) is parsed, validated and sealed in a worker
process (``hub/ingest/worker.py``), answered from the lines it wrote and written by the
partner's bulk publisher; while it is in flight, ten clients posting single police
notifications must all be answered. Before, sealing and signing the batch ran on the
event loop and every other request waited for all of it; then in a thread, which
shared the loop's GIL. The worker runs outside the server process, and a worker killed
mid-batch costs that batch a ``503`` and nothing else: nothing of it is written, and
its resend is written exactly once.

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
import contextlib
import functools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub.ingest.app import IngestDeps
from hub.ingest.credentials import CredentialStore
from hub.ingest.testing import MemoryLedger, MemoryPublisher
from hub.ingest.worker import BatchWorkers
from hub.security.keys import KeyIds, Keyring, inbound_mac, init_keyring
from hub.security.mac import Link, RecordMac
from schemas.common import Partner
from tests.e2e.processes import free_port
from tests.memory_ingest import ingest_client
from tests.orgs import TEST_ORGS
from tests.security.batchkit import Connection, police_csv, police_single
from tests.security.ingest_server import SUBJECT_KEY_SECRET, batch_tools, sealers

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


@dataclass
class _Rig:
    client: httpx.AsyncClient
    ledger: MemoryLedger
    publisher: MemoryPublisher
    headers: dict[str, str]
    workers: BatchWorkers

    async def post(self, body: bytes, content_type: str = "text/csv") -> httpx.Response:
        headers = {**self.headers, "Content-Type": content_type}
        return await self.client.post(POLICE, content=body, headers=headers, timeout=300)


@contextlib.asynccontextmanager
async def _rig(tmp_path: Path) -> AsyncIterator[_Rig]:
    """The ingest app in this process with real sealing and its batch worker processes."""
    init_keyring(tmp_path / "keys")
    credentials = CredentialStore(tmp_path / "credentials.json")
    token = credentials.add(Partner.POLICE, TEST_ORGS[Partner.POLICE])
    ledger, publisher = MemoryLedger(), MemoryPublisher()
    workers = BatchWorkers(functools.partial(batch_tools, tmp_path / "keys"))
    deps = IngestDeps(
        credentials=credentials,
        ledger=ledger,
        publishers={p: publisher if p is Partner.POLICE else MemoryPublisher() for p in Partner},
        sealers=sealers(tmp_path / "keys"),
        subject_key_secret=SUBJECT_KEY_SECRET,
        clock=lambda: datetime.now(UTC),
        batch_workers=workers,
    )
    async with ingest_client(deps) as client:
        yield _Rig(client, ledger, publisher, {"Authorization": f"Bearer {token}"}, workers)


def _worker_pids() -> set[int]:
    """This process's batch worker processes (spawned children)."""
    pids = set()
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"multiprocessing" in command and b"resource_tracker" not in command:
                    pids.add(int(pid))
    return pids


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_batch_is_parsed_and_sealed_outside_the_server_process(tmp_path: Path) -> None:
    batch, copies = police_csv(512 * 1024, run="W")
    async with _rig(tmp_path) as rig:
        prepared = await rig.workers.prepare(Partner.POLICE, batch, "text/csv", datetime.now(UTC))
        assert prepared.worker_pid != os.getpid()
        assert prepared.worker_pid in _worker_pids()
        assert prepared.count == copies * 3
        response = await rig.post(batch)
    assert response.status_code == 202, response.text
    assert len(response.json()["messages"]) == copies * 3
    # What the worker sealed verifies with the partner's MAC key, read from the keyring.
    keys = Keyring(tmp_path / "keys")
    mac = RecordMac(Link.INBOUND, KeyIds(keys, inbound_mac(Partner.POLICE)))
    assert len(rig.publisher.records) == copies * 3
    for record in rig.publisher.records:
        mac.verify(record.topic, record.partition, record.key, record.value, record.headers)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_killed_worker_loses_nothing_and_writes_nothing_twice(tmp_path: Path) -> None:
    warm, _ = police_csv(300 * 1024, run="K")
    batch, copies = police_csv(2 * 1024 * 1024, run="L")
    async with _rig(tmp_path) as rig:
        assert (await rig.post(warm)).status_code == 202  # the worker is up and initialised
        written = len(rig.publisher.records)
        known = len(rig.ledger)
        (victim,) = _worker_pids()
        upload = asyncio.create_task(rig.post(batch))
        await asyncio.sleep(0.5)  # the worker is busy with the batch (seconds of work)
        assert not upload.done()
        os.kill(victim, signal.SIGKILL)
        refused = await upload
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "Retry-After" in refused.headers
        assert "worker process stopped" in refused.json()["detail"]
        assert len(rig.publisher.records) == written  # nothing of the batch was written
        assert len(rig.ledger) == known

        # The app keeps serving: a single notification, then the batch again.
        single = await rig.post(police_single(1, run="Z"), "application/json")
        assert single.status_code == 202, single.text
        accepted = await rig.post(batch)
        assert accepted.status_code == 202, accepted.text
        assert victim not in _worker_pids()
        messages = accepted.json()["messages"]
        assert len(messages) == copies * 3
        assert not any(m["duplicate"] for m in messages)
        new = rig.publisher.records[written + 1 :]
        assert len(new) == copies * 3
        assert len({r.value for r in new}) == len(new)

        # A resend is answered as duplicates and writes nothing.
        again = await rig.post(batch)
        assert again.status_code == 202, again.text
        assert all(m["duplicate"] for m in again.json()["messages"])
        assert [m["message_id"] for m in again.json()["messages"]] == [
            m["message_id"] for m in messages
        ]
        assert len(rig.publisher.records) == written + 1 + copies * 3
