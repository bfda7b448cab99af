"""``hub partners add|list|revoke``: partner credentials for the HTTP ingest."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli._common import current_hub, fail
from hub.ingest.credentials import CredentialStore
from schemas.common import Partner

app = typer.Typer(help="Partner credentials (stored hashed; shown once).")


@app.command()
def add(
    partner: Annotated[str, typer.Argument(help="police, health, housing or domestic-abuse.")],
    org: Annotated[
        list[str],
        typer.Option(
            "--org",
            help=(
                "An organisation code the credential may send as (police force code, ODS "
                "code, authority or service code); repeat for each. Required."
            ),
        ),
    ],
) -> None:
    """Issue a credential bound to organisations; printed once, alone on the last line."""
    try:
        which = Partner(partner)
    except ValueError:
        raise fail(
            f"unknown partner {partner!r}; partners: {', '.join(p.value for p in Partner)}"
        ) from None
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


@app.command("list")
def list_() -> None:
    """Every credential: id, partner, organisations, issued, state (never a secret)."""
    store = CredentialStore(current_hub().settings.connectors.credentials_file)
    for c in store.credentials():
        orgs = ",".join(c.orgs) if c.orgs else "(none: reissue with --org)"
        state = "revoked" if c.revoked else "active"
        print(f"{c.credential_id}  {c.partner.value:<15} {orgs:<30} {c.created_at}  {state}")


@app.command()
def revoke(
    credential_id: Annotated[str, typer.Argument(help="The id part of a credential.")],
) -> None:
    """Revoke a credential at once."""
    store = CredentialStore(current_hub().settings.connectors.credentials_file)
    if not store.revoke(credential_id):
        raise fail(f"no credential {credential_id!r}")
    print(f"credential {credential_id} revoked")
