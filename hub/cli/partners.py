"""``hub partners add|list|revoke``: partner credentials for the HTTP ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.bootstrap.checks import partner_accounts_file
from hub.cli._common import current_hub, fail, parse_choice
from hub.contracts.outputs import PartnerCredentialRow, PartnersListing
from hub.errors import AccountError
from hub.ingest.checkcredentials import CheckCredentialStore, check_credentials_file
from hub.ingest.credentials import CredentialStore
from hub.partners.accounts import PartnerAccounts
from schemas.checks import CheckPartner
from schemas.common import Partner

app = typer.Typer(help="Partner credentials (stored hashed; shown once).")


@app.command()
def add(
    partner: Annotated[
        str,
        typer.Argument(
            help="police, health, housing, domestic-abuse; or education, probation (checks only)."
        ),
    ],
    org: Annotated[
        list[str],
        typer.Option(
            "--org",
            help=(
                "An organisation code the credential may send or answer as (police force "
                "code, ODS code, authority or service code); repeat for each. Required."
            ),
        ),
    ],
) -> None:
    """Issue a credential bound to organisations; printed once, alone on the last line."""
    if partner in ANSWER_ONLY:
        _add_answer_only(CheckPartner(partner), org)
        return
    which = parse_choice(Partner, partner, "partner")
    store = CredentialStore(current_hub().settings.connectors.credentials_file)
    try:
        token = store.add(which, org)
    except ValueError as exc:
        raise fail(f"--org: {exc}") from None
    print(
        f"credential issued for {which.value} ({', '.join(org).upper()}); "
        "it is shown only now, store it safely:"
    )
    print(token)


ANSWER_ONLY = frozenset(p.value for p in CheckPartner) - frozenset(p.value for p in Partner)
"""Partners without a system: their credentials answer agency checks only."""


def _add_answer_only(partner: CheckPartner, org: list[str]) -> None:
    path = check_credentials_file(current_hub().settings.connectors.credentials_file)
    try:
        token = CheckCredentialStore(path).add(partner, org)
    except ValueError as exc:
        raise fail(f"--org: {exc}") from None
    print(
        f"credential issued for {partner.value} ({', '.join(org).upper()}; agency checks); "
        "shown only now, store it:"
    )
    print(token)


@app.command()
def revoke(
    credential_id: Annotated[str, typer.Argument(help="The id part of a credential.")],
) -> None:
    """Revoke a credential at once."""
    store = CredentialStore(current_hub().settings.connectors.credentials_file)
    answer_only = CheckCredentialStore(
        check_credentials_file(current_hub().settings.connectors.credentials_file)
    )
    if not store.revoke(credential_id) and not answer_only.revoke(credential_id):
        raise fail(f"no credential {credential_id!r}")
    print(f"credential {credential_id} revoked")


@app.command(name="list")
def list_credentials(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON (docs/cli/partners-list.schema.json)."),
    ] = False,
) -> None:
    """List every credential: id, partner, organisations, issued, state (never a secret)."""
    store = CredentialStore(current_hub().settings.connectors.credentials_file)
    listing = PartnersListing(
        credentials=[
            PartnerCredentialRow(
                credential_id=c.credential_id,
                partner=c.partner,
                orgs=list(c.orgs) if c.orgs is not None else None,
                created_at=datetime.fromisoformat(c.created_at),
                revoked=c.revoked,
            )
            for c in store.credentials()
        ]
    )
    if as_json:
        print(listing.model_dump_json(indent=2))
        return
    table = Table(title=f"partner credentials ({len(listing.credentials)})")
    for column in ("credential", "partner", "organisations", "issued", "state"):
        table.add_column(column)
    for row in listing.credentials:
        state = "revoked" if row.revoked else "active"
        orgs = ", ".join(row.orgs) if row.orgs else "(none: reissue with --org)"
        table.add_row(row.credential_id, row.partner.value, orgs, row.created_at.isoformat(), state)
    Console().print(table)


@app.command(name="add-user")
def add_user(
    partner: Annotated[str, typer.Argument(help="The partner whose checks the person answers.")],
    username: Annotated[
        str, typer.Argument(help="Their username (2 to 64 letters, digits, . _ -).")
    ],
) -> None:
    """Create a staff account for /partners/<partner>/checks; the password is printed once."""
    which = parse_choice(CheckPartner, partner, "partner")
    accounts = PartnerAccounts(partner_accounts_file(current_hub()))
    try:
        password = accounts.add_user(which, username)
    except AccountError as exc:
        raise fail(str(exc)) from None
    finally:
        accounts.close()
    print(
        f"account {username.strip().lower()} created for {which.value}; its password, shown once:"
    )
    print(password)
