"""`hub demo` end to end at a small scale, in topics of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import KafkaSettings
from tests.e2e.processes import free_port, hub_env


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_routes_a_day_and_reports_where_it_went(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """Every accepted message gets one decision; police adults-only stay off the MASH."""
    env = hub_env(hub_topics, tmp_path) | {"COLUMNS": "200"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub",
            "demo",
            "--scale",
            "0.3",
            "--seed",
            "11",
            "--port",
            str(free_port()),
            "--teams-port",
            str(free_port()),
            "--monitor-port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    match = re.search(r"exactly one decision record: (\d+) of (\d+)", out)
    assert match, out
    assert match.group(1) == match.group(2)
    assert int(match.group(1)) > 50
    kept = re.search(r"kept away from the MASH: (\d+) of (\d+)", out)
    assert kept, out
    assert int(kept.group(1)) / int(kept.group(2)) > 0.5
    for area in ("mash", "da-triage", "record-only", "returned"):
        assert re.search(rf"{area}\s+│\s+[1-9]", out), area
    checks = re.search(
        r"Agency checks: the MASH asked (\d+); partners answered (\d+) \((\d+) after the "
        r"deadline\); (\d+) still\s+open",
        out,
    )
    assert checks, out
    asked, answered, late, unanswered = (int(g) for g in checks.groups())
    assert asked > 0
    assert answered > 0
    assert late > 0  # health answers after the demo's red deadline
    assert unanswered > 0  # probation does not answer during the demo
    assert asked == answered + unanswered
