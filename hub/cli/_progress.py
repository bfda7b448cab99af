"""Progress on stderr for commands that can take more than a couple of seconds.

Shown only to a person at a terminal: never when stderr is not a TTY (a pipe, a log,
a cron job) and never with ``--json`` (scripts read stdout and a clean stderr), so a
monitoring script sees the same bytes whatever the command's speed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from rich.console import Console


def shows_progress(*, quiet: bool = False) -> bool:
    """Whether progress goes to stderr: a terminal, and not asked to be quiet."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def working(message: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner with ``message`` on stderr while the block runs; gone when it ends."""
    if not shows_progress(quiet=quiet):
        with nullcontext():
            yield
        return
    with Console(stderr=True).status(message, spinner="dots"):
        yield
