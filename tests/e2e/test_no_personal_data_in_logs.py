"""A message full of personal data through every process: none of it in any log file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from hub.security.keys import init_keyring
from hub.settings import KafkaSettings
from schemas.common import Partner
from tests.e2e.processes import free_port, hub_command, hub_env, start, stop, wait_http_ready
from tests.integration.ingestkit import EXAMPLES
from tests.orgs import org_args

SECRETS = {
    "given name": "Zebedee",
    "family name": "Quixotica",
    "date of birth": "2015-02-03",
    "NHS number": "9990000026",
    "postcode": "ZZ9 9QZ",
    "address": "42 Xylophone Lane",
    "narrative": "bluebottle ultramarine",
    "officer": "PC 7777",
}


def notification() -> bytes:
    data = json.loads((EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes())
    data["reference"] = "47/PII/1"
    data["submitted_by"] = SECRETS["officer"]
    data["summary"] = f"Officer notes: {SECRETS['narrative']} at {SECRETS['address']}."
    child = data["persons"][0]
    child.update(
        given_name=SECRETS["given name"],
        family_name=SECRETS["family name"],
        date_of_birth=SECRETS["date of birth"],
        nhs_number=SECRETS["NHS number"],
        postcode=SECRETS["postcode"],
        address=SECRETS["address"],
    )
    return json.dumps(data).encode()


def wait_until(check: object, timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_personal_data_never_reaches_a_log(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """Ingest (accepted and refused), routing, the team app opening it, the monitor."""
    init_keyring(tmp_path / "keys")
    env = hub_env(hub_topics, tmp_path, HUB_LOGGING__LEVEL="DEBUG")
    token = (
        hub_command("partners", "add", "police", *org_args(Partner.POLICE), env=env)
        .strip()
        .splitlines()[-1]
    )
    ports = {name: free_port() for name in ("connectors", "teams", "monitor")}
    logs = {name: tmp_path / f"{name}.log" for name in ("router", *ports)}
    procs = {
        "router": start(["router", "run"], env, logs["router"]),
        "connectors": start(
            ["connectors", "serve", "--port", str(ports["connectors"])], env, logs["connectors"]
        ),
        "teams": start(["teams", "serve", "--port", str(ports["teams"])], env, logs["teams"]),
        "monitor": start(["monitor", "run", "--port", str(ports["monitor"])], env, logs["monitor"]),
    }
    try:
        ingest = f"http://127.0.0.1:{ports['connectors']}"
        wait_http_ready(f"{ingest}/health", procs["connectors"], logs["connectors"])
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        accepted = httpx.post(
            f"{ingest}/v1/police/notifications", content=notification(), headers=auth
        )
        assert accepted.status_code == 202, accepted.text
        bad = json.loads(notification())
        bad["persons"][0]["date_of_birth"] = "2999-01-01"  # refused, naming the field
        refused = httpx.post(
            f"{ingest}/v1/police/notifications", content=json.dumps(bad).encode(), headers=auth
        )
        assert refused.status_code == 422
        message_id = accepted.json()["messages"][0]["message_id"]
        teams = f"http://127.0.0.1:{ports['teams']}/api/v1/areas/da-triage"
        # The DA notification goes to DA triage; its API client opens it (decrypting it).
        triage = hub_command("teams", "add-client", "da-triage", env=env).strip().splitlines()[-1]
        team_auth = {"Authorization": f"Bearer {triage}"}

        def opened() -> bool:
            try:
                view = httpx.get(f"{teams}/messages/{message_id}", headers=team_auth, timeout=5)
            except httpx.HTTPError:
                return False
            return view.status_code == 200 and SECRETS["family name"] in view.text

        wait_until(opened, 120, "the DA triage team to open the message")
        wait_until(
            lambda: (
                httpx.get(f"http://127.0.0.1:{ports['monitor']}/api/status", timeout=5).status_code
                == 200
            ),
            120,
            "the monitor's first sample",
        )
    finally:
        for proc in procs.values():
            stop(proc)
    text = "\n".join(log.read_text(errors="replace") for log in logs.values())
    assert "message_routed" in text  # the logs are real, and at DEBUG
    for what, secret in SECRETS.items():
        assert secret not in text, f"the {what} reached a log file"
    assert "999 000 0026" not in text
