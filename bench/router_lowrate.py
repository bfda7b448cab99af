"""The router's CPU per message at a low, steady rate, without the HTTP front door.

``python -m bench.router_lowrate --rate 200 --duration 30 [--window-ms N]``: a paced
producer writes sealed inbound records (the demo day's envelopes, new ids) at ``rate``
a second, each sent at its scheduled time (idempotent, ``acks=all``, no transaction),
while ``hub router run`` routes them and :mod:`bench.watch` notes when each routed
copy becomes visible. It prints the router's and the broker's CPU time per message, the
router's transactions per second and messages per transaction, and the latency from
the inbound record's acknowledgement to the routed copy's visibility.

At 200 msg/s the latency bench's machine is nearly full (the app, the generator, the
router, the broker); this leaves the app out, so the router's cost per message can be
compared A/B (``--window-ms 0`` is the router without a batch window) on a shared
machine. The broker's figure includes whatever else the shared broker serves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bench.common import Usage, rig, router_stats, stop_process
from bench.latency import wait_visible
from bench.records import encode, envelopes
from bench.report import summary_ms
from hub.kafka import make_producer, started
from hub.security.envelope import InboundRecord
from hub.settings import KafkaSettings

WARM_UP = 40


async def _paced(
    kafka: KafkaSettings, records: list[tuple[str, InboundRecord]], rate: float
) -> dict[str, float]:
    """Send each record at its scheduled time; message id -> unix time of its ack."""
    acked: dict[str, float] = {}
    producer = make_producer(kafka, "bench-lowrate")
    async with started(producer, "bench low-rate producer"):
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        pending = []
        for i, (message_id, r) in enumerate(records):
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            future = await producer.send(
                kafka.topic(r.topic), r.value, key=r.key, partition=r.partition,
                headers=list(r.headers),
            )  # fmt: skip
            future.add_done_callback(lambda _f, m=message_id: acked.setdefault(m, time.time()))
            pending.append(future)
        await asyncio.gather(*pending)
    return acked


async def run(rate: float, duration: float, window_ms: int | None) -> dict[str, Any]:
    """One run: warm up, offer ``rate`` for ``duration`` s, and measure."""
    count = int(rate * duration)
    sent = envelopes(WARM_UP + count)
    async with rig("lowrate") as r:
        encoded = [
            (str(e.message_id), rec) for e, rec in zip(sent, encode(r.hub, sent), strict=True)
        ]
        env = {} if window_ms is None else {"HUB_ROUTER__BATCH_WINDOW_MS": str(window_ms)}
        router = r.start_router(**env)
        sightings = r.tmp / "sightings.txt"
        r.start(["bench.watch", "--out", str(sightings)], "watch")
        warm = await _paced(r.kafka, encoded[:WARM_UP], 20)
        await wait_visible(sightings, set(warm), 120)
        before = router_stats_now(r)
        usage = Usage({"router": router.pid})
        acked = await _paced(r.kafka, encoded[WARM_UP:], rate)
        seen = await wait_visible(sightings, set(acked), 60)
        cores = usage.cores()
        wall = duration + 0.2
        stop_process(router)
        stats = router_stats(r.log("router"))
        transactions = (stats.get("transactions") or 0) - before
        latencies = [seen[m] - t for m, t in acked.items() if m in seen]
        return {
            "rate": rate,
            "duration_s": duration,
            "window_ms": window_ms,
            "messages": len(acked),
            "never_visible": len(set(acked) - seen.keys()),
            "router_cpu_ms_per_msg": round(1000 * cores["router"] * wall / len(acked), 3),
            "broker_cpu_ms_per_msg": round(1000 * cores.get("broker", 0) * wall / len(acked), 3),
            "transactions_per_s": round(transactions / wall, 1),
            "messages_per_transaction": round(len(acked) / max(1, transactions), 2),
            "ack_to_visible": summary_ms(latencies),
            "cores": cores,
        }


def router_stats_now(r: Any) -> int:
    """Transactions the router logged so far (one ``batch_committed`` line each)."""
    text = r.log("router").read_text(errors="replace")
    return sum(1 for line in text.splitlines() if '"batch_committed"' in line)


def main() -> None:
    """Parse the arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument(
        "--window-ms", type=int, default=None, help="the router's; default: its own"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.rate, args.duration, args.window_ms))))


if __name__ == "__main__":
    main()
