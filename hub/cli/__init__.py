"""``hub``: the operators' one console command (DESIGN.md section 13).

Each subcommand reads the same settings, has ``--help``, and exits non-zero with a
one-line reason on failure.
"""

from __future__ import annotations

import sys

import typer

from hub.cli import (
    audit,
    broker,
    connectors,
    demo,
    dlq,
    keys,
    monitor,
    partners,
    policy,
    router,
    schemas,
    security,
    teams,
    topics,
)
from hub.cli._common import run_guarded

app = typer.Typer(
    name="hub",
    help="The safeguarding message hub: broker, topics, router, connectors, teams, monitor, dlq.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_GROUPS = (
    broker,
    topics,
    keys,
    policy,
    router,
    connectors,
    partners,
    schemas,
    audit,
    monitor,
    security,
    teams,
    dlq,
)
"""The command groups in the order ``hub --help`` lists them, each named as its module."""

for group in _GROUPS:
    app.add_typer(group.app, name=group.__name__.rpartition(".")[2])
app.command(name="status")(monitor.status)
app.command(name="demo")(demo.demo)


def main() -> None:
    """Entry point of the ``hub`` console script."""
    sys.exit(run_guarded(app))
