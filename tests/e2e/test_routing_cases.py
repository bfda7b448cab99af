"""Cases of the routing case table, end to end: HTTP ingest, Kafka, the router, the status.

One case per partner (and one returned message) is posted in the partner's own format
to the real ingest process, routed by the real router process on the broker, and read
back from the partner's status endpoint: where it went, and for a returned message
what to add.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.registry import connector_for
from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from schemas.common import Partner
from tests.e2e.processes import free_port, hub_env, partner_token, start, stop, wait_http_ready
from tests.partner_documents import CONTENT_TYPES
from tests.unit.policy.test_cases import CASES

END_TO_END = (
    "police: 14-year-old girl seen getting into cars with older men",
    "health: GP finds FGM in an 8-year-old",
    "housing: mother and 6-year-old fleeing domestic abuse",
    "DA service: 16-year-old victim discloses sexual abuse by her boyfriend",
    "police: neglect concern, consent not asked",
)


def status(ingest: str, partner: Partner, token: str, message_id: str) -> dict[str, Any]:
    url = f"{ingest}/v1/{partner.value}/messages/{message_id}"
    found: dict[str, Any] = httpx.get(
        url, headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).json()
    return found


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_one_case_per_partner_routes_end_to_end(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """Each partner's message reaches the areas its case expects; harm is never returned."""
    init_keyring(tmp_path / "keys")
    env = hub_env(hub_topics, tmp_path)
    tokens = {p: partner_token(p, env) for p in Partner}
    port = free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("router", "connectors")}
    procs = {
        "router": start(["router", "run"], env, logs["router"]),
        "connectors": start(["connectors", "serve", "--port", str(port)], env, logs["connectors"]),
    }
    cases = {c.name: c for c in CASES}
    ingest = f"http://127.0.0.1:{port}"
    try:
        wait_http_ready(f"{ingest}/health", procs["connectors"], logs["connectors"])
        posted = []
        for name in END_TO_END:
            case = cases[name]
            connector = connector_for(case.partner)
            response = httpx.post(
                f"{ingest}{connector.http_path}",
                content=json.dumps(case.document).encode(),
                headers={
                    "Authorization": f"Bearer {tokens[case.partner]}",
                    "Content-Type": CONTENT_TYPES[case.partner],
                },
                timeout=30,
            )
            assert response.status_code == 202, (name, response.text)
            ids = [m["message_id"] for m in response.json()["messages"]]
            assert len(ids) == len(case.expected)
            posted += [
                (case, message_id, expected)
                for message_id, expected in zip(ids, case.expected, strict=True)
            ]
        deadline = time.monotonic() + 180
        pending = list(posted)
        while pending and time.monotonic() < deadline:
            case, message_id, expected = pending[0]
            found = status(ingest, case.partner, tokens[case.partner], message_id)
            if found.get("status") in {"routed", "returned"}:
                assert set(found["routed_to"]) == set(expected), (case.name, found)
                if found["status"] == "returned":
                    reasons = " ".join(found["returned_reasons"])
                    assert "never returned" in reasons
                    assert "do not seek consent" in reasons
                else:
                    assert found["returned_reasons"] == []
                pending.pop(0)
            else:
                time.sleep(0.5)
        assert not pending, f"not routed in time: {[c.name for c, _, _ in pending]}"
    finally:
        for proc in procs.values():
            stop(proc)
