"""``hub keys``: create, rotate and hand out the keyring (never prints key material)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli._common import current_hub, fail
from hub.security.keys import all_key_names, init_keyring, rotate
from hub.security.layout import COMPONENTS, export_keys

app = typer.Typer(
    help="Key material: MAC keys, key-encryption keys, the subject-key secret, the router's "
    "signing key; and each component's own key directory."
)


@app.command()
def init(
    keys_dir: Annotated[Path | None, typer.Option(help="Keyring (default: settings).")] = None,
) -> None:
    """Create every missing key of a complete hub (development and tests)."""
    root = keys_dir or current_hub().settings.crypto.keys_dir
    created = init_keyring(root)
    print(f"{len(created)} keys created, {len(all_key_names()) - len(created)} existed, in {root}")


@app.command(name="rotate")
def rotate_key(
    name: Annotated[str, typer.Argument(help="Key name, e.g. area-mash or route-mac-mash.")],
    keys_dir: Annotated[Path | None, typer.Option(help="Keyring (default: settings).")] = None,
) -> None:
    """Add a new key and make it current; old key ids stay valid until removed."""
    root = keys_dir or current_hub().settings.crypto.keys_dir
    key_id = rotate(root, name)
    print(f"{name}: new current key id {key_id}")


@app.command(name="export")
def export(
    dest: Annotated[Path, typer.Argument(help="Directory to write the component's keys to.")],
    components: Annotated[
        list[str] | None,
        typer.Option(
            "--for",
            help="Component: router, connectors[-<partner>], teams-<area>, monitor or audit "
            "(repeat for a process that is several, e.g. two team areas).",
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every component, each in DEST/<component>.")
    ] = False,
    keys_dir: Annotated[Path | None, typer.Option(help="Keyring (default: settings).")] = None,
) -> None:
    """Copy only the keys a component holds into a directory of its own (0700, files 0600)."""
    root = keys_dir or current_hub().settings.crypto.keys_dir
    if every == bool(components):
        raise fail("give --for COMPONENT (repeatable) or --all")
    if every:
        for component in COMPONENTS:
            names = export_keys(root, [component], dest / component)
            print(f"{component}: {len(names)} keys in {dest / component}")
        return
    names = export_keys(root, components or [], dest)
    print(f"{', '.join(components or [])}: {len(names)} keys in {dest}: {', '.join(names)}")
