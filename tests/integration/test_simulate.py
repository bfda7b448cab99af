"""Policy simulation over real inbound topics: no change against itself, changes otherwise."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from hub.contracts.outputs import PolicySimulation
from hub.policy import default_policy_path, load_policy, parse_policy
from hub.router.simulate import read_events, simulate
from hub.settings import KafkaSettings
from schemas.common import Area, RiskLevel, SubjectRole
from tests.factories import NOW, envelope, risk, subject
from tests.integration.routerkit import hub_cli, hub_for, produce

START, END = NOW - timedelta(days=1), NOW + timedelta(days=1)


def stricter() -> bytes:
    """A candidate that also sends medium-risk child concerns to the MASH."""
    text = default_policy_path().read_bytes()
    anchor = b"            - risk.level: high\n            - child.injured: true\n"
    assert text.count(anchor) >= 1
    return text.replace(
        anchor,
        b"            - risk.level: {in: [high, medium]}\n            - child.injured: true\n",
        1,
    )


async def test_simulation_against_itself_and_a_stricter_candidate(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """Same policy: no change. Stricter: exactly the medium-risk child concerns move to MASH."""
    hub = hub_for(hub_topics, tmp_path)
    medium = [
        envelope(subjects=[subject(label=f"m{i}")], risk=risk(RiskLevel.MEDIUM)) for i in range(3)
    ]
    others = [envelope(subjects=[subject(label=f"s{i}")]) for i in range(3)] + [
        envelope(
            "police.notification.domestic_abuse",
            [subject(SubjectRole.VICTIM, f"v{i}")],
        )
        for i in range(3)
    ]
    await produce(hub, medium + others)
    events = await read_events(hub_topics, END)
    assert len(events) == 9
    current = load_policy()
    same = simulate(current, current, events, START, END)
    assert same.messages == 9
    assert same.changes == []
    assert same.current == same.candidate
    candidate = parse_policy(stricter())
    result = simulate(current, candidate, events, START, END)
    assert {c.message_id for c in result.changes} == {e.message_id for e in medium}
    assert all(Area.MASH in c.candidate and Area.MASH not in c.current for c in result.changes)
    assert result.candidate[Area.MASH] - result.current[Area.MASH] == 3
    outside = simulate(current, candidate, events, END, END + timedelta(days=1))
    assert outside.messages == 0


async def test_simulate_json_lists_every_change(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """`hub policy simulate --json`: the document of its schema, every change, the verdict."""
    hub = hub_for(hub_topics, tmp_path)
    medium = [
        envelope(subjects=[subject(label=f"j{i}")], risk=risk(RiskLevel.MEDIUM)) for i in range(2)
    ]
    await produce(hub, medium)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_bytes(stricter())
    window = ("--from", START.isoformat(), "--to", END.isoformat())
    done = await asyncio.to_thread(
        hub_cli, hub_topics, "policy", "simulate", "--policy", str(candidate), *window, "--json"
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "no progress on a pipe"
    result = PolicySimulation.model_validate_json(done.stdout)
    assert result.messages == 2
    assert result.safe
    assert {c.message_id for c in result.changes} == {e.message_id for e in medium}
    mash = next(v for v in result.volumes if v.area is Area.MASH)
    assert mash.candidate - mash.current == 2
