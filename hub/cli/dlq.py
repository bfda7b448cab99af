"""``hub dlq list|show|replay``: the dead-letter topic, read and replayed after a fix."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.bootstrap import utc_now
from hub.cli._common import current_hub, fail, parse_moment
from hub.cli._progress import working
from hub.router.deadletters import (
    DeadLetter,
    DeadLettersListing,
    DeadLetterView,
    matches,
    parse_address,
    read_dead_letters,
    read_replays,
    refuse_unknown,
    replay,
)

app = typer.Typer(help="Dead letters: list by error class and time, show one, replay after a fix.")


def _address(text: str) -> tuple[int, int]:
    try:
        return parse_address(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'ADDRESS'") from None


def _views(*, quiet: bool) -> tuple[list[DeadLetter], list[DeadLetterView]]:
    kafka = current_hub().settings.kafka

    async def read() -> tuple[list[DeadLetter], list[DeadLetterView]]:
        letters = await read_dead_letters(kafka)
        replays = await read_replays(kafka)
        views = [
            letter.view(
                getattr(replays.get((letter.partition, letter.offset)), "replayed_at", None)
            )
            for letter in letters
        ]
        return letters, views

    with working("Reading hub.dlq...", quiet=quiet):
        return asyncio.run(read())


@app.command(name="list")
def list_letters(
    error_class: Annotated[
        str | None, typer.Option("--error-class", help="Only this class, e.g. SignatureError.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only dead-lettered at or after (ISO date or date-time).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (docs/cli/dlq-list.schema.json).")
    ] = False,
) -> None:
    """List dead letters: address, when, original position, error class, redacted reason."""
    start = parse_moment(since, "--since") if since is not None else None
    letters, views = _views(quiet=as_json)
    chosen = [
        view
        for letter, view in zip(letters, views, strict=True)
        if matches(letter, error_class=error_class, since=start)
    ]
    if as_json:
        print(DeadLettersListing(dead_letters=chosen).model_dump_json(indent=2))
        return
    table = Table(title=f"dead letters ({len(chosen)})")
    for column in ("address", "at", "from", "error class", "reason", "replayed"):
        table.add_column(column)
    for v in chosen:
        table.add_row(
            f"{v.partition}:{v.offset}",
            f"{v.dead_lettered_at:%Y-%m-%d %H:%M:%S}",
            f"{v.topic}[{v.topic_partition}]@{v.topic_offset}",
            v.error_class,
            v.reason[:80],
            f"{v.replayed_at:%Y-%m-%d %H:%M}" if v.replayed_at else "",
        )
    Console().print(table)


@app.command()
def show(
    address: Annotated[str, typer.Argument(help="<partition>:<offset> on hub.dlq, e.g. 0:42.")],
) -> None:
    """Show one dead letter: its context headers and redacted reason (never its content)."""
    where = _address(address)
    letters, views = _views(quiet=False)
    letter = refuse_unknown(where, letters)
    print(views[letters.index(letter)].model_dump_json(indent=2))


@app.command(name="replay")
def replay_letters(
    address: Annotated[
        str | None, typer.Argument(help="<partition>:<offset> on hub.dlq, e.g. 0:42.")
    ] = None,
    error_class: Annotated[
        str | None,
        typer.Option("--error-class", help="Replay every dead letter of this class instead."),
    ] = None,
) -> None:
    """Write dead letters back to their original topic and partition, once each.

    Refuses a dead letter replayed before, one whose message was routed already, and a
    team's note of a refused copy. Exits 1 when anything asked for was refused.
    """
    if (address is None) == (error_class is None):
        raise typer.BadParameter("give one ADDRESS or --error-class, not both or neither")
    letters = _views(quiet=False)[0]
    if address is not None:
        chosen = [refuse_unknown(_address(address), letters)]
    else:
        chosen = [letter for letter in letters if letter.error_class == error_class]
        if not chosen:
            raise fail(f"no dead letter of class {error_class!r}")
    with working(f"Replaying {len(chosen)} dead letter(s)..."):
        outcomes = asyncio.run(replay(current_hub().settings.kafka, chosen, now=utc_now()))
    refused = 0
    for outcome in outcomes:
        if outcome.replayed is not None:
            done = outcome.replayed
            print(
                f"{outcome.letter.address}: replayed to {done.topic}[{done.partition}]"
                f"@{done.offset}"
            )
        else:
            refused += 1
            print(f"{outcome.letter.address}: refused: {outcome.refused}")
    if refused:
        raise fail(f"{refused} of {len(outcomes)} dead letter(s) not replayed")
