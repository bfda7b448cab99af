"""``hub teams serve|add-user|list-users|add-client``: the team queue web app and its accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli._async import serve_web_app
from hub.cli._common import (
    HostOption,
    PortOption,
    current_hub,
    fail,
    parse_choice,
    run_guarded,
)
from hub.contracts.outputs import TeamUserRow, TeamUsersListing
from hub.teams.accounts import AccountStore, Role
from schemas.common import Area

app = typer.Typer(help="The team queue: web app and API, practitioner accounts, API clients.")


@contextmanager
def _account_store() -> Iterator[AccountStore]:
    """The practitioners' and API clients' store, closed after use."""
    from hub.bootstrap.teams import accounts_file  # noqa: PLC0415

    store = AccountStore(accounts_file(current_hub().settings.teams))
    try:
        yield store
    finally:
        store.close()


def _area(text: str) -> Area:
    return parse_choice(Area, text, "area")


def _role(text: str) -> Role:
    return parse_choice(Role, text, "role", value=text.strip().lower())


@app.command()
def serve(
    port: PortOption = None,
    host: HostOption = None,
) -> None:
    """Serve the team queue pages and API, and consume the areas' routes, until SIGTERM."""
    from hub.bootstrap.teams import team_deps  # noqa: PLC0415
    from hub.teams.app import create_app  # noqa: PLC0415 -- heavy, only for this command

    serve_web_app(
        lambda hub: (create_app(team_deps(hub)), hub.settings.teams),
        host,
        port,
        traced_as="hub-teams",
    )


@app.command(name="add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="Sign-in name: letters, digits, '.', '_', '-'.")],
    area: Annotated[str, typer.Argument(help="The area whose queue they work, e.g. mash.")],
    role: Annotated[
        str, typer.Option(help="practitioner, or manager (oversight and authorisation).")
    ] = "practitioner",
) -> None:
    """Create a practitioner or manager; the password is printed once, alone on the last line."""
    which, as_role = _area(area), _role(role)
    with _account_store() as store:
        password = store.add_user(username, which, as_role)
    print(f"{as_role.value} {username.strip().lower()} of {which.value} created; the password")
    print("is shown only now: give it to them safely.")
    print(password)


@app.command(name="list-users")
def list_users(
    area: Annotated[str | None, typer.Option(help="Only this area's practitioners.")] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON (docs/cli/teams-list-users.schema.json)."),
    ] = False,
) -> None:
    """List practitioners: name, area, when created, disabled or not (never a password)."""
    which = _area(area) if area is not None else None
    with _account_store() as store:
        accounts = store.users()
    listing = TeamUsersListing(
        users=[
            TeamUserRow(
                username=u.username,
                area=u.area,
                role=u.role.value,
                created_at=datetime.fromisoformat(u.created_at),
                disabled=u.disabled,
            )
            for u in accounts
            if which is None or u.area is which
        ]
    )
    if as_json:
        print(listing.model_dump_json(indent=2))
        return
    table = Table(title=f"practitioners and managers ({len(listing.users)})")
    columns: dict[str, Callable[[TeamUserRow], str]] = {  # a column is one line to add
        "user": lambda u: u.username,
        "area": lambda u: u.area.value,
        "role": lambda u: u.role,
        "created": lambda u: u.created_at.isoformat(),
        "state": lambda u: "disabled" if u.disabled else "active",
    }
    for column in columns:
        table.add_column(column)
    for user in listing.users:
        table.add_row(*(cell(user) for cell in columns.values()))
    Console().print(table)


@app.command(name="add-client")
def add_client(
    area: Annotated[str, typer.Argument(help="The area the client may read and decide for.")],
    role: Annotated[
        str, typer.Option(help="practitioner, or manager (may authorise decisions).")
    ] = "practitioner",
) -> None:
    """Issue an API token for a case-management system; printed once, alone on the last line."""
    which, as_role = _area(area), _role(role)
    with _account_store() as store:
        token = store.add_client(which, as_role)
    print(f"API client token issued for {which.value}; it is shown only now, store it safely:")
    print(token)


@app.command(name="disable-user")
def disable_user(
    username: Annotated[str, typer.Argument(help="The practitioner to stop.")],
) -> None:
    """Stop a practitioner signing in; their open sessions end on their next request."""
    with _account_store() as store:
        found = store.disable_user(username)
    if not found:
        raise fail(f"no user {username.strip().lower()!r}")
    print(f"practitioner {username.strip().lower()} disabled")


@app.command(name="revoke-client")
def revoke_client(
    client_id: Annotated[str, typer.Argument(help="The id part of a token: hubt_<id>.<secret>.")],
) -> None:
    """Revoke an API token at once."""
    with _account_store() as store:
        found = store.revoke_client(client_id)
    if not found:
        raise fail(f"no API client {client_id!r}")
    print(f"API client {client_id} revoked")


if __name__ == "__main__":  # ``python -m hub.cli.teams`` until ``hub teams`` is registered
    raise SystemExit(run_guarded(app))
