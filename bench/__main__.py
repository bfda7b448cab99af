"""``python -m bench <name>|all``: run benchmarks, print their tables, save the JSON result.

Each bench is a script that prints figures; none asserts a time. Results are merged
into ``bench/results/latest.json`` under the bench's name, with the load average at
its start and end (this 2-core machine is shared: a high load means noisy figures).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import (
    bad_input,
    batch_upload,
    crypto,
    faults,
    ingest,
    latency,
    memory,
    router_throughput,
    scaleout,
)
from bench.common import kafka_from_env, quiet_logging
from bench.report import load_average, save_result, settle, started_at
from hub.kafka import KafkaAdmin

LEFT_BEHIND = re.compile(r"^bench-[a-z0-9-]+-[0-9a-f]{8}\.")
"""Topics of a bench rig (see :func:`bench.common.rig`)."""

Runner = Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]

BENCHES: dict[str, Runner] = {
    "router_throughput": lambda a: router_throughput.run(a.messages),
    "crypto": lambda a: crypto.run(min(a.messages, 5_000)),
    "latency": lambda a: latency.run(a.rates, a.duration),
    "ingest": lambda a: ingest.run(a.concurrency, a.ingest_seconds),
    "scaleout": lambda a: scaleout.run(a.messages),
    "memory": lambda a: memory.run(a.memory_rate, a.memory_seconds),
    "faults": lambda a: faults.run(a.fault_messages),
    "bad_input": lambda _a: bad_input.run(),
    "batch_upload": lambda _a: batch_upload.run(),
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "name",
        choices=[*BENCHES, "all", "clean"],
        help="which bench, or all; clean deletes topics an interrupted run left behind",
    )
    parser.add_argument("--messages", type=int, default=20_000, help="throughput and scale-out")
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[200.0, 100.0, 50.0],
        help="offered msg/s of the latency runs, e.g. 200,100,50",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (latency)")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 4, 8, 16, 32, 64],
        help="closed-loop clients of the ingest bench, e.g. 1,4,16",
    )
    parser.add_argument("--ingest-seconds", type=float, default=20.0, help="per concurrency")
    parser.add_argument("--memory-rate", type=float, default=200.0, help="offered msg/s (memory)")
    parser.add_argument("--memory-seconds", type=float, default=60.0, help="load for memory")
    parser.add_argument("--fault-messages", type=int, default=10_000, help="SIGKILL run size")
    parser.add_argument(
        "--max-load", type=float, default=2.0, help="wait for the 1-min load to fall to this"
    )
    parser.add_argument("--max-wait", type=float, default=60.0, help="...but no longer (s)")
    parser.add_argument("--no-save", action="store_true", help="print only")
    return parser.parse_args()


async def _run_one(name: str, args: argparse.Namespace) -> None:
    load = await settle(args.max_load, args.max_wait)
    broker = kafka_from_env()
    print(
        f"\n=== {name} (load average {load}, broker {broker.bootstrap_servers} "
        f"{broker.security_protocol})",
        flush=True,
    )
    began, when = time.monotonic(), started_at()
    result = await BENCHES[name](args)
    document = {
        "started_at": when,
        "load_average_start": load,
        "load_average_end": load_average(),
        "seconds": round(time.monotonic() - began, 1),
        **result,
    }
    if not args.no_save:
        save_result(name, document)
    print(f"=== {name} done in {document['seconds']} s", flush=True)


async def _clean() -> None:
    kafka = kafka_from_env()
    async with KafkaAdmin(kafka, "bench-clean") as admin:
        names = [n for n in await admin.list_topics() if LEFT_BEHIND.match(n)]
        if names:
            await admin.delete_topics(names)
    prefixes = sorted({n.split(".", 1)[0] for n in names})
    print(f"deleted {len(names)} topics of {len(prefixes)} bench runs: {prefixes}")


def main() -> None:
    """Run the chosen bench, or all of them in turn."""
    args = _arguments()
    quiet_logging()
    if args.name == "clean":
        asyncio.run(_clean())
        return
    names = list(BENCHES) if args.name == "all" else [args.name]

    async def everything() -> None:
        for name in names:
            await _run_one(name, args)

    asyncio.run(everything())


main()
