"""Faults of the broker itself, on a second broker of the bench's own (never the shared one).

The broker listens on 127.0.0.1:49092 (controller 49093) with its state in a temporary
folder. When this process may mount (root, ``mount`` present), the broker's data
directory is a 256 MiB tmpfs, so the disk can really fill up: ``write()`` then fails
with ENOSPC, as on a full disk. Otherwise the disk-full run says it could not be
simulated (the write-error run in :mod:`bench.faults` still shows a broker-side write
error reaching the partner).

- :func:`broker_restart`: the broker is killed (SIGKILL) during ingest and restarted;
  partners get 503 with Retry-After, retry, and each notification is on the inbound
  topic exactly once.
- :func:`disk_full`: a file fills the broker's disk during ingest; every refused
  notification got a 503 and is not on the topic, every acknowledged one is; after
  space is freed (and the broker restarted if it stopped) the refused ones are resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_port, rig, wait_http_ready
from bench.partner import Delivery, PartnerClient, inbound_references, summarise
from hub.broker.local import LocalBroker
from hub.settings import BrokerSettings, KafkaSettings
from schemas.common import Partner

PORT, CONTROLLER_PORT = 49092, 49093
OWN_BROKER = KafkaSettings(bootstrap_servers=f"127.0.0.1:{PORT}")
"""The bench's own broker runs without SASL, whatever the shared one does."""
DISK_MIB = 256
HEADROOM = 256 * 1024
"""Bytes left free when the disk is filled: room for about a hundred notifications."""
FAST_FAILURE = {
    "HUB_CONNECTORS__PUBLISH_TIMEOUT_S": "3",
    "HUB_CONNECTORS__RETRY_AFTER_S": "2",
    "HUB_KAFKA__REQUEST_TIMEOUT_MS": "3000",
}


