"""The running monitor: a sample every interval, the latest kept for /metrics and the page.

:func:`run_monitor` never dies of a Kafka outage, so the monitor can report one: a
failed sample (or a failed start of its clients) is logged and counted,
``hub_monitor_up`` drops to 0, the last good snapshot stays served (its age shows in
``hub_monitor_last_sample_timestamp_seconds``), and the next interval tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from hub.errors import HubError
from hub.monitor.collector import Clock, Collector
from hub.monitor.snapshot import MonitorSnapshot
from hub.settings import HubSettings, KafkaSettings

__all__ = ["MonitorState", "build_collector", "run_monitor", "sample_forever"]

log = structlog.get_logger("hub.monitor")


@dataclass
class MonitorState:
    """What the web app serves: the latest snapshot and how sampling is going."""

    latest: MonitorSnapshot | None = None
    up: bool = False
    sample_errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    def record(self, snapshot: MonitorSnapshot) -> None:
        """A sample succeeded."""
        self.latest = snapshot
        self.up = True

    def fail(self, error: str, at: datetime) -> None:
        """A sample failed."""
        self.up = False
        self.sample_errors += 1
        self.last_error = error
        self.last_error_at = at


def build_collector(
    settings: HubSettings, clock: Clock | None = None, kafka: KafkaSettings | None = None
) -> Collector:
    """The collector for these settings (the composition root calls this).

    ``kafka`` is the monitor's own identity when components have principals of their
    own; by default the process's Kafka settings.
    """
    zone = ZoneInfo(settings.sla.timezone)
    kafka = kafka or settings.kafka
    if clock is None:
        return Collector(kafka, settings.monitor, zone)
    return Collector(kafka, settings.monitor, zone, clock=clock)


async def sample_forever(
    collector: Collector,
    state: MonitorState,
    interval_s: float,
    clock: Clock,
    stop: asyncio.Event | None = None,
) -> None:
    """Sample every ``interval_s`` until ``stop`` is set (or the task is cancelled)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        began = loop.time()
        try:
            async with asyncio.timeout(max(3 * interval_s, 60.0)):
                snapshot = await collector.sample(catch_up_budget_s=max(interval_s, 5.0))
        except (HubError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            state.fail(reason, clock())
            log.warning("monitor_sample_failed", error=reason[:300])
        else:
            state.record(snapshot)
            log.debug("monitor_sampled", seconds=round(snapshot.duration_seconds, 3))
        pause = max(0.0, interval_s - (loop.time() - began))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


async def run_monitor(
    collector_factory: Callable[[], Collector],
    state: MonitorState,
    interval_s: float,
    clock: Clock,
    stop: asyncio.Event,
) -> None:
    """Open a collector (retrying every interval while Kafka is away) and sample until stop."""
    while not stop.is_set():
        try:
            async with collector_factory() as collector:
                log.info("monitor_started", interval_s=interval_s)
                await sample_forever(collector, state, interval_s, clock, stop)
        except HubError as exc:
            state.fail(str(exc), clock())
            log.warning("monitor_start_failed", error=str(exc)[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
