"""``hub router run --processes N``: N router processes in one consumer group, one command.

The router's handler holds the GIL, so one process uses one core. The supervisor
starts N copies of ``hub router run`` as child processes: each is an ordinary member
of the router group with an instance name and a state directory of its own
(``<instance>-<i>``, ``<state_dir>/<i>``), so the group's range assignor spreads the
partition numbers, and with them the router tasks, over the processes.

SIGTERM or SIGINT is passed to every child, which finishes its batch in flight and
leaves; the supervisor exits 0 when they all did. A child that dies on its own is
restarted after a short pause (its tasks move to the others meanwhile, and come back
by rebalance), so one crash never stops routing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import structlog

log = structlog.get_logger("hub.router.supervisor")

RESTART_PAUSE_S = 2.0
"""How long a crashed child's slot waits before it is started again."""
STOP_GRACE_S = 60.0
"""How long children may take to finish their batch after SIGTERM before SIGKILL."""
QUICK_EXIT_S = 10.0
"""A child that exits sooner than this after starting counts toward a crash loop."""
MAX_QUICK_EXITS = 3
"""Quick exits in a row of one slot that make the supervisor give up (bad settings)."""


@dataclass
class _Child:
    index: int
    process: subprocess.Popen[bytes]
    quick_exits: int = 0
    started_at: float = field(default_factory=time.monotonic)


def child_environment(
    base: Mapping[str, str], index: int, instance: str, state_dir: Path, metrics_port: int | None
) -> dict[str, str]:
    """The environment of child ``index``: its own instance name, state and metrics port."""
    env = dict(base)
    env["HUB_ROUTER__INSTANCE"] = f"{instance}-{index}"
    env["HUB_ROUTER__STATE_DIR"] = str(state_dir / str(index))
    if metrics_port is not None:
        env["HUB_ROUTER__METRICS_PORT"] = str(metrics_port + index)
    return env


class Supervisor:
    """Runs and watches the router processes."""

    def __init__(
        self,
        processes: int,
        environment: Callable[[int], dict[str, str]],
        command: tuple[str, ...] = (sys.executable, "-m", "hub", "router", "run"),
    ) -> None:
        self._n = processes
        self._environment = environment
        self._command = command
        self._children: dict[int, _Child] = {}
        self._stopping = False

    def run(self) -> int:
        """Start every child and watch them until a stop signal; return the exit status."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for index in range(self._n):
                self._start(index)
            log.info("router_processes_started", processes=self._n)
            return self._watch()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, index: int, quick_exits: int = 0) -> None:
        process = subprocess.Popen(self._command, env=self._environment(index))  # noqa: S603
        self._children[index] = _Child(index, process, quick_exits)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("router_processes_stopping", signal=signal.Signals(signum).name)
        for child in self._children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)

    def _watch(self) -> int:
        failed = False
        deadline: float | None = None
        while self._children:
            time.sleep(0.2)
            if self._stopping and deadline is None:
                deadline = time.monotonic() + STOP_GRACE_S
            for index, child in list(self._children.items()):
                code = child.process.poll()
                if code is None:
                    continue
                del self._children[index]
                if self._stopping:
                    failed |= code != 0
                    continue
                log.warning("router_process_exited", index=index, exit_code=code)
                quick = child.quick_exits + 1 if _lived(child) < QUICK_EXIT_S else 0
                if quick >= MAX_QUICK_EXITS:
                    log.error("router_processes_crash_loop", index=index, exit_code=code)
                    self._on_signal(signal.SIGTERM, None)
                    failed = True
                    continue
                time.sleep(RESTART_PAUSE_S)
                if not self._stopping:
                    self._start(index, quick)
            if deadline is not None and time.monotonic() > deadline:
                for child in self._children.values():
                    child.process.kill()
                failed = True
        return 1 if failed else 0


def _lived(child: _Child) -> float:
    return time.monotonic() - child.started_at


def default_environment() -> dict[str, str]:
    """This process's environment, which every child inherits."""
    return dict(os.environ)
