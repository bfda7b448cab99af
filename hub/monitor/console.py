"""``hub status`` in the terminal: the scorecard page's tables, drawn with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hub.monitor import present
from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.snapshot import MonitorSnapshot

__all__ = ["print_status"]

_STYLE = {
    ConsumerStatus.OK: "green",
    ConsumerStatus.WARN: "yellow",
    ConsumerStatus.STOP: "bold red",
    ConsumerStatus.STALL: "bold red",
    ConsumerStatus.REWIND: "bold red",
    ConsumerStatus.NOTFOUND: "dim",
}


def _table(title: str, text: tuple[str, ...], figures: tuple[str, ...]) -> Table:
    """A titled table: its text columns, then its figures aligned right."""
    table = Table(title=title, title_justify="left")
    for name in text:
        table.add_column(name)
    for name in figures:
        table.add_column(name, justify="right")
    return table


def queues_table(snapshot: MonitorSnapshot) -> Table:
    """Lag and consumer status per route queue, then the router on the inbound topics."""
    table = _table(
        "Queues: lag and consumer status",
        ("queue (group)", "status", "state"),
        ("members", "lag (msgs)", "lag (age)"),
    )
    for group in snapshot.groups:
        queue = group.area.value if group.area else f"inbound ({group.name})"
        table.add_row(
            queue,
            f"[{_STYLE[group.status]}]{group.status.value}[/]",
            group.state,
            str(group.members),
            str(group.lag),
            present.duration(group.lag_seconds),
        )
    return table


def sla_table(snapshot: MonitorSnapshot) -> Table:
    """Undecided copies, SLA breaches and time to decision per area."""
    names = ("undecided", "oldest", "overdue", "breaches", "decided", "p50", "p90")
    table = _table("Decisions and SLA per area", ("area",), (*names, "awaiting auth", "auth p50"))
    for a in snapshot.scorecard.areas:
        table.add_row(
            a.area.value,
            str(a.undecided),
            present.duration(a.oldest_undecided_seconds if a.undecided else None),
            str(a.overdue),
            str(a.sla_breaches),
            str(a.decided),
            present.duration(a.time_to_decision_p50_seconds),
            present.duration(a.time_to_decision_p90_seconds),
            str(a.awaiting_authorisation),
            present.duration(a.time_to_authorisation_p50_seconds),
        )
    return table


def partners_table(snapshot: MonitorSnapshot) -> Table:
    """The data-quality scorecard per partner."""
    table = _table(
        "Partner data quality", ("partner",), ("messages", "returned", "rate", "quality")
    )
    table.add_column("top returned reasons", overflow="fold", ratio=1)
    for p in snapshot.scorecard.partners:
        reasons = "; ".join(f"{r.reason} ({r.count})" for r in p.top_returned_reasons) or "-"
        quality = "-" if p.quality_score_average is None else f"{p.quality_score_average:.1f}"
        table.add_row(
            p.partner.value,
            str(p.messages),
            str(p.returned),
            present.percent(p.returned_ratio),
            quality,
            reasons,
        )
    return table


def checks_table(snapshot: MonitorSnapshot) -> Table:
    """Agency checks per partner: open and overdue by urgency, response times, overdue rate."""
    table = _table(
        "Agency checks per partner",
        ("partner",),
        ("open r/a/g", "overdue r/a/g", "asked", "answered", "median", "p90", "late"),
    )
    checks = snapshot.scorecard.checks
    for p in checks.partners:
        if not p.asked:
            continue
        mine = {o.urgency.value: o for o in checks.open if o.partner is p.partner}
        opened = "/".join(
            str(mine[u].open) if u in mine else "0" for u in ("red", "amber", "green")
        )
        late = "/".join(
            str(mine[u].overdue) if u in mine else "0" for u in ("red", "amber", "green")
        )
        table.add_row(
            p.partner.value,
            opened,
            late,
            str(p.asked),
            str(p.answered),
            present.duration(p.response_median_seconds),
            present.duration(p.response_p90_seconds),
            present.percent(p.overdue_ratio),
        )
    return table


def print_status(snapshot: MonitorSnapshot, console: Console) -> None:
    """Print every table and the headline figures."""
    card = snapshot.scorecard
    console.print(queues_table(snapshot))
    console.print(sla_table(snapshot))
    console.print(partners_table(snapshot))
    console.print(checks_table(snapshot))
    console.print(
        f"police notifications kept from the MASH: "
        f"{present.percent(card.police_kept_from_mash_ratio)} "
        f"({card.police_kept_from_mash} of {card.police_messages})   "
        f"dead letters: {card.dlq_messages}   signature failures: {card.signature_failures}"
    )
    note = (
        "status from one sample: lag and membership only; "
        "`hub monitor run` applies the windowed rules"
    )
    console.print(f"[dim]{snapshot.taken_at:%Y-%m-%d %H:%M:%S} UTC; {note}[/]")
    if not card.caught_up:
        console.print("[yellow]history not fully read: scorecard figures are incomplete[/]")
