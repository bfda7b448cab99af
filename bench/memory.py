"""Peak and steady-state memory of the router and the connectors app under load.

The latency bench's rig (:func:`bench.latency.hub_under_load`: real ``hub router run``
and ``hub connectors serve`` processes, open-loop police notifications) runs for
``seconds``; every second ``/proc/<pid>/status`` gives each process's VmRSS, and at the
end VmHWM, the peak resident set of its whole life.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from bench.latency import hub_under_load
from bench.report import table

PROCESSES = ("router", "connectors")


async def run(rate: float, seconds: float) -> dict[str, Any]:
    """The memory bench."""
    result = await hub_under_load(rate, seconds, "memory")
    samples = result["memory_samples"]
    steady = samples[len(samples) // 2 :]  # the second half of the load: warmed up
    figures = {}
    quarter = max(1, len(samples) // 4)
    early, late = samples[quarter : 2 * quarter], samples[-quarter:]
    span_s = median(x["t"] for x in late) - median(x["t"] for x in early)
    messages_between = result["accepted"] / seconds * span_s
    for name in PROCESSES:
        rss = [s[name]["VmRSS"] for s in steady if "VmRSS" in s[name]]
        growth = median(x[name]["VmRSS"] for x in late) - median(x[name]["VmRSS"] for x in early)
        growth_mib = growth / 1024
        figures[name] = {
            "growth_mib_second_to_last_quarter": round(growth_mib, 1),
            "growth_mib_per_10k_messages": (
                round(growth_mib / messages_between * 10_000, 2) if messages_between else None
            ),
            "peak_vmhwm_mib": round(result["memory_end_kib"][name]["VmHWM"] / 1024, 1),
            "steady_vmrss_median_mib": round(median(rss) / 1024, 1) if rss else None,
            "steady_vmrss_max_mib": round(max(rss) / 1024, 1) if rss else None,
            "end_vmrss_mib": round(result["memory_end_kib"][name]["VmRSS"] / 1024, 1),
        }
    table(
        f"Memory under load ({rate:g} msg/s offered for {seconds:g} s; "
        f"{result['accepted']} accepted)",
        [
            "process",
            "VmHWM peak MiB",
            "steady VmRSS median MiB",
            "steady max MiB",
            "end MiB",
            "growth MiB per 10k msgs",
        ],
        [
            [
                name,
                f["peak_vmhwm_mib"],
                f["steady_vmrss_median_mib"],
                f["steady_vmrss_max_mib"],
                f["end_vmrss_mib"],
                f["growth_mib_per_10k_messages"],
            ]
            for name, f in figures.items()
        ],
    )
    return {
        "offered_rate": rate,
        "seconds": seconds,
        "accepted": result["accepted"],
        "processes": figures,
        "rss_timeline_mib": [
            {
                "t": s["t"],
                **{n: round(s[n].get("VmRSS", 0) / 1024, 1) for n in PROCESSES},
            }
            for s in samples
        ],
    }
