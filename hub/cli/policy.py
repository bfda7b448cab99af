"""``hub policy check|explain|simulate``: the routing policy tools."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from hub.cli._common import current_hub, fail, parse_moment
from hub.cli._progress import working
from hub.contracts.outputs import PolicySimulation, SimulatedChange, SimulatedVolume
from hub.errors import first_problem
from hub.policy import explain as explain_decision
from hub.policy import load_policy
from hub.policy.conditions import Trace
from hub.policy.facts import FACTS
from hub.policy.returns import returned_guidance
from hub.policy.safety import SafetyReport, check_policy_file, report_lines
from hub.router.simulate import Simulation, run_simulation
from schemas.common import Area
from schemas.envelope import Envelope, RoutingMetadata, split_envelope
from schemas.history import HistorySummary
from schemas.wire import MessageReceived

app = typer.Typer(help="The routing policy: validate, explain a decision, simulate a change.")


@app.command()
def check(
    file: Annotated[Path | None, typer.Argument(help="Policy file (default: in force).")] = None,
    facts: Annotated[bool, typer.Option("--facts", help="List the facts rules can use.")] = False,
    safety: Annotated[
        bool,
        typer.Option(
            "--safety",
            help="Prove the safety properties over every combination of facts; exit 1 "
            "and print each counterexample when one fails.",
        ),
    ] = False,
    properties: Annotated[
        list[Path] | None,
        typer.Option(
            "--properties",
            help="A further safety properties file (the shipped one, and a safety.yaml "
            "beside the policy, are always checked).",
        ),
    ] = None,
) -> None:
    """Validate a policy file; print its rules and version; with --safety, prove it safe."""
    path = file or current_hub().settings.router.policy_file
    policy = load_policy(path)
    console = Console()
    table = Table(title=f"{policy.source} (version {policy.version[:12]})")
    for column in ("line", "rule", "title", "routes"):
        table.add_column(column)
    for rule in policy.rules:
        routes = ", ".join(a.value for a in rule.route)
        if rule.redirect:
            routes = f"redirect -> {rule.redirect.target.value}"
        table.add_row(str(rule.line), rule.id, rule.title, routes + (" (fallback)" * rule.fallback))
    console.print(table)
    if facts:
        fact_table = Table(title="facts")
        for column in ("fact", "type", "values", "meaning"):
            fact_table.add_column(column)
        for fact in FACTS.values():
            kind = {bool: "true/false", int: "number", str: "text", frozenset: "list"}[fact.kind]
            fact_table.add_row(fact.name, kind, ", ".join(fact.values), fact.description)
        console.print(fact_table)
    print(f"policy valid: {len(policy.rules)} rules, version {policy.version}")
    if safety:
        report = check_policy_file(policy, path, properties or ())
        _print_safety(report)
        if not report.safe:
            raise typer.Exit(code=1)


def _print_safety(report: SafetyReport) -> None:
    for line in report_lines(report):
        print(line)


def _read_message(path: Path) -> tuple[RoutingMetadata, HistorySummary]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: cannot read JSON: {exc}") from exc
    history = HistorySummary()
    if isinstance(data, dict) and "history" in data and "message" in data:
        history = HistorySummary.model_validate(data["history"])
        data = data["message"]
    try:
        if isinstance(data, dict) and "metadata" in data:
            return MessageReceived.model_validate(data).metadata, history
        return split_envelope(Envelope.model_validate(data))[0], history
    except ValidationError as exc:
        raise fail(f"{path}: {first_problem(exc, whole='')}") from exc


def _print_trace(console: Console, trace: Trace, depth: int = 2) -> None:
    mark = "[green]yes[/]" if trace.result else "[red]no[/]"
    console.print(" " * depth + f"{mark}  {trace.text}")
    for child in trace.children:
        _print_trace(console, child, depth + 4)


@app.command()
def explain(
    message: Annotated[Path, typer.Argument(help="An envelope JSON, or {message, history}.")],
    policy_file: Annotated[Path | None, typer.Option("--policy", help="Policy file.")] = None,
) -> None:
    """Show which rules matched one message, why, and where it would go."""
    policy = load_policy(policy_file or current_hub().settings.router.policy_file)
    meta, history = _read_message(message)
    decision, explanations, _facts = explain_decision(policy, meta, history)
    console = Console()
    for item in explanations:
        status = "[bold green]MATCHED[/]" if item.matched else "[dim]not matched[/]"
        console.print(f"{status}  {item.rule.id} ({item.rule.title}) -> {item.effect}")
        if item.matched:
            console.print(f"    [italic]{item.rule.rationale}[/]")
        _print_trace(console, item.trace, 4)
    console.print()
    console.print(f"destinations: {', '.join(a.value for a in decision.destinations)}")
    console.print(f"rules: {', '.join(decision.rules) or '(none)'}")
    console.print(f"shared without consent: {str(decision.shared_without_consent).lower()}")
    for reason in decision.returned_reasons:
        console.print(f"returned because: {reason}")
    if decision.returned_by:
        console.print(f"what the sender ({meta.partner.value}) must add before resending:")
        for line in returned_guidance(policy, decision, meta.partner):
            console.print(f"  - {line}", markup=False)
    console.print(f"policy version: {decision.policy_version}")


@app.command()
def simulate(
    policy_file: Annotated[Path, typer.Option("--policy", help="The candidate policy file.")],
    start: Annotated[str, typer.Option("--from", help="Window start (ISO date or date-time).")],
    end: Annotated[str, typer.Option("--to", help="Window end (ISO date or date-time).")],
    limit: Annotated[int, typer.Option(help="Changed messages to list, at most.")] = 50,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print JSON, every change (docs/cli/policy-simulate.schema.json)."
        ),
    ] = False,
) -> None:
    """Replay real inbound traffic through a candidate policy; show what would change."""
    hub = current_hub()
    window = (parse_moment(start, "--from"), parse_moment(end, "--to"))
    if window[0] >= window[1]:
        raise fail("--from must be before --to")
    candidate = load_policy(policy_file)
    with working("Checking the candidate's safety properties...", quiet=as_json):
        safety = check_policy_file(candidate, policy_file)
    with working("Reading the inbound traffic and outcomes from Kafka...", quiet=as_json):
        result = run_simulation(hub.settings.kafka, hub.policy(), candidate, *window)
    if as_json:
        print(_simulation_output(result, safety).model_dump_json(indent=2))
        return
    if not safety.safe:
        print("The candidate policy is NOT SAFE: these messages would not reach who they must.")
    _print_safety(safety)
    _print_simulation(result, window, limit)


def _simulation_output(result: Simulation, safety: SafetyReport) -> PolicySimulation:
    return PolicySimulation(
        start=result.start,
        end=result.end,
        current_version=result.current_version,
        candidate_version=result.candidate_version,
        safe=safety.safe,
        counterexamples=[
            f"{c.prop.id}: {c.prop.title}: {c.broken}" for c in safety.counterexamples
        ],
        messages=result.messages,
        volumes=[
            SimulatedVolume(area=a, current=result.current[a], candidate=result.candidate[a])
            for a in Area
            if result.current[a] or result.candidate[a]
        ],
        changes=[
            SimulatedChange(
                message_id=c.message_id,
                partner=c.partner,
                kind=c.kind,
                current=list(c.current),
                candidate=list(c.candidate),
                current_rules=list(c.current_rules),
                candidate_rules=list(c.candidate_rules),
            )
            for c in result.changes
        ],
    )


def _print_simulation(result: Simulation, window: tuple[datetime, datetime], limit: int) -> None:
    console = Console()
    console.print(
        f"{result.messages} messages received from {window[0].isoformat()} to "
        f"{window[1].isoformat()}; current policy {result.current_version[:12]}, "
        f"candidate {result.candidate_version[:12]}"
    )
    volumes = Table(title="volume per area")
    for column in ("area", "current", "candidate", "change"):
        volumes.add_column(column, justify="right" if column != "area" else "left")
    for area in Area:
        now, then = result.current[area], result.candidate[area]
        if now or then:
            volumes.add_row(area.value, str(now), str(then), f"{then - now:+d}")
    console.print(volumes)
    changes = Table(title=f"messages that would change ({len(result.changes)})")
    for column in ("message", "partner", "kind", "current", "candidate", "candidate rules"):
        changes.add_column(column)
    for change in result.changes[:limit]:
        changes.add_row(
            str(change.message_id),
            change.partner,
            change.kind,
            ", ".join(a.value for a in change.current),
            ", ".join(a.value for a in change.candidate),
            ", ".join(change.candidate_rules),
        )
    console.print(changes)
