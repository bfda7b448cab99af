"""Crash and rebalance: the router loses and duplicates nothing (issue: exactly once)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.kafka import KafkaAdmin, TopicPartition, end_offsets
from hub.settings import KafkaSettings
from schemas.common import RiskLevel, SubjectRole
from schemas.envelope import Envelope
from tests.factories import envelope, risk, subject
from tests.integration.routerkit import (
    assert_routed_exactly_once,
    hub_for,
    produce,
    running_router,
)

INBOUND = [
    "partner.police.inbound",
    "partner.health.inbound",
    "partner.housing.inbound",
    "partner.domestic-abuse.inbound",
]


def traffic(n: int) -> list[Envelope]:
    """A varied stream over n/4 subjects (so history matters)."""
    out = []
    for i in range(n):
        child = subject(label=f"child-{i % (n // 4)}", present=True, school_urn="100001")
        adult = subject(SubjectRole.VICTIM, f"adult-{i % (n // 4)}")
        match i % 5:
            case 0:
                out.append(envelope(subjects=[child], risk=risk(RiskLevel.HIGH)))
            case 1:
                out.append(envelope("police.notification.domestic_abuse", [adult, child]))
            case 2:
                out.append(envelope("police.notification.domestic_abuse", [adult]))
            case 3:
                out.append(envelope("health.safeguarding_concern", [child]))
            case _:
                out.append(envelope("housing.duty_to_refer", [adult]))
    return out


async def inbound_lag(kafka: KafkaSettings) -> int:
    tps = [TopicPartition(kafka.topic(t), p) for t in INBOUND for p in range(6)]
    ends = await end_offsets(kafka, tps)
    async with KafkaAdmin(kafka) as admin:
        committed = await admin.committed_offsets(kafka.group("router"))
    return sum(ends[tp] - committed.get(tp, 0) for tp in tps)


def router_env(hub: Hub, instance: str) -> dict[str, str]:
    s = hub.settings
    return {
        **os.environ,
        "HUB_KAFKA__BOOTSTRAP_SERVERS": s.kafka.bootstrap_servers,
        "HUB_KAFKA__TOPIC_PREFIX": s.kafka.topic_prefix,
        "HUB_CRYPTO__KEYS_DIR": str(s.crypto.keys_dir),
        "HUB_ROUTER__STATE_DIR": str(s.router.state_dir),
        "HUB_ROUTER__INSTANCE": instance,
        "HUB_LOGGING__LEVEL": "WARNING",
    }


def start_router(
    hub: Hub, instance: str, log: Path, *, max_batch: int | None = None
) -> subprocess.Popen[bytes]:
    env = router_env(hub, instance)
    if max_batch is not None:
        env["HUB_ROUTER__MAX_BATCH"] = str(max_batch)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "router", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def assert_exactly_once(kafka: KafkaSettings, sent: list[Envelope]) -> None:
    await assert_routed_exactly_once(kafka, {str(e.message_id) for e in sent})


@pytest.mark.slow
class TestCrash:
    @pytest.mark.timeout(600)
    async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """10,000 messages; SIGKILL the router mid-stream; restart; each exactly once."""
        hub = hub_for(hub_topics, tmp_path)
        sent = traffic(10_000)
        await produce(hub, sent)
        log = tmp_path / "router.log"
        first = start_router(hub, "router-a", log)
        try:
            await wait_for(
                lambda: _lag_below(hub_topics, 7_000), 240, "the router to route 3,000 messages"
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        assert await inbound_lag(hub_topics) > 0, "the router finished before it was killed"
        second = start_router(hub, "router-a", log)
        try:
            await wait_for(lambda: _lag_below(hub_topics, 1), 300, "the restarted router to finish")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0, log.read_text()[-2000:]
        await assert_exactly_once(hub_topics, sent)


async def _lag_below(kafka: KafkaSettings, limit: int) -> bool:
    return await inbound_lag(kafka) < limit


@pytest.mark.slow
class TestRebalance:
    @pytest.mark.timeout(600)
    async def test_two_routers_split_partitions_and_a_rebalance_loses_nothing(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """Two routers share the group; one joins mid-stream; every message exactly once."""
        hub = hub_for(hub_topics, tmp_path)
        sent = traffic(4_000)
        async with running_router(hub, "router-a") as a:
            await produce(hub, sent[:2_000])
            await wait_for(lambda: _lag_below(hub_topics, 1_500), 120, "router a to start")
            async with running_router(hub, "router-b") as b:
                await produce(hub, sent[2_000:])
                await wait_for(lambda: _lag_below(hub_topics, 1), 300, "both routers to finish")
                assert b.router.stats.routed > 0
            assert a.router.stats.routed > 0
        await assert_exactly_once(hub_topics, sent)


@pytest.mark.slow
class TestShutdown:
    @pytest.mark.timeout(600)
    async def test_sigterm_finishes_cleanly_and_a_restart_resumes(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """SIGTERM mid-stream exits 0 with nothing partial; a restart finishes the rest."""
        hub = hub_for(hub_topics, tmp_path)
        sent = traffic(4_000)
        await produce(hub, sent)
        log = tmp_path / "router.log"
        # Small polls, so that the SIGTERM lands with most of the stream still to route
        # (with the default 2,000 a poll a fast router drains 4,000 in two).
        first = start_router(hub, "router-a", log, max_batch=200)
        await wait_for(lambda: _lag_below(hub_topics, 3_500), 120, "routing to start")
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0, log.read_text()[-2000:]
        assert await inbound_lag(hub_topics) > 0, "the router finished before SIGTERM"
        second = start_router(hub, "router-a", log)
        try:
            await wait_for(lambda: _lag_below(hub_topics, 1), 300, "the restarted router")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0
        await assert_exactly_once(hub_topics, sent)


def _children(parent: subprocess.Popen[bytes]) -> list[int]:
    """The pids of a process's children (from /proc, as pgrep -P would list them)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent.pid:
            found.append(int(stat.parent.name))
    return found


