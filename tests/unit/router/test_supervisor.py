"""`hub router run --processes N`: the supervisor's environment and crash handling."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from hub.router import supervisor
from hub.router.supervisor import Supervisor, child_environment


class TestChildEnvironment:
    def test_each_child_has_its_own_instance_state_and_port(self) -> None:
        env = child_environment({"PATH": "/bin"}, 2, "router", Path("/state"), 9300)
        assert env["HUB_ROUTER__INSTANCE"] == "router-2"
        assert env["HUB_ROUTER__STATE_DIR"] == "/state/2"
        assert env["HUB_ROUTER__METRICS_PORT"] == "9302"
        assert env["PATH"] == "/bin"

    def test_no_metrics_port_when_none_is_set(self) -> None:
        env = child_environment({}, 0, "router", Path("/state"), None)
        assert "HUB_ROUTER__METRICS_PORT" not in env


class TestSupervisor:
    @pytest.mark.timeout(60)
    def test_a_child_that_keeps_failing_at_start_stops_the_supervisor(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Bad settings make every start fail: give up with status 1, not loop forever."""
        monkeypatch.setattr(supervisor, "RESTART_PAUSE_S", 0.1)
        failing = (sys.executable, "-c", "raise SystemExit(3)")
        assert Supervisor(2, lambda _i: {}, command=failing).run() == 1

    @pytest.mark.timeout(60)
    def test_sigterm_reaches_every_child_and_a_clean_stop_is_zero(self) -> None:
        """Children that exit 0 on SIGTERM make the supervisor exit 0."""
        waits = (
            sys.executable,
            "-c",
            (
                "import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
                "time.sleep(60)"
            ),
        )
        runner = Supervisor(3, lambda _i: {}, command=waits)
        timer = threading.Timer(1.5, lambda: signal.raise_signal(signal.SIGTERM))
        timer.start()
        started = time.monotonic()
        try:
            assert runner.run() == 0
        finally:
            timer.cancel()
        assert time.monotonic() - started < 30
