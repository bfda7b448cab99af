"""What the declarative YAML files (topics, principals) share: naming the bad entry."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def describe_entry_error(raw: Any, exc: ValidationError, section: str) -> str:
    """The first validation error, naming the entry of ``section`` by its ``name``.

    For example ``topics[4] (route.mash): partitions: Input should be ...``.
    """
    first = exc.errors()[0]
    loc = list(first["loc"])
    where = ".".join(str(p) for p in loc) or "file"
    if len(loc) >= 2 and loc[0] == section and isinstance(loc[1], int):  # noqa: PLR2004
        entries = raw.get(section) if isinstance(raw, dict) else None
        name = "?"
        if (
            isinstance(entries, list)
            and loc[1] < len(entries)
            and isinstance(entries[loc[1]], dict)
        ):
            name = str(entries[loc[1]].get("name", "?"))
        field = ".".join(str(p) for p in loc[2:]) or "entry"
        where = f"{section}[{loc[1]}] ({name}): {field}"
    return f"{where}: {first['msg']}"