async def _members(kafka: KafkaSettings, want: int) -> bool:
    async with KafkaAdmin(kafka) as admin:
        _state, members = await admin.describe_group(kafka.group("router"))
    return members == want


@pytest.mark.slow
class TestProcesses:
    @pytest.mark.timeout(600)
    async def test_n_processes_share_the_group_and_a_crashed_one_is_replaced(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """--processes 2: both take tasks; a killed child is restarted; exactly once; exit 0."""
        hub = hub_for(hub_topics, tmp_path)
        sent = traffic(4_000)
        await produce(hub, sent[:2_000])
        log = tmp_path / "router.log"
        with log.open("ab") as out:
            parent = subprocess.Popen(  # noqa: ASYNC220 -- started once, watched by polling
                [sys.executable, "-m", "hub", "router", "run", "--processes", "2"],
                env=router_env(hub, "router"),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            await wait_for(lambda: _members(hub_topics, 2), 120, "two processes in the group")
            await wait_for(lambda: _lag_below(hub_topics, 1_500), 240, "routing to start")
            first = _children(parent)
            assert len(first) == 2
            os.kill(first[0], signal.SIGKILL)
            await produce(hub, sent[2_000:])
            await wait_for(lambda: _lag_below(hub_topics, 1), 300, "every message routed")

            async def replaced() -> bool:
                now = _children(parent)
                return len(now) == 2 and first[0] not in now

            await wait_for(replaced, 60, "the killed process to be replaced")
            await wait_for(lambda: _members(hub_topics, 2), 120, "the replacement to join")
        finally:
            parent.send_signal(signal.SIGTERM)
            code = parent.wait(90)
        assert code == 0, log.read_text()[-2000:]
        await assert_exactly_once(hub_topics, sent)
