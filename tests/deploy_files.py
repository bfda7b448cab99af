"""The shipped ``deploy/`` YAML files as tests read them: plain data, entries by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping, as a fresh copy a test may change."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The entry called ``name`` of a list of named entries (topics, principals)."""
    found: dict[str, Any] = next(e for e in entries if e["name"] == name)
    return found
