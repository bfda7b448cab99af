"""What every subcommand shares: the hub built once, and one-line failures."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from functools import cache

import click
import typer

from hub.bootstrap import Hub, bootstrap
from hub.errors import HubError


@cache
def current_hub() -> Hub:
    """Return the hub of this process, building it on first use."""
    return bootstrap()


PRIVATE_UMASK = 0o077


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


def parse_moment(text: str, option: str) -> datetime:
    """An ISO date or date-time from an option; UTC when no offset is given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not an ISO date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_guarded(app: typer.Typer) -> int:
    """Run the CLI; any :class:`HubError` becomes a one-line reason and exit status 1."""
    try:
        result = app(standalone_mode=False)
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        result = 1
    except click.ClickException as exc:
        exc.show()
        result = exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        print("hub: interrupted", file=sys.stderr)
        result = 130
    # Without standalone mode, click returns the code of a typer.Exit instead of raising.
    return result if isinstance(result, int) else 0
