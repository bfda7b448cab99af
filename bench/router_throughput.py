"""Router throughput against a raw aiokafka consume-transform-produce pipe.

For each crypto mode (encryption and record MACs on; both off) the same ``n`` inbound
records are pre-produced to a fresh 6-partition layout, then drained by:

- ``hub router run`` (a real process: transactional, exactly-once, per-partition tasks);
- :mod:`bench.rawpipe` with transactions on, and with transactions off (1 record a
  message);
- :mod:`bench.rawpipe` writing the same records per message as the router, as many and
  as large (measured by :func:`handler_profile` in the same invocation), transactions on.

Each drain is timed by polling the group's committed offsets every 100 ms: from the
first commit (process start-up and group join excluded) to lag 0. Finally a cProfile of
:func:`hub.router.handler.route_record` on pre-built records, in-process and without Kafka,
shows where the router's time goes.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from pathlib import Path
from typing import Any

from bench.common import Rig, Usage, quiet_logging, rig, router_stats, rss_kib, stop_process
from bench.records import Drain, drain, encode, envelopes, produce
from bench.report import cores_cell, table
from hub.router.handler import InRecord, TaskState, route_record
from hub.router.history import HistoryStore, SqliteStateStore
from hub.security.envelope import InboundRecord
from hub.settings import RouterSettings
from hub.topology import DLQ

PROFILE_LINES = 15
HANDLER_REPEATS = 3


async def run(messages: int) -> dict[str, Any]:
    """Every pipeline on both crypto modes; returns the result for the JSON file."""
    sent = envelopes(messages)
    runs: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    for crypto in (True, False):
        async with rig("thr-router", encrypt=crypto, sign=crypto) as r:
            records = encode(r.hub, sent)
            runs.append(await _router_run(r, records, crypto))
            profiles["on" if crypto else "off"] = handler_profile(r, records[:5000])
        if crypto:
            async with rig("thr-profiled") as r:
                profiles["process"] = await process_profile(r, encode(r.hub, sent))
        for transactions in (True, False):
            async with rig("thr-raw") as r:
                runs.append(await _raw_run(r, records, crypto=crypto, transactions=transactions))
        async with rig("thr-raw") as r:
            shape = profiles["on" if crypto else "off"]
            runs.append(await _raw_run(r, records, crypto=crypto, transactions=True, same=shape))
        if crypto:
            async with rig("thr-raw") as r:
                runs.append(
                    await _raw_run(r, records, crypto=crypto, transactions=True, overlap=True)
                )
    ratios = _ratios(runs)
    _print(runs, ratios, profiles)
    return {"messages": messages, "runs": runs, "ratios": ratios, "handler": profiles}


async def _router_run(r: Rig, records: list[InboundRecord], crypto: bool) -> dict[str, Any]:
    ends = await produce(r.kafka, records)
    started = time.monotonic()
    proc = r.start_router()
    usage = Usage({"router": proc.pid})
    result = await drain(r.kafka, "router", ends, timeout_s=max(600, len(records) / 50))
    memory, cores = rss_kib(proc.pid), usage.cores()
    stop_process(proc)
    stats = router_stats(r.log("router"))
    return _row("router", records, result, started, crypto=crypto, transactions=True) | {
        "cores_used": cores,
        "rss_kib": memory,
        "router_stats": stats,
    }


async def _raw_run(
    r: Rig,
    records: list[InboundRecord],
    *,
    crypto: bool,
    transactions: bool,
    overlap: bool = False,
    same: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ends = await produce(r.kafka, records)
    started = time.monotonic()
    args = ["bench.rawpipe", "--transactions", "on" if transactions else "off"]
    args += ["--max-batch", str(RouterSettings().max_batch)]
    args += ["--overlap"] if overlap else []
    if same is not None:
        args += ["--records-per-message", str(same["records_written_per_message"])]
        args += ["--bytes-per-message", str(same["bytes_written_per_message"])]
    proc = r.start(args, "rawpipe")
    usage = Usage({"pipe": proc.pid})
    result = await drain(r.kafka, "rawpipe", ends, timeout_s=max(600, len(records) / 50))
    memory, cores = rss_kib(proc.pid), usage.cores()
    stop_process(proc)
    name = "raw pipe, tasks overlapped" if overlap else "raw pipe"
    name = "raw pipe, same records" if same is not None else name
    row = _row(name, records, result, started, crypto=crypto, transactions=transactions)
    shape = (
        {
            "records_per_message": same["records_written_per_message"],
            "bytes_per_message": same["bytes_written_per_message"],
        }
        if same is not None
        else {"records_per_message": 1}
    )
    return row | {"cores_used": cores, "rss_kib": memory, "writes": shape}


def _row(
    pipeline: str,
    records: list[InboundRecord],
    result: Drain,
    started: float,
    *,
    crypto: bool,
    transactions: bool,
) -> dict[str, Any]:
    rate = result.rate()
    wall = result.done_at - started if result.done_at else None
    return {
        "pipeline": pipeline,
        "crypto": crypto,
        "transactions": transactions,
        "drained": result.done_at is not None,
        "msg_per_s": round(rate, 1) if rate else None,
        "msg_per_s_including_startup": round(len(records) / wall, 1) if wall else None,
        "seconds_first_commit_to_lag0": (
            round(result.done_at - result.first_commit_at, 2)
            if result.done_at and result.first_commit_at
            else None
        ),
        "mean_record_bytes": round(sum(len(x.value) for x in records) / len(records)),
    }


def _ratios(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    rates = {(r["pipeline"], r["crypto"], r["transactions"]): r["msg_per_s"] for r in runs}
    out: dict[str, float | None] = {}
    for crypto in (True, False):
        router = rates.get(("router", crypto, True))
        for transactions in (True, False):
            raw = rates.get(("raw pipe", crypto, transactions))
            name = f"router_crypto_{'on' if crypto else 'off'}_vs_raw_txn_"
            name += "on" if transactions else "off"
            out[name] = round(router / raw, 3) if router and raw else None
        same = rates.get(("raw pipe, same records", crypto, True))
        name = f"router_crypto_{'on' if crypto else 'off'}_vs_raw_same_records_txn_on"
        out[name] = round(router / same, 3) if router and same else None
    return out


# ---------------------------------------------------------------------- the profiles


async def process_profile(r: Rig, records: list[InboundRecord]) -> dict[str, Any]:
    """The whole ``hub router run`` process under cProfile, draining the same backlog.

    The handler profile shows the per-message work; this one shows what the process
    spends besides it (Kafka client, event loop, logging). cProfile slows everything,
    so its rate is not a throughput figure.
    """
    ends = await produce(r.kafka, records)
    out = r.tmp / "router.pstats"
    proc = r.start(
        ["cProfile", "-o", str(out), "-m", "hub", "router", "run"],
        "router",
        HUB_ROUTER__INSTANCE="router",
    )
    result = await drain(r.kafka, "router", ends, timeout_s=max(600, len(records) / 25))
    stop_process(proc)
    text = io.StringIO()
    stats = pstats.Stats(str(out), stream=text)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    return {
        "records": len(records),
        "drained": result.done_at is not None,
        "breakdown_seconds": _breakdown(stats),
        "top_tottime": _trimmed(text.getvalue()),
    }


BREAKDOWN = {
    "route_record (the handler)": ("router/handler.py", "route_record", "cumulative"),
    "_commit (the transaction: sends and round trips)": (
        "router/service.py",
        "_commit",
        "cumulative",
    ),
    "getmany (fetching)": ("consumer.py", "getmany", "cumulative"),
    "waiting in epoll (idle: broker round trips)": (
        "~",
        "<method 'poll' of 'select.epoll' objects>",
        "own",
    ),
}


def _breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Where the process's time went, in a few buckets (seconds; buckets may overlap)."""
    rows = stats.stats  # type: ignore[attr-defined]
    out = {"total (own time of every function)": round(sum(r[2] for r in rows.values()), 2)}
    for label, (file, function, kind) in BREAKDOWN.items():
        found = [
            r[3] if kind == "cumulative" else r[2]
            for (f, _line, name), r in rows.items()
            if f.endswith(file) and name == function
        ]
        out[label] = round(max(found, default=0.0), 2)
    return out


