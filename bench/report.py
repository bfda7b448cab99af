"""What the benches print and save: the machine, its load, tables and the JSON result."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from hub.settings import BrokerSettings

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"


# ---------------------------------------------------------------------- the machine


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    mem_kib = int(meminfo[meminfo.index("MemTotal:") + 1])
    return {
        "cpu_model": model,
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiokafka": metadata.version("aiokafka"),
        "kafka": kafka_version(),
    }


def kafka_version() -> str:
    """The version of the local broker's jars (from their file names)."""
    settings = BrokerSettings()
    for jar in sorted(settings.cache_dir.glob("kafka-*/libs/kafka-server-[0-9]*.jar")):
        return jar.stem.removeprefix("kafka-server-")
    return "unknown"


async def settle(max_load: float, max_wait_s: float) -> list[float]:
    """Wait (bounded) for the 1-minute load to fall to ``max_load``; return the load then.

    Other people's test runs share this machine; a bench started on a busy machine says
    so in its result (``load_average_start``) rather than waiting forever.
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        if os.getloadavg()[0] <= max_load or time.monotonic() >= deadline:
            return load_average()
        await asyncio.sleep(5)


# ---------------------------------------------------------------------- figures


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.499999))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50, p95, p99 and max of durations in seconds, as milliseconds."""

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    return {
        "count": len(values_s),
        "p50_ms": ms(percentile(values_s, 50)),
        "p95_ms": ms(percentile(values_s, 95)),
        "p99_ms": ms(percentile(values_s, 99)),
        "max_ms": ms(max(values_s) if values_s else None),
    }


LATENCY_HEADERS = ("p50 ms", "p95 ms", "p99 ms", "max ms")
"""The columns of :func:`latency_cells`."""


def latency_cells(summary: dict[str, Any]) -> list[object]:
    """A :func:`summary_ms` as table cells: p50, p95, p99 and max."""
    return [summary["p50_ms"], summary["p95_ms"], summary["p99_ms"], summary["max_ms"]]


def cores_cell(cores_used: dict[str, Any], processes: Sequence[str]) -> str:
    """The cores each process used, in order, as ``a/b/c`` (``-`` where not measured)."""
    return "/".join(str(cores_used.get(name, "-")) for name in processes)


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print a plain-text table."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def code_version() -> dict[str, Any]:
    """The commit the figures were measured on, and whether the hub's code differed from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 -- fixed arguments
            [shutil.which("git") or "git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "hub", "connectors", "schemas", "deploy")
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(changed)}


def save_result(name: str, result: dict[str, Any]) -> None:
    """Merge one bench's result into ``bench/results/latest.json``."""
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        document = json.loads(RESULTS_FILE.read_text())
    except (FileNotFoundError, ValueError):
        document = {}
    document["machine"] = machine()
    document.setdefault("benches", {})[name] = {"code": code_version(), **result}
    document["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS_FILE.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def started_at() -> str:
    """Now, for a result's ``started_at``."""
    return datetime.now(UTC).isoformat(timespec="seconds")
