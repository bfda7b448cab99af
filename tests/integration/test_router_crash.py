"""Crash and rebalance: the router loses and duplicates nothing (issue: exactly once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hub.bootstrap import Hub
from hub.kafka import KafkaAdmin
from hub.settings import KafkaSettings
from schemas.envelope import Envelope
from tests.integration.routerkit import (
    assert_routed_exactly_once,
    hub_for,
    inbound_lag,
    lag_below,
    produce,
    running_router,
    traffic,
    wait_for,
    wait_until_routed,
)


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


def stop_router(router: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM a router process: it exits 0 (if not, the end of its log says why)."""
    router.send_signal(signal.SIGTERM)
    assert router.wait(60) == 0, log.read_text()[-2000:]


async def assert_exactly_once(kafka: KafkaSettings, sent: list[Envelope]) -> None:
    await assert_routed_exactly_once(kafka, {str(e.message_id) for e in sent})


async def restart_and_finish(hub: Hub, log: Path, sent: list[Envelope]) -> None:
    """Start router-a again, let it route the rest, SIGTERM it: exit 0, each message once."""
    kafka = hub.settings.kafka
    second = start_router(hub, "router-a", log)
    try:
        await wait_until_routed(kafka, "the restarted router to finish", 300)
    finally:
        stop_router(second, log)
    await assert_exactly_once(kafka, sent)


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
                lambda: lag_below(hub_topics, 7_000), 240, "the router to route 3,000 messages"
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        assert await inbound_lag(hub_topics) > 0, "the router finished before it was killed"
        await restart_and_finish(hub, log, sent)


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
            await wait_for(lambda: lag_below(hub_topics, 1_500), 120, "router a to start")
            async with running_router(hub, "router-b") as b:
                await produce(hub, sent[2_000:])
                await wait_until_routed(hub_topics, "both routers to finish", 300)
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
        await wait_for(lambda: lag_below(hub_topics, 3_500), 120, "routing to start")
        stop_router(first, log)
        assert await inbound_lag(hub_topics) > 0, "the router finished before SIGTERM"
        await restart_and_finish(hub, log, sent)


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
            await wait_for(lambda: lag_below(hub_topics, 1_500), 240, "routing to start")
            first = _children(parent)
            assert len(first) == 2
            os.kill(first[0], signal.SIGKILL)
            await produce(hub, sent[2_000:])
            await wait_until_routed(hub_topics, "every message routed", 300)

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