def handler_profile(r: Rig, records: list[InboundRecord]) -> dict[str, Any]:
    """route_record alone: its rate in-process (CPU time, best of 3), and a cProfile top list."""
    hub = r.hub
    quiet_logging()
    ctx = hub.router_context()
    inbound = [_in_record(i, rec) for i, rec in enumerate(records)]
    best = float("inf")
    for run in range(HANDLER_REPEATS):  # the best of a few: the machine is shared
        started = time.process_time()
        written, size = _route_all(inbound, ctx, r.tmp / f"plain-{run}")
        best = min(best, time.process_time() - started)
    rate = len(inbound) / best
    profiler = cProfile.Profile()
    profiler.enable()
    _route_all(inbound, ctx, r.tmp / "profiled")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    by_tottime = _trimmed(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(PROFILE_LINES + 10)
    return {
        "records": len(inbound),
        "handler_msg_per_s": round(rate, 1),
        "records_written_per_message": round(written / len(inbound), 2),
        "bytes_written_per_message": round(size / len(inbound)),
        "top_tottime": by_tottime,
        "top_cumulative": _trimmed(out.getvalue()),
    }


def _route_all(inbound: list[InRecord], ctx: Any, state_dir: Path) -> tuple[int, int]:
    """Route every record with fresh task states; return the records and bytes written."""
    states = {
        p: TaskState(p, HistoryStore(SqliteStateStore(state_dir / f"task-{p}.sqlite")))
        for p in range(6)
    }
    written = size = 0
    for record in inbound:
        out = route_record(record, ctx, states[record.partition])
        if any(o.topic == DLQ for o in out):
            raise RuntimeError("a bench record was dead-lettered: the profile would be wrong")
        written += len(out)
        size += sum(len(o.value) + len(o.key or b"") for o in out)
    return written, size


def _in_record(offset: int, record: InboundRecord) -> InRecord:
    return InRecord(
        topic=record.topic,
        partition=record.partition,
        offset=offset,
        key=record.key,
        value=record.value,
        headers=record.headers,
    )


def _trimmed(text: str) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return [line.rstrip() for line in lines[start:] if line.strip()]


def _cores(run: dict[str, Any]) -> str:
    process = "router" if run["pipeline"] == "router" else "pipe"
    return cores_cell(run["cores_used"], (process, "broker", "machine"))


def _print(
    runs: list[dict[str, Any]], ratios: dict[str, float | None], profiles: dict[str, Any]
) -> None:
    table(
        "Router vs raw pipe (msg/s from first commit to lag 0)",
        [
            "pipeline",
            "crypto",
            "txn",
            "msg/s",
            "msg/s incl. start",
            "bytes/rec",
            "RSS peak MiB",
            "cores: process/broker/machine",
        ],
        [
            [
                run["pipeline"],
                "on" if run["crypto"] else "off",
                "on" if run["transactions"] else "off",
                run["msg_per_s"],
                run["msg_per_s_including_startup"],
                run["mean_record_bytes"],
                round(run["rss_kib"].get("VmHWM", 0) / 1024, 1),
                _cores(run),
            ]
            for run in runs
        ],
    )
    table("Ratios router / raw pipe", ["comparison", "ratio"], list(ratios.items()))
    for mode in ("on", "off"):
        profile = profiles[mode]
        print(
            f"\nroute_record alone, crypto {mode}: {profile['handler_msg_per_s']:,.0f} msg/s "
            f"in-process ({profile['records']} records, no Kafka); it writes "
            f"{profile['records_written_per_message']} records per message (the raw pipe: 1)"
        )
    print("\ncProfile of route_record, crypto on, top 15 by own time:")
    print("\n".join(profiles["on"]["top_tottime"]))
    process = profiles["process"]
    print("\ncProfile of the whole `hub router run` process, crypto on (start-up included):")
    for label, seconds in process["breakdown_seconds"].items():
        print(f"  {label}: {seconds} s")
    print("Top 15 by own time:")
    print("\n".join(process["top_tottime"]))
