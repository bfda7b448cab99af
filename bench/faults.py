"""Faults, each bounded in time and count, on loopback only, each printing PASS or FAIL.

1. SIGKILL of ``hub router run`` mid-stream, then a restart: every message has exactly
   one decision record and its routed copies, and the audit chains are intact.
2. The broker killed and restarted during ingest (:mod:`bench.faults_broker`, on a
   broker of the bench's own): 503 + Retry-After, retries, each notification once.
3. A slow team consumer (group ``team-mash``): its lag grows, the monitor's collector
   flags it (WARN, then STALL/STOP when it stops committing and leaves), and nothing
   is lost once it catches up.
4. The broker's disk full (:mod:`bench.faults_broker`): refusals are 503s, nothing
   refused is kept and nothing acknowledged is lost.
5. Broker-side write errors on the shared broker (a record larger than the topic's
   ``max.message.bytes``; ``min.insync.replicas`` above the replica count): the partner
   gets a refusal, the connector logs it, nothing is acknowledged or kept.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    rig,
    router_stats,
    stop_process,
)
from bench.faults_broker import broker_restart, disk_full, own_broker
from bench.records import drain, encode, envelopes, exactly_once, lag, produce
from bench.slow_team import slow_team
from bench.write_errors import write_errors


async def sigkill(messages: int) -> dict[str, Any]:
    """SIGKILL the router once 30% is routed; restart it; check exactly once."""
    sent = envelopes(messages)
    async with rig("sigkill") as r:
        ends = await produce(r.kafka, encode(r.hub, sent))
        first = r.start_router("router-a")
        await drain(r.kafka, "router", ends, timeout_s=300, until_lag=int(messages * 0.7))
        first.kill()
        first.wait()
        left = await lag(r.kafka, "router", ends)
        restarted = time.monotonic()
        second = r.start_router("router-a")
        result = await drain(r.kafka, "router", ends, timeout_s=600)
        rc = stop_process(second)
        stats = router_stats(r.log("router-a"))
        check = await exactly_once(r.kafka, sent)
    return {
        "ok": check.ok and left > 0 and result.done_at is not None,
        "messages": messages,
        "lag_at_kill": left,
        "seconds_restart_to_drained": (
            round(result.done_at - restarted, 1) if result.done_at else None
        ),
        "restarted_router_exit": rc,
        "restarted_router_stats": stats,
        "check": check.as_dict(),
    }


async def run(messages: int) -> dict[str, Any]:
    """Every fault in turn; a table of PASS/FAIL with the numbers."""
    results: dict[str, Any] = {"sigkill_router": await sigkill(messages)}
    with tempfile.TemporaryDirectory(prefix="bench-ownbroker-") as tmp:
        try:
            async with own_broker(Path(tmp)) as (broker, on_small_disk):
                results["broker_restart"] = await broker_restart(broker)
                results["disk_full"] = await disk_full(broker, on_small_disk)
        except Exception as exc:  # noqa: BLE001 -- a fault run reports, it does not crash
            results.setdefault("broker_restart", {"ok": False, "error": repr(exc)[:300]})
            results.setdefault("disk_full", {"ok": False, "error": repr(exc)[:300]})
    results["slow_team_consumer"] = await slow_team()
    results["broker_write_errors"] = await write_errors()
    _print(results)
    return results


def _print(results: dict[str, Any]) -> None:
    def verdict(ok: bool | None) -> str:
        return {True: "PASS", False: "FAIL", None: "NOT RUN"}[ok]

    print("\nFaults")
    for name, res in results.items():
        print(f"  {name}: {verdict(res.get('ok'))}")
        print(f"      {_numbers(name, res)}")


def _numbers(name: str, res: dict[str, Any]) -> str:
    if "error" in res:
        return f"error: {res['error']}"
    return _DESCRIBE[name](res)


def _sigkill_numbers(res: dict[str, Any]) -> str:
    c = res["check"]
    return (
        f"{c['sent']:,} msgs, lag at kill {res['lag_at_kill']:,}; decisions "
        f"{c['decisions']:,}, missing {c['missing']}, duplicated {c['duplicated']}, "
        f"copies wrong {c['copies_wrong']}, chain breaks {len(c['chain_breaks'])}"
    )


def _restart_numbers(res: dict[str, Any]) -> str:
    p = res["partner"]
    return (
        f"{p['notifications']} notifications, answers {p['answers']}, Retry-After "
        f"{p['retry_after_values']}, max attempts {p['max_attempts']}; not exactly "
        f"once {res['not_exactly_once']}; {res['timeline']}"
    )


def _disk_numbers(res: dict[str, Any]) -> str:
    if not res.get("simulated"):
        return str(res.get("reason"))
    d = res["during"]
    return (
        f"answers while full {d['answers']}, first refusal {d['first_refusal']!r}; "
        f"acked lost {res['acked_lost']}, refused but kept "
        f"{res['refused_but_on_topic']}; broker running after fill "
        f"{res['broker_running_after_fill']}; resent ok "
        f"{res['resent']['accepted']}/{res['resent']['notifications']}"
    )


def _slow_team_numbers(res: dict[str, Any]) -> str:
    return (
        f"status by phase {res['statuses_by_phase']}; max lag {res['max_lag']}; "
        f"lost {res['lost']}, redelivered {res['redelivered']}"
    )


def _write_error_numbers(res: dict[str, Any]) -> str:
    cases = "; ".join(
        f"{case}: broker alone {v['broker_alone']}; hub answers {v['partner']['answers']}, "
        f"acked {v['acknowledged']}, kept {v['kept_on_topic']}, reason "
        f"{v['partner']['first_refusal']!r}"
        for case, v in res["cases"].items()
    )
    return f"{cases}; log lines {res['publish_failed_log_lines']}"


_DESCRIBE = {
    "sigkill_router": _sigkill_numbers,
    "broker_restart": _restart_numbers,
    "disk_full": _disk_numbers,
    "slow_team_consumer": _slow_team_numbers,
    "broker_write_errors": _write_error_numbers,
}
