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
app.add_typer(broker.app, name="broker")
app.add_typer(topics.app, name="topics")
app.add_typer(keys.app, name="keys")
app.add_typer(policy.app, name="policy")
app.add_typer(router.app, name="router")
app.add_typer(connectors.app, name="connectors")
app.add_typer(partners.app, name="partners")
app.add_typer(schemas.app, name="schemas")
app.add_typer(audit.app, name="audit")
app.add_typer(monitor.app, name="monitor")
app.add_typer(security.app, name="security")
app.add_typer(teams.app, name="teams")
app.add_typer(dlq.app, name="dlq")
app.command(name="status")(monitor.status)
app.command(name="demo")(demo.demo)


def main() -> None:
    """Entry point of the ``hub`` console script."""
    sys.exit(run_guarded(app))
