"""``hub keys``: create and rotate the keyring (never prints key material)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli._common import current_hub
from hub.security.keys import all_key_names, init_keyring, rotate

app = typer.Typer(help="Key material: signing keys, key-encryption keys, the subject-key secret.")


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
    name: Annotated[str, typer.Argument(help="Key name, e.g. area-mash or signing-police.")],
    keys_dir: Annotated[Path | None, typer.Option(help="Keyring (default: settings).")] = None,
) -> None:
    """Add a new key and make it current; old key ids stay valid until removed."""
    root = keys_dir or current_hub().settings.crypto.keys_dir
    key_id = rotate(root, name)
    print(f"{name}: new current key id {key_id}")
