"""Hypothesis strategies the JSON connectors' property tests share."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document, the root first."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def wrong_type(value: Any) -> Any:
    """A value of another JSON type than ``value``."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, str):
        return 1
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return {"0": value}
    if isinstance(value, dict):
        return list(value.values())
    return []


@st.composite
def mutated_documents(
    draw: st.DrawFn, seeds: list[dict[str, Any]], values: st.SearchStrategy[Any]
) -> bytes:
    """A valid document with one to three keys dropped, replaced or mistyped."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        found = paths(doc)[1:]
        if not found:
            break
        path = draw(st.sampled_from(found))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "replace", "wrong_type"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(values)
        else:
            parent[path[-1]] = wrong_type(parent[path[-1]])
    return json.dumps(doc).encode()


@st.composite
def duplicated_keys(
    draw: st.DrawFn, seeds: list[dict[str, Any]], values: st.SearchStrategy[Any]
) -> bytes:
    """A valid document whose text repeats a top-level key with another value."""
    doc = draw(st.sampled_from(seeds))
    key = draw(st.sampled_from(sorted(doc)))
    text = json.dumps(doc)
    return ("{" + json.dumps(key) + ": " + json.dumps(draw(values)) + ", " + text[1:]).encode()
