"""Conditions of a routing rule: parsed from YAML, type-checked against the facts.

A condition is ``all``/``any``/``not`` over items; an item is ``fact: value`` (equals)
or ``fact: {operator: value}``. Parsing checks every fact name, operator and value
against :data:`hub.policy.facts.FACTS`, so a typo fails at load with its line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.policy.facts import FACTS, Fact

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "contains_any")
_NUMERIC = {"gt", "gte", "lt", "lte"}
_SET_OPS = {"contains", "contains_any"}


class ConditionError(ValueError):
    """A condition is malformed; ``path`` says where in the YAML."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        super().__init__(message)


@dataclass(frozen=True)
class Trace:
    """How one condition evaluated, for ``hub policy explain``."""

    text: str
    result: bool
    children: tuple[Trace, ...] = ()


@dataclass(frozen=True)
class Condition:
    """A compiled condition: evaluate fast, or evaluate with a trace."""

    text: str
    test: Callable[[Mapping[str, Any]], bool]
    children: tuple[Condition, ...] = ()
    combine: str = "leaf"  # leaf, all, any, not
    fact: str | None = None  # a leaf's fact, operator and operand, for the safety checker
    op: str | None = None
    operand: Any = None

    def leaves(self) -> tuple[Condition, ...]:
        """Every leaf (``fact op operand`` item) of the condition, in order."""
        if self.combine == "leaf":
            return (self,)
        return tuple(leaf for child in self.children for leaf in child.leaves())

    def __call__(self, facts: Mapping[str, Any]) -> bool:
        """Evaluate against the facts of one message."""
        return self.test(facts)

    def trace(self, facts: Mapping[str, Any]) -> Trace:
        """Evaluate every part, recording each result."""
        if self.combine == "leaf":
            return Trace(f"{self.text} (is {_show(facts, self.text)})", self.test(facts))
        kids = tuple(c.trace(facts) for c in self.children)
        if self.combine == "all":
            result = all(k.result for k in kids)
        elif self.combine == "any":
            result = any(k.result for k in kids)
        else:
            result = not kids[0].result
        return Trace(self.combine, result, kids)


def _show(facts: Mapping[str, Any], text: str) -> str:
    value = facts.get(text.split(" ", 1)[0])
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(value)) + "]" if value else "[]"
    return (
        "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )


def parse_condition(node: Any, path: tuple[str | int, ...]) -> Condition:
    """Parse a condition node (a mapping with all/any/not, or a fact item)."""
    if not isinstance(node, Mapping) or len(node) != 1:
        raise ConditionError(path, "a condition is one of all, any, not, or 'fact: value'")
    ((key, value),) = node.items()
    key = str(key)
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError((*path, key), f"'{key}' needs a non-empty list of conditions")
        kids = tuple(parse_condition(v, (*path, key, i)) for i, v in enumerate(value))
        combine = all if key == "all" else any
        return Condition(key, lambda f: combine(k(f) for k in kids), kids, key)
    if key == "not":
        kid = parse_condition(value, (*path, key))
        return Condition("not", lambda f: not kid(f), (kid,), "not")
    return _parse_item(key, value, (*path, key))


def _parse_item(name: str, spec: Any, path: tuple[str | int, ...]) -> Condition:
    fact = FACTS.get(name)
    if fact is None:
        known = ", ".join(sorted(FACTS))
        raise ConditionError(path, f"unknown fact {name!r}; known facts: {known}")
    if isinstance(spec, Mapping):
        if len(spec) != 1:
            raise ConditionError(path, "give exactly one operator, e.g. {gte: 3}")
        ((op, operand),) = spec.items()
        op = str(op)
    else:
        op, operand = "eq", spec
    if op not in OPERATORS:
        raise ConditionError(
            (*path, op), f"unknown operator {op!r}; operators: {', '.join(OPERATORS)}"
        )
    _check_operand(fact, op, operand, (*path, op))
    test = _make_test(name, op, operand)
    shown = operand if not isinstance(operand, list) else "[" + ", ".join(map(str, operand)) + "]"
    shown = str(shown).lower() if isinstance(shown, bool) else shown
    return Condition(f"{name} {op} {shown}", test, fact=name, op=op, operand=operand)


def _check_operand(fact: Fact, op: str, operand: Any, path: tuple[str | int, ...]) -> None:
    if fact.kind is frozenset:
        if op not in _SET_OPS:
            raise ConditionError(path, f"{fact.name} is a list: use contains or contains_any")
        items = operand if op == "contains_any" else [operand]
        if op == "contains_any" and not isinstance(operand, list):
            raise ConditionError(path, "contains_any needs a list")
        for item in items:
            _check_scalar(fact, item, path)
        return
    if op in _SET_OPS:
        raise ConditionError(path, f"{op} applies only to list facts; {fact.name} is not one")
    if op in _NUMERIC and fact.kind is not int:
        raise ConditionError(path, f"{op} compares numbers; {fact.name} is not a number")
    if op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand:
            raise ConditionError(path, f"{op} needs a non-empty list")
        for item in operand:
            _check_scalar(fact, item, path)
        return
    _check_scalar(fact, operand, path)


def _check_scalar(fact: Fact, value: Any, path: tuple[str | int, ...]) -> None:
    want = str if fact.kind is frozenset else fact.kind
    if want is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConditionError(path, f"{fact.name} is a number; {value!r} is not")
    if want is bool and not isinstance(value, bool):
        raise ConditionError(path, f"{fact.name} is true or false; {value!r} is neither")
    if want is str:
        if not isinstance(value, str):
            raise ConditionError(path, f"{fact.name} is text; {value!r} is not")
        if fact.values and value not in fact.values:
            allowed = ", ".join(fact.values)
            raise ConditionError(path, f"{value!r} is not a value of {fact.name} ({allowed})")


def _make_test(name: str, op: str, operand: Any) -> Callable[[Mapping[str, Any]], bool]:  # noqa: PLR0911
    if op == "eq":
        return lambda f: f[name] == operand
    if op == "ne":
        return lambda f: f[name] != operand
    if op in ("in", "not_in"):
        members = frozenset(operand)
        if op == "in":
            return lambda f: f[name] in members
        return lambda f: f[name] not in members
    if op == "contains":
        return lambda f: operand in f[name]
    if op == "contains_any":
        wanted = frozenset(operand)
        return lambda f: bool(wanted & f[name])
    compare: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    cmp = compare[op]
    # An unknown number (None) never satisfies a comparison.
    return lambda f: f[name] is not None and cmp(f[name], operand)
