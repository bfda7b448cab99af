"""Bad input against the real ``hub connectors serve``: every case must get a 4xx with a reason.

The corpus (:mod:`bench.corpus`) is posted one case at a time. For each, the table
shows the status, the first reason the answer gives, and how long it took; after each
case the process must still be running. At the end a valid notification must still
be accepted (202). A case fails if it gets anything but a 4xx with a reason, or if
the process died or stopped answering.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from bench.common import free_port, rig
from bench.corpus import Case, cases
from bench.partner import first_reason
from bench.records import police_notification
from bench.report import table
from schemas.common import Partner


async def run() -> dict[str, Any]:
    """The bad-input bench."""
    rows: list[dict[str, Any]] = []
    async with rig("badinput") as r:
        port = free_port()
        tokens = {p: r.partner_token(p) for p in Partner}
        proc = r.start_connectors(port)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for case in cases():
                row = await _post(client, case, tokens)
                row["alive"] = proc.poll() is None
                rows.append(row)
                if not row["alive"]:
                    break
            valid = await client.post(
                "/v1/police/notifications",
                content=police_notification(uuid.uuid4().hex[:6], 0),
                headers={
                    "Authorization": f"Bearer {tokens[Partner.POLICE]}",
                    "Content-Type": "application/json",
                },
            )
        alive = proc.poll() is None
    failed = [row for row in rows if not row["ok"] or not row["alive"]]
    table(
        "Bad input: status and first reason per case",
        ["parser", "case", "status", "ms", "first reason", "ok"],
        [
            [
                row["target"],
                row["case"],
                row["status"],
                row["ms"],
                row["reason"][:90],
                "ok" if row["ok"] and row["alive"] else "FAIL",
            ]
            for row in rows
        ],
    )
    print(
        f"\n{len(rows)} cases, {len(rows) - len(failed)} refused with a 4xx and a reason, "
        f"{len(failed)} failed; process alive afterwards: {alive}; "
        f"a valid notification afterwards: {valid.status_code}"
    )
    return {
        "cases": len(rows),
        "refused_4xx_with_reason": len(rows) - len(failed),
        "failed": [f"{row['target']}: {row['case']} -> {row['status']}" for row in failed],
        "alive_afterwards": alive,
        "valid_afterwards_status": valid.status_code,
        "ok": not failed and alive and valid.status_code == 202,
        "rows": rows,
    }


async def _post(
    client: httpx.AsyncClient, case: Case, tokens: dict[Partner, str]
) -> dict[str, Any]:
    headers = {}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    partner = case.target.partner
    if case.credential == "own":
        headers["Authorization"] = f"Bearer {tokens[partner]}"
    elif case.credential == "other":
        other = next(p for p in Partner if p is not partner)
        headers["Authorization"] = f"Bearer {tokens[other]}"
    body = case.body()
    content = body() if callable(body) else body
    began = time.perf_counter()
    try:
        response = await client.post(case.target.path, content=content, headers=headers)
    except httpx.HTTPError as exc:
        status, reason = 0, f"{type(exc).__name__}: {exc}"[:160]
    else:
        status, reason = response.status_code, first_reason(response)
    return {
        "target": case.target.name,
        "case": case.name,
        "status": status,
        "reason": reason,
        "ms": round((time.perf_counter() - began) * 1000, 1),
        "ok": 400 <= status < 500 and bool(reason.strip()),
    }
