"""The router bench's profile buckets name functions that exist where it looks for them."""

from __future__ import annotations

import ast

import pytest

from bench.router_throughput import BREAKDOWN
from hub.settings import PROJECT_ROOT

OURS = {label: where for label, where in BREAKDOWN.items() if where[0].startswith("router/")}


def test_the_hub_buckets_are_checked() -> None:
    """The handler and the transaction are the buckets of our own code."""
    assert len(OURS) == 2


@pytest.mark.parametrize("label", sorted(OURS))
def test_each_bucket_names_a_function_of_its_module(label: str) -> None:
    """A renamed or moved function would leave its bucket at 0.0 s, silently."""
    path, function, _kind = OURS[label]
    tree = ast.parse((PROJECT_ROOT / "hub" / path).read_text())
    defined = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert function in defined
