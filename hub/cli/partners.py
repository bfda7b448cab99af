"""``hub partners add|revoke``: partner credentials for the HTTP ingest."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.bootstrap.checks import partner_accounts_file
from hub.cli._common import current_hub, fail
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
) -> None:
    """Issue a credential; it is printed once, alone on the last line."""
    if partner in ANSWER_ONLY:
        _add_answer_only(CheckPartner(partner))
        return
    try:
        which = Partner(partner)
    except ValueError:
        raise fail(
            f"unknown partner {partner!r}; partners: {', '.join(p.value for p in Partner)}"
        ) from None
    store = CredentialStore(current_hub().settings.connectors.credentials_file)
    token = store.add(which)
    print(f"credential issued for {which.value}; it is shown only now, store it safely:")
    print(token)


ANSWER_ONLY = frozenset(p.value for p in CheckPartner) - frozenset(p.value for p in Partner)
"""Partners without a system: their credentials answer agency checks only."""


def _add_answer_only(partner: CheckPartner) -> None:
    path = check_credentials_file(current_hub().settings.connectors.credentials_file)
    token = CheckCredentialStore(path).add(partner)
    print(f"credential issued for {partner.value} (agency checks); shown only now, store it:")
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


@app.command(name="add-user")
def add_user(
    partner: Annotated[str, typer.Argument(help="The partner whose checks the person answers.")],
    username: Annotated[
        str, typer.Argument(help="Their username (2 to 64 letters, digits, . _ -).")
    ],
) -> None:
    """Create a staff account for /partners/<partner>/checks; the password is printed once."""
    try:
        which = CheckPartner(partner)
    except ValueError:
        known = ", ".join(p.value for p in CheckPartner)
        raise fail(f"unknown partner {partner!r}; partners: {known}") from None
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
