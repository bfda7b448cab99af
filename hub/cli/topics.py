"""``hub topics apply``: bring the cluster's topics to the declarative file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.broker.topics import apply_topics, load_topics_file
from hub.cli._common import current_hub

app = typer.Typer(help="Topics as code (deploy/topics.yaml).")


@app.command()
def apply(
    file: Annotated[Path | None, typer.Option(help="Topics file (default: settings).")] = None,
    profile: Annotated[str | None, typer.Option(help="local or production.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, do not change.")] = False,
) -> None:
    """Create missing topics, grow partitions and update configs; idempotent."""
    settings = current_hub().settings
    specs = load_topics_file(file or settings.topics.file, profile or settings.topics.profile)
    changes = asyncio.run(apply_topics(specs, settings.kafka, dry_run=dry_run))
    table = Table(title="topics" + (" (dry run)" if dry_run else ""))
    for column in ("topic", "action", "details"):
        table.add_column(column)
    for change in changes:
        table.add_row(settings.kafka.topic(change.name), change.action, "; ".join(change.details))
    Console().print(table)


@app.command()
def check(
    file: Annotated[Path | None, typer.Option(help="Topics file (default: settings).")] = None,
    profile: Annotated[str | None, typer.Option(help="local or production.")] = None,
) -> None:
    """Validate the topics file without touching the cluster."""
    settings = current_hub().settings
    path = file or settings.topics.file
    specs = load_topics_file(path, profile or settings.topics.profile)
    print(f"{path}: {len(specs)} topics, valid")
