"""``hub demo``: the whole hub on the local broker with a realistic day of partner traffic."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli._common import current_hub
from hub.cli._progress import working
from hub.demo.checks import DEMO_RED_SECONDS
from hub.demo.run import (
    DemoOptions,
    area_counts,
    default_options,
    police_kept_from_mash,
    run_demo,
)
from schemas.common import Area, Partner


def demo(  # noqa: PLR0917 -- typer maps each option to a parameter
    port: Annotated[int, typer.Option(help="Port of the connectors' HTTP ingest.")] = 8080,
    teams_port: Annotated[int, typer.Option(help="Port of the team queue.")] = 8090,
    monitor_port: Annotated[int, typer.Option(help="Port of the scorecard.")] = 9108,
    scale: Annotated[float, typer.Option(help="1.0 is a county-sized day (~350 requests).")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the synthetic day.")] = None,
    day: Annotated[str | None, typer.Option(help="The day to simulate (ISO date).")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the hub running afterwards.")] = False,
) -> None:
    """Start the hub, push a day of synthetic partner traffic through it, show where it went."""
    options = default_options(port=port, scale=scale, keep=keep)
    options = DemoOptions(
        day=date.fromisoformat(day) if day else options.day,
        seed=seed if seed is not None else options.seed,
        scale=scale,
        port=port,
        keep=keep,
        teams_port=teams_port,
        monitor_port=monitor_port,
    )
    console = Console()
    console.print(
        f"[bold]Safeguarding hub demo[/]: {options.day.isoformat()}, seed {options.seed}, "
        f"scale {options.scale}"
    )
    with working("Starting the hub and sending a day of partner traffic..."):
        outcome, decisions, elapsed = run_demo(current_hub(), options)

    partners = Table(title="What the partners sent")
    for column in ("partner", "requests", "accepted (202)", "refused (422)", "other"):
        partners.add_column(column, justify="right" if column != "partner" else "left")
    for partner in Partner:
        p = partner.value
        ok, bad = outcome.status[p, 202], outcome.status[p, 422]
        partners.add_row(
            p, str(outcome.sent[p]), str(ok), str(bad), str(outcome.sent[p] - ok - bad)
        )
    console.print(partners)

    counts = area_counts(decisions)
    areas = Table(title=f"Where the {len(decisions)} messages went")
    areas.add_column("service area")
    areas.add_column("messages", justify="right")
    for area in Area:
        areas.add_row(area.value, str(counts[area]))
    console.print(areas)

    kept, police = police_kept_from_mash(decisions)
    share = kept / police if police else 0.0
    console.print(
        f"Police notifications kept away from the MASH: [bold]{kept} of {police} "
        f"({share:.0%})[/] — the MASH saw {counts[Area.MASH]} of {len(decisions)} messages."
    )
    without = sum(1 for d in decisions if d.shared_without_consent)
    returned = Counter(r for d in decisions for r in d.returned_reasons)
    console.print(
        f"Shared without consent (with the lawful basis recorded): {without}; "
        f"returned to the sender: {counts[Area.RETURNED]}; "
        f"resends recognised: {outcome.duplicates}; 503 retries: {outcome.retries}."
    )
    for reason, n in returned.most_common(3):
        console.print(f"  returned {n}x: {reason[:110]}")
    for label, reason in outcome.refusals[:5]:
        console.print(f"  refused at the door: {label}: {reason[:100]}")
    console.print(
        f"Every accepted message has exactly one decision record: "
        f"{len(decisions)} of {len(outcome.accepted)}; {elapsed:.1f}s end to end."
    )
    checks = outcome.checks
    if checks is not None:
        console.print(
            f"Agency checks: the MASH asked {checks.asked}; partners answered "
            f"{checks.answered} ({checks.late} after the deadline); {checks.unanswered} still "
            f"open (the demo's red deadline is {DEMO_RED_SECONDS}s: `hub status` shows them)."
        )
