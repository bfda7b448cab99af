"""What every subcommand shares: the hub built once, and one-line failures."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, TypeVar

import typer

from hub.bootstrap import Hub, bootstrap
from hub.errors import HubError


@cache
def current_hub() -> Hub:
    """Return the hub of this process, building it on first use."""
    return bootstrap()


PortOption = Annotated[int | None, typer.Option(help="Port (default: settings).")]
"""``--port`` of a command that serves a web app."""
HostOption = Annotated[str | None, typer.Option(help="Address (default: settings).")]
"""``--host`` of a command that serves a web app."""

PRIVATE_UMASK = 0o077

_Choice = TypeVar("_Choice", bound=StrEnum)


def private_files() -> None:
    """Create every file of this process private to its account (0600; folders 0700).

    Services and exports write personal data and routing history (SQLite stores,
    their journals, the information-sharing export): nothing they create may be
    readable by another account on the host, whichever library creates the file.
    """
    os.umask(PRIVATE_UMASK)


def fail(message: str) -> typer.Exit:
    """Print a one-line reason to stderr and return the exit to raise."""
    print(f"hub: {message}", file=sys.stderr)
    return typer.Exit(code=1)


def parse_choice(kind: type[_Choice], text: str, noun: str, *, value: str | None = None) -> _Choice:
    """The member of ``kind`` named by ``value`` (default ``text``), or a failure listing all.

    The failure names ``text`` as it was typed: ``unknown area 'x'; areas: ...``.
    """
    try:
        return kind(text if value is None else value)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise fail(f"unknown {noun} {text!r}; {noun}s: {known}") from None


def parse_moment(text: str, option: str) -> datetime:
    """An ISO date or date-time from an option; UTC when no offset is given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not an ISO date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_guarded(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the CLI; every failure is one line on stderr and an exit status, never a traceback.

    A :class:`HubError` exits 1. A usage error (unknown command or option, a missing
    argument, a bad value) exits 2 with what was wrong and where to find help: typer
    bundles its own click, whose errors all derive from :class:`typer.TyperException`.
    """
    try:
        result = app(args=args, prog_name="hub", standalone_mode=False)
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        result = 1
    except typer.TyperException as exc:
        line = _usage_line(exc)
        if line:  # empty when the help was shown instead (a group run without a command)
            print(f"hub: {line}", file=sys.stderr)
        result = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("hub: interrupted", file=sys.stderr)
        result = 130
    # Without standalone mode, click returns the code of a typer.Exit instead of raising.
    return result if isinstance(result, int) else 0


def _usage_line(exc: typer.TyperException) -> str:
    message = " ".join(exc.format_message().split())
    if not message:
        return ""
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None)
    return f"{message} (see '{path} --help')" if path else message
