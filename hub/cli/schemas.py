"""``hub schemas export [--check]``: the committed JSON Schemas and AsyncAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.broker.topics import load_topics_file
from hub.cli._common import fail
from hub.contracts.asyncapi import DOCUMENT_PATH, asyncapi_yaml
from hub.contracts.cli import CLI_DIR, cli_schema_files
from hub.contracts.openapi import DOCUMENT_PATH as OPENAPI_PATH
from hub.contracts.openapi import TEAMS_DOCUMENT_PATH, openapi_json, teams_openapi_json
from hub.settings import PROJECT_ROOT
from schemas.export import JSON_DIR, schema_files

TOPICS_FILE = "deploy/topics.yaml"
# Only profile-independent values (partitions, retention, cleanup policy) reach the
# document, so any profile of the file gives the same text.
_PROFILE = "local"

app = typer.Typer(help="Machine-readable contracts: JSON Schemas and the AsyncAPI document.")


@app.callback()
def contracts() -> None:
    """Machine-readable contracts: JSON Schemas and the AsyncAPI document."""


def contract_files(root: Path) -> dict[Path, str]:
    """Every generated contract file under ``root``, with the text the code produces now."""
    files = {root / JSON_DIR / name: text for name, text in schema_files().items()}
    topics = load_topics_file(root / TOPICS_FILE, _PROFILE)
    files[root / DOCUMENT_PATH] = asyncapi_yaml(topics)
    files[root / OPENAPI_PATH] = openapi_json()
    files[root / TEAMS_DOCUMENT_PATH] = teams_openapi_json()
    files.update({root / path: text for path, text in cli_schema_files().items()})
    return files


def stale_files(root: Path, files: dict[Path, str]) -> list[Path]:
    """Schema files under ``root`` that no contract produces any more."""
    found = [*(root / JSON_DIR).glob("*.schema.json"), *(root / CLI_DIR).glob("*.schema.json")]
    return sorted(p for p in found if p not in files)


def first_drift(root: Path) -> str | None:
    """Why the committed files differ from what the code produces, or None."""
    files = contract_files(root)
    for path, text in files.items():
        committed = _read(path)
        if committed is None:
            return f"{path.relative_to(root)} is missing"
        if committed != text:
            return f"{path.relative_to(root)} differs from what the models produce"
    stale = stale_files(root, files)
    if stale:
        return f"{stale[0].relative_to(root)} is produced by no contract model"
    return None


@app.command()
def export(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if a file is out of date; write nothing.")
    ] = False,
    root: Annotated[Path, typer.Option(help="Project root (default: this checkout).")] = (
        PROJECT_ROOT
    ),
) -> None:
    """Write schemas/json/*.schema.json and docs/asyncapi.yaml from the models."""
    if check:
        reason = first_drift(root)
        if reason is not None:
            raise fail(f"{reason}; run `hub schemas export`")
        print("contracts up to date")
        return
    files = contract_files(root)
    written = 0
    for path, text in files.items():
        if _read(path) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode())
            print(f"wrote {path.relative_to(root)}")
            written += 1
    for path in stale_files(root, files):
        path.unlink()
        print(f"removed {path.relative_to(root)}")
    print(f"{len(files)} contract files, {written} written")


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode()
    except FileNotFoundError:
        return None
