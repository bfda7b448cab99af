"""hub/topology.py owns every topic name: no other module spells one itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hub import topology
from hub.broker.topics import load_topics_file
from hub.settings import PROJECT_ROOT
from schemas.common import Area, Partner

TOPIC_NAME = re.compile(
    r"(partner\.[a-z-]+\.inbound|route\.[a-z-]+|team\.outcomes"
    r"|hub\.(decisions|dlq|subject-history|household-history|routed-ids|audit-checkpoints|checks|check-responses)"
    r"(\.[a-z.]+)?)"
)
"""A logical topic name (or a dead-letter header under ``hub.dlq.``)."""
SOURCES = ("hub", "connectors", "schemas", "bench")
OWNER = PROJECT_ROOT / "hub" / "topology.py"


def _docstrings(tree: ast.AST) -> set[int]:
    """Ids of the string statements: docstrings of modules, classes, functions, attributes."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _spelled(node: ast.AST) -> str | None:
    """The text a string literal or f-string spells, with each placeholder as ``x``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "x"
            for v in node.values
        )
    return None


def topic_literals(path: Path) -> list[str]:
    """Each topic name that ``path`` spells in a string literal, as ``line: text``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in inner:
            continue
        text = _spelled(node)
        if text is not None and TOPIC_NAME.fullmatch(text):
            found.append(f"{node.lineno}: {text}")
    return found


class TestTopicNames:
    """Topic names are written once, in hub/topology.py."""

    def test_no_module_spells_a_topic_name(self) -> None:
        """Every other source file takes its topic names from hub.topology."""
        offenders = {
            str(path.relative_to(PROJECT_ROOT)): found
            for root in SOURCES
            for path in sorted((PROJECT_ROOT / root).rglob("*.py"))
            if path != OWNER and (found := topic_literals(path))
        }
        assert offenders == {}

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ('X = "team.outcomes"', ["1: team.outcomes"]),
            ('T = f"partner.{p.value}.inbound"', ["1: partner.x.inbound"]),
            ('T = f"route.{area}"', ["1: route.x"]),
            ('H = "hub.dlq.error.class"', ["1: hub.dlq.error.class"]),
            ('"""A docstring naming team.outcomes."""', []),
            ('log = get_logger("hub.teams")', []),
            ('d = "hub.dlq records per error class."', []),
        ],
    )
    def test_the_scan_finds_literals_and_f_strings(
        self, tmp_path: Path, source: str, expected: list[str]
    ) -> None:
        """The scan sees plain and f-string names, and passes over docstrings and prose."""
        path = tmp_path / "module.py"
        path.write_text(source + "\n")
        assert topic_literals(path) == expected

    def test_the_owner_names_every_declared_topic(self) -> None:
        """Every topic in deploy/topics.yaml is one hub.topology names, and back."""
        declared = {
            s.name for s in load_topics_file(PROJECT_ROOT / "deploy" / "topics.yaml", "local")
        }
        named = {
            *topology.INBOUND_TOPICS,
            *topology.ROUTE_TOPICS,
            topology.DECISIONS,
            topology.DLQ,
            topology.HISTORY,
            topology.HOUSEHOLD_HISTORY,
            topology.OUTCOMES,
            topology.ROUTED_IDS,
            topology.AUDIT_CHECKPOINTS,
        }
        assert named <= declared
        assert {topology.inbound_topic(p) for p in Partner} == set(topology.INBOUND_TOPICS)
        assert {topology.route_topic(a) for a in Area} == set(topology.ROUTE_TOPICS)
