"""Running ``python -m hub ...`` as a user does, for the tests of the hub's commands."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_hub(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``hub <args>`` in a child process: its exit status, stdout and stderr as text.

    ``env`` replaces the environment (``None``: this process's); a failure is the
    caller's to assert on.
    """
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else dict(env),
        cwd=cwd,
        timeout=timeout,
    )
