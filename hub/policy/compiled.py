"""A policy compiled once for the router's hot path: generated code and remembered decisions.

:func:`compiled` turns a loaded :class:`~hub.policy.loader.Policy` into one generated
Python function over the facts its rules use (every condition becomes a plain
expression: no per-message walk of the condition tree), computes only those facts,
and remembers the decision for each combination of fact values it has seen. A decision
is a pure function of the facts and consent, so a remembered one is the decision
:func:`hub.policy.engine.decide_facts` would make (``tests/unit/policy`` compares them).
The interpreted conditions remain for ``hub policy explain`` and the safety checker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.policy.conditions import Condition
from hub.policy.facts import FACTS

if TYPE_CHECKING:
    from hub.policy.engine import Decision
    from hub.policy.loader import Policy
    from schemas.envelope import RoutingMetadata
    from schemas.history import HistorySummary

MEMO_LIMIT = 65_536
"""Remembered decisions per policy; the memory is cleared when it is full."""

_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

Resolve = Callable[["Policy", Mapping[str, bool], bool], "Decision"]
"""From which rules hold (and consent) to a decision: the engine's ``decide_matches``."""


class CompiledPolicy:
    """One policy's rules as generated code, with a memory of its decisions."""

    def __init__(self, policy: Policy, resolve: Resolve) -> None:
        self.policy = policy
        self._resolve = resolve
        names: list[str] = []
        for rule in policy.rules:
            for leaf in rule.when.leaves():
                if leaf.fact is not None and leaf.fact not in names:
                    names.append(leaf.fact)
        self._names = tuple(names)
        self._computes = tuple(FACTS[n].compute for n in names)
        self._key = _generate_key(self._computes)
        self._ids = tuple(r.id for r in policy.rules)
        self._match = _generate(policy, {n: i for i, n in enumerate(names)})
        self._memo: dict[tuple[Any, ...], Decision] = {}

    def facts(self, meta: RoutingMetadata, history: HistorySummary) -> tuple[Any, ...]:
        """The values of the facts the rules use, in a fixed order."""
        return tuple(compute(meta, history) for compute in self._computes)

    def matches(self, values: tuple[Any, ...]) -> dict[str, bool]:
        """Which rules' conditions hold for these fact values."""
        return dict(zip(self._ids, self._match(*values), strict=True))

    def decide(self, meta: RoutingMetadata, history: HistorySummary) -> Decision:
        """The decision for one message (remembered per fact values and consent)."""
        key = self._key(meta, history)
        decision = self._memo.get(key)
        if decision is None:
            decision = self._resolve(self.policy, self.matches(key[:-1]), meta.consent.given)
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = decision
        return decision


_CACHE: dict[int, CompiledPolicy] = {}


def compiled(policy: Policy, resolve: Resolve) -> CompiledPolicy:
    """The compiled form of ``policy``, built the first time it is asked for."""
    found = _CACHE.get(id(policy))
    if found is None or found.policy is not policy:
        # The entry holds the policy, so its id cannot be reused while it is here.
        found = _CACHE[id(policy)] = CompiledPolicy(policy, resolve)
    return found


def _generate_key(
    computes: tuple[Callable[[RoutingMetadata, HistorySummary], Any], ...],
) -> Callable[[RoutingMetadata, HistorySummary], tuple[Any, ...]]:
    """One function giving the fact values, then consent: the memory's key (no loop)."""
    namespace: dict[str, Any] = {f"c{i}": compute for i, compute in enumerate(computes)}
    values = "".join(f"c{i}(m, h), " for i in range(len(computes)))
    source = f"def key(m, h):\n    return ({values}m.consent.given)\n"
    exec(compile(source, "<policy facts>", "exec"), namespace)  # noqa: S102
    key: Callable[[RoutingMetadata, HistorySummary], tuple[Any, ...]] = namespace["key"]
    return key


def _generate(policy: Policy, index: dict[str, int]) -> Callable[..., tuple[bool, ...]]:
    constants: dict[str, Any] = {}
    rules = [_expression(rule.when, index, constants) for rule in policy.rules]
    params = ", ".join(f"f{i}" for i in range(len(index)))
    body = ", ".join(f"bool({e})" for e in rules)
    source = f"def match({params}):\n    return ({body}{',' if len(rules) == 1 else ''})\n"
    namespace: dict[str, Any] = dict(constants)
    exec(compile(source, f"<policy {policy.version[:12]}>", "exec"), namespace)  # noqa: S102
    match: Callable[..., tuple[bool, ...]] = namespace["match"]
    return match


_LEAF = {
    "eq": "({f} == {c})",
    "ne": "({f} != {c})",
    "in": "({f} in {c})",
    "not_in": "({f} not in {c})",
    "contains": "({c} in {f})",
    "contains_any": "bool({c} & {f})",
    # An unknown number (None) never satisfies a comparison.
    **{op: "({f} is not None and {f} " + sign + " {c})" for op, sign in _COMPARE.items()},
}
"""Each operator as an expression over fact ``f`` and operand constant ``c``."""


def _expression(cond: Condition, index: dict[str, int], constants: dict[str, Any]) -> str:
    if cond.combine in ("all", "any"):
        joiner = " and " if cond.combine == "all" else " or "
        return "(" + joiner.join(_expression(c, index, constants) for c in cond.children) + ")"
    if cond.combine == "not":
        return f"(not {_expression(cond.children[0], index, constants)})"
    if cond.fact is None or cond.op is None:
        raise ValueError(f"a leaf condition without a fact: {cond.text}")
    name = f"c{len(constants)}"
    op, operand = cond.op, cond.operand
    constants[name] = frozenset(operand) if op in ("in", "not_in", "contains_any") else operand
    return _LEAF[op].format(f=f"f{index[cond.fact]}", c=name)
