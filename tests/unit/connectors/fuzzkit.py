"""Hypothesis strategies and the one property every connector's fuzz tests check."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from connectors.errors import ParseFailed
from connectors.protocol import Connector, ParseContext
from schemas.envelope import Envelope
from tests.unit.connectors.documents import at

Mutation = Callable[[list[dict[str, Any]], st.SearchStrategy[Any]], st.SearchStrategy[bytes]]
"""A strategy of changed documents, from valid seeds and the JSON values to put in them."""

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Enough examples to find a crash, without a deadline: the first parse imports models."""


def parses_or_fails_precisely(
    connector: Connector, raw: bytes, content_type: str, context: ParseContext
) -> None:
    """Parsing returns envelopes, or raises ParseFailed naming a field and a reason for each error.

    Any other exception escapes and fails the test.
    """
    try:
        envelopes = connector.parse(raw, content_type, context)
    except ParseFailed as exc:
        errors = exc.errors
    else:
        assert envelopes
        assert all(isinstance(e, Envelope) for e in envelopes)
        return
    assert errors
    assert all(error.field and error.message for error in errors)


def json_values(samples: Iterable[Any]) -> st.SearchStrategy[Any]:
    """Any JSON value, small, with the format's own interesting values among the leaves."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=20)
        | st.sampled_from(["", " ", "0001-01-01T00:00:00+23:59", 10**40, *samples])
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


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
    """A valid document with one to four keys dropped, replaced or mistyped."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        found = paths(doc)[1:]
        if not found:
            break
        path = draw(st.sampled_from(found))
        parent = at(doc, path[:-1])
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
