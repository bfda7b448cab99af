"""Scale-out: one, two and three router processes on the 6-partition input.

For k in 1, 2, 3: pre-produce the same ``n`` sealed and signed records to a fresh rig,
start k ``hub router run`` processes together, and time the drain (first commit to lag
0, from the group's committed offsets). Then a rebalance in the middle: one router
starts, a second joins once 30% is routed, and afterwards ``hub.decisions`` and every
route topic are read back (``read_committed``) to check each message has exactly one
decision record, its routed copies, and intact audit chains.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Usage, hub_with_keys, rig, router_stats, stop_process
from bench.records import OnceCheck, drain, encode, envelopes, exactly_once, produce
from bench.report import table
from hub.security.envelope import InboundRecord
from hub.security.keys import init_keyring
from schemas.envelope import Envelope

COUNTS = (1, 2, 3)
JOIN_AT = 0.3


async def run(messages: int) -> dict[str, Any]:
    """The scale-out bench."""
    sent = envelopes(messages)
    keys = Path(tempfile.mkdtemp(prefix="bench-keys-"))
    try:
        init_keyring(keys)
        records = encode(hub_with_keys(keys), sent)
        rows = [await _drain_with(k, records, keys) for k in COUNTS]
        rebalance = await _rebalance(sent, records, keys)
    finally:
        shutil.rmtree(keys, ignore_errors=True)
    _print(rows, rebalance)
    return {"messages": messages, "rows": rows, "rebalance": rebalance}


async def _drain_with(k: int, records: list[InboundRecord], keys: Path) -> dict[str, Any]:
    async with rig(f"scale{k}", keys=keys) as r:
        ends = await produce(r.kafka, records)
        began = time.monotonic()
        procs = [r.start_router(f"router-{i}") for i in range(k)]
        usage = Usage({f"router-{i}": p.pid for i, p in enumerate(procs)})
        result = await drain(
            r.kafka, "router", ends, timeout_s=max(600, len(records) / 50), members=k
        )
        cores = usage.cores()
        for proc in procs:
            stop_process(proc)
        rate = result.rate_when_stable()
        return {
            "routers": k,
            "drained": result.done_at is not None,
            "msg_per_s": round(rate, 1) if rate else None,
            "msg_per_s_per_router": round(rate / k, 1) if rate else None,
            "backlog_when_group_formed": result.backlog_at_stable,
            "msg_per_s_from_first_commit": round(result.rate() or 0, 1) or None,
            "msg_per_s_including_startup": (
                round(len(records) / (result.done_at - began), 1) if result.done_at else None
            ),
            "routed_by": {f"router-{i}": router_stats(r.log(f"router-{i}")) for i in range(k)},
            "cores_used": cores,
        }


async def _rebalance(
    sent: list[Envelope], records: list[InboundRecord], keys: Path
) -> dict[str, Any]:
    async with rig("rebalance", keys=keys) as r:
        ends = await produce(r.kafka, records)
        first = r.start_router("router-a")
        timeout = max(600, len(sent) / 50)
        await drain(
            r.kafka, "router", ends, timeout_s=timeout, until_lag=int(len(sent) * (1 - JOIN_AT))
        )
        second = r.start_router("router-b")
        result = await drain(r.kafka, "router", ends, timeout_s=timeout)
        stop_process(second)
        stop_process(first)
        check: OnceCheck = await exactly_once(r.kafka, sent)
        routed_by = {n: router_stats(r.log(n)) for n in ("router-a", "router-b")}
        return {
            "drained": result.done_at is not None,
            "rebalanced": all(s.get("routed") for s in routed_by.values()),
            "joined_after_routed": int(len(sent) * JOIN_AT),
            "routed_by": routed_by,
            "check": check.as_dict(),
        }


def _cores(cores: dict[str, float]) -> str:
    routers = sum(v for k, v in cores.items() if k.startswith("router"))
    return f"{routers:.2f}/{cores.get('broker', '-')}/{cores['machine']}"


def _print(rows: list[dict[str, Any]], rebalance: dict[str, Any]) -> None:
    table(
        "Scale-out: k router processes draining the same backlog (6 partitions)",
        [
            "routers",
            "msg/s (all joined)",
            "per router",
            "backlog then",
            "msg/s from 1st commit",
            "msg/s incl. start",
            "routed by each",
            "cores: routers/broker/machine",
        ],
        [
            [
                row["routers"],
                row["msg_per_s"],
                row["msg_per_s_per_router"],
                row["backlog_when_group_formed"],
                row["msg_per_s_from_first_commit"],
                row["msg_per_s_including_startup"],
                ", ".join(str(s.get("routed")) for s in row["routed_by"].values()),
                _cores(row["cores_used"]),
            ]
            for row in rows
        ],
    )
    check = rebalance["check"]
    routed = {n: s.get("routed") for n, s in rebalance["routed_by"].items()}
    verdict = "PASS" if check["ok"] else "FAIL"
    if not rebalance["rebalanced"]:
        verdict += " (but the second router routed nothing: no rebalance was exercised)"
    print(
        f"\nRebalance (second router joins after {rebalance['joined_after_routed']:,} routed): "
        f"{verdict}: {check['decisions']:,} decision records for "
        f"{check['sent']:,} messages; missing {check['missing']}, duplicated "
        f"{check['duplicated']}, unexpected {check['unexpected']}, routed copies wrong "
        f"{check['copies_wrong']}, chain breaks {len(check['chain_breaks'])}; routed by {routed}"
    )