@contextlib.contextmanager
def small_disk(path: Path, size_mib: int) -> Iterator[bool]:
    """Mount a tmpfs of ``size_mib`` at ``path`` if allowed; yield whether it is mounted."""
    path.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        yield False
        return
    options = f"size={size_mib}m,mode=0700"
    done = subprocess.run(  # noqa: S603 -- fixed arguments
        [mount, "-t", "tmpfs", "-o", options, "bench-kafka", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        umount = shutil.which("umount") or "/bin/umount"
        subprocess.run([umount, str(path)], check=False)  # noqa: S603 -- fixed arguments


@contextlib.asynccontextmanager
async def own_broker(tmp: Path) -> AsyncIterator[tuple[LocalBroker, bool]]:
    """The bench's own broker, on a small disk when possible; stopped on the way out."""
    state = tmp / "broker"
    with small_disk(state / "data", DISK_MIB) as on_small_disk:
        broker = LocalBroker(
            BrokerSettings(port=PORT, controller_port=CONTROLLER_PORT, state_dir=state, heap="512m")
        )
        await asyncio.to_thread(broker.start)
        try:
            yield broker, on_small_disk
        finally:
            await asyncio.to_thread(broker.stop)


async def broker_restart(broker: LocalBroker, notifications: int = 300) -> dict[str, Any]:
    """Kill the broker a third of the way through the ingest, restart it 10 s later."""
    async with rig("brokerfault", kafka=OWN_BROKER) as r:
        port = free_port()
        token = r.partner_token(Partner.POLICE)
        r.start_connectors(port, **FAST_FAILURE)
        partner_run = uuid.uuid4().hex[:6]
        deliveries: list[Delivery] = []
        timeline: dict[str, float] = {}
        began = time.monotonic()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            partner = PartnerClient(client, token, partner_run)
            indices = iter(range(notifications))
            deadline = time.monotonic() + 300

            a_third_done = asyncio.Event()

            async def worker() -> None:
                for index in indices:
                    deliveries.append(await partner.deliver(index, retry=True, deadline=deadline))
                    if len(deliveries) >= notifications // 3:
                        a_third_done.set()
                    await asyncio.sleep(0.1)

            async def chaos() -> None:
                await a_third_done.wait()
                timeline["killed_at_s"] = time.monotonic() - began
                await asyncio.to_thread(broker.kill)
                await asyncio.sleep(10)
                await asyncio.to_thread(broker.start)
                timeline["restarted_at_s"] = time.monotonic() - began

            await asyncio.gather(chaos(), *(worker() for _ in range(4)))
        timeline["done_at_s"] = time.monotonic() - began
        references = await inbound_references(r.kafka)
    expected = {partner.reference(i) for i in range(notifications)}
    wrong = [ref for ref in expected if references[ref] != 1]
    extra = set(references) - expected
    return {
        "ok": not wrong and not extra and all(d.accepted for d in deliveries),
        "partner": summarise(deliveries),
        "not_exactly_once": len(wrong),
        "unexpected_on_topic": len(extra),
        "timeline": {k: round(v, 1) for k, v in timeline.items()},
    }


async def disk_full(broker: LocalBroker, on_small_disk: bool) -> dict[str, Any]:
    """Fill the broker's disk during ingest; nothing refused is kept, nothing acked is lost."""
    if not on_small_disk:
        return {
            "ok": None,
            "simulated": False,
            "reason": "cannot mount a size-limited tmpfs here (needs root and mount); "
            "see the broker write-error run instead",
        }
    data = broker.data_dir
    async with rig("diskfull", kafka=OWN_BROKER) as r:
        port = free_port()
        token = r.partner_token(Partner.POLICE)
        connectors = r.start_connectors(port, **FAST_FAILURE)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            partner = PartnerClient(client, token, uuid.uuid4().hex[:6])
            deadline = time.monotonic() + 90
            before = [await partner.deliver(i, retry=False, deadline=deadline) for i in range(20)]
            filler, filled = _fill(data, HEADROOM)
            during = await _until_refused(partner, start=20, deadline=deadline)
            broker_after_fill = broker.status().running
            evidence = _evidence(broker.log_file)
            filler.unlink()
            if not broker.status().running:
                await asyncio.to_thread(broker.start)
            await asyncio.to_thread(
                wait_http_ready, f"{base}/health", connectors, r.log("connectors"), 180
            )
            seen_before_resend = await inbound_references(r.kafka)
            refused = [d for d in during if not d.accepted]
            resend_deadline = time.monotonic() + 120
            resent = [
                await partner.deliver(
                    int(d.reference.rsplit("/", 1)[1]), retry=True, deadline=resend_deadline
                )
                for d in refused
            ]
        seen_after = await inbound_references(r.kafka)
        log_text = r.log("connectors").read_text(errors="replace")
    acked = [d.reference for d in before + during if d.accepted]
    lost = [ref for ref in acked if seen_before_resend[ref] != 1]
    refused_but_kept = [d.reference for d in refused if seen_before_resend[d.reference]]
    not_once_after = [d.reference for d in before + during if seen_after[d.reference] != 1]
    return {
        "ok": bool(refused)
        and not lost
        and not refused_but_kept
        and not not_once_after
        and all(d.accepted for d in resent),
        "simulated": True,
        "method": f"broker data dir on a {DISK_MIB} MiB tmpfs, filled by a file to "
        f"{HEADROOM // 1024} KiB free",
        "filled_bytes": filled,
        "during": summarise(during),
        "refused_statuses": sorted({s for d in refused for s in d.statuses}),
        "acked_lost": len(lost),
        "refused_but_on_topic": len(refused_but_kept),
        "broker_running_after_fill": broker_after_fill,
        "broker_log_evidence": evidence,
        "publish_failed_log_lines": log_text.count('"publish_failed"'),
        "resent": summarise(resent),
        "not_exactly_once_after_resend": len(not_once_after),
    }


EVIDENCE = ("No space left on device", "KafkaStorageException", "have failed", "Shutdown broker")


def _evidence(log: Path) -> list[str]:
    """The broker's own log lines about the full disk (first of each kind)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    found = []
    for needle in EVIDENCE:
        line = next((line.strip()[:240] for line in lines if needle in line), None)
        if line is not None and line not in found:
            found.append(line)
    return found


def _fill(data: Path, headroom: int) -> tuple[Path, int]:
    """Write a file into the broker's disk until ``headroom`` bytes are left."""
    filler = data / "bench-filler.bin"
    stat = os.statvfs(data)
    size = max(0, stat.f_bavail * stat.f_frsize - headroom)
    chunk = b"\0" * (1 << 20)
    with filler.open("wb") as out:
        written = 0
        while written + len(chunk) <= size:
            out.write(chunk)
            written += len(chunk)
        out.write(b"\0" * (size - written))
    return filler, size


async def _until_refused(partner: PartnerClient, start: int, deadline: float) -> list[Delivery]:
    """Post one notification at a time until 10 in a row are refused (or the deadline)."""
    out: list[Delivery] = []
    refused_in_a_row = 0
    index = start
    while refused_in_a_row < 10 and time.monotonic() < deadline and index < start + 2000:
        delivery = await partner.deliver(index, retry=False, deadline=deadline)
        out.append(delivery)
        refused_in_a_row = 0 if delivery.accepted else refused_in_a_row + 1
        index += 1
    return out
