"""A policy's decision as yes/no formulas, for the safety checker.

:class:`Dag` holds hash-consed formulas (``all``, ``any``, ``not`` over atoms; node 0 is
false, 1 true): equal formulas are one node, so a state of the checker's walk is a
tuple of small integers. :func:`final_areas` writes, for each area, the formula "the
message ends up in this area" over the rules' conditions and the consent, following
:func:`hub.policy.engine.decide_matches` step by step: consent-required rules return
without consent, the fallback counts only when no routing rule matched, redirects
apply in rule order, and record-only or returned stand only when no team was chosen.
:func:`failure` turns a property's expectation into the formula "this message breaks
it". The checker re-checks every failure it reports with the engine itself, and a test
compares the formulas with the engine over many messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.policy.engine import PASSIVE
from hub.policy.loader import Policy, Rule
from hub.policy.properties import Expectation
from schemas.common import Area

FALSE, TRUE = 0, 1


class Dag:
    """Hash-consed formulas over atoms, with folding of constants."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, Any]] = [("const", False), ("const", True)]
        self._ids: dict[tuple[str, Any], int] = {}
        self.atoms: dict[Any, int] = {}
        self._atom_of: dict[int, int] = {}

    def _intern(self, node: tuple[str, Any]) -> int:
        found = self._ids.get(node)
        if found is None:
            found = self._ids[node] = len(self.nodes)
            self.nodes.append(node)
        return found

    def atom(self, key: Any) -> int:
        """The node of a named atom (created on first use)."""
        number = self.atoms.setdefault(key, len(self.atoms))
        return self._intern(("atom", number))

    def all(self, *items: int) -> int:
        """Every item holds."""
        return self._combine("all", items)

    def any(self, *items: int) -> int:
        """At least one item holds."""
        return self._combine("any", items)

    def not_(self, item: int) -> int:
        """The item does not hold."""
        if item <= TRUE:
            return 1 - item
        op, payload = self.nodes[item]
        return payload[0] if op == "not" else self._intern(("not", (item,)))

    def _combine(self, op: str, items: tuple[int, ...]) -> int:
        absorbing = FALSE if op == "all" else TRUE
        kept: list[int] = []
        for item in items:
            if item == absorbing:
                return absorbing
            if item != 1 - absorbing and item not in kept:
                kept.append(item)
        if not kept:
            return 1 - absorbing
        return kept[0] if len(kept) == 1 else self._intern((op, tuple(kept)))

    def fold(self, node: int, values: Mapping[int, bool], cache: dict[int, int]) -> int:
        """The node with the atoms in ``values`` (atom number -> value) replaced."""
        if node <= TRUE:
            return node
        found = cache.get(node)
        if found is not None:
            return found
        op, payload = self.nodes[node]
        if op == "atom":
            value = values.get(payload)
            found = node if value is None else int(value)
        elif op == "not":
            found = self.not_(self.fold(payload[0], values, cache))
        else:
            found = self._combine(op, tuple(self.fold(c, values, cache) for c in payload))
        cache[node] = found
        return found


def final_areas(
    dag: Dag, policy: Policy, matches: Mapping[str, int], consent: int
) -> dict[Area, int]:
    """For each area, the formula that the decision includes it."""
    fired = firing(dag, policy, matches)
    present = dict.fromkeys(Area, FALSE)
    for rule in policy.rules:
        if rule.redirect is None:
            for area, formula in proposed(dag, rule, fired[rule.id], consent).items():
                present[area] = dag.any(present[area], formula)
    for rule in policy.rules:
        if rule.redirect is not None:
            present = _redirected(dag, rule, fired[rule.id], present)
    active = dag.any(*(present[a] for a in Area if a not in PASSIVE))
    final = {a: present[a] for a in Area if a not in PASSIVE}
    final[Area.RETURNED] = dag.all(dag.not_(active), present[Area.RETURNED])
    final[Area.RECORD_ONLY] = dag.all(dag.not_(active), dag.not_(present[Area.RETURNED]))
    return final


def firing(dag: Dag, policy: Policy, matches: Mapping[str, int]) -> dict[str, int]:
    """For each rule, the formula that it fires: a fallback only when no routing rule matched."""
    routing = [r for r in policy.rules if not r.fallback and r.route]
    any_route = dag.any(*(matches[r.id] for r in routing))
    no_route = dag.not_(any_route)
    return {
        r.id: dag.all(matches[r.id], no_route) if r.fallback else matches[r.id]
        for r in policy.rules
    }


def proposed(dag: Dag, rule: Rule, matched: int, consent: int) -> dict[Area, int]:
    """The areas a matched rule proposes: its route, or returned for want of consent."""
    if rule.consent != "required":
        return dict.fromkeys(rule.route, matched)
    found = dict.fromkeys(rule.route, dag.all(matched, consent))
    found[Area.RETURNED] = dag.any(
        found.get(Area.RETURNED, FALSE), dag.all(matched, dag.not_(consent))
    )
    return found


def _redirected(dag: Dag, rule: Rule, matched: int, present: dict[Area, int]) -> dict[Area, int]:
    assert rule.redirect is not None
    sources, target = rule.redirect.sources, rule.redirect.target
    moved = dag.all(matched, dag.any(*(present[s] for s in sources)))
    after = {
        area: dag.all(formula, dag.not_(matched)) if area in sources else formula
        for area, formula in present.items()
    }
    after[target] = dag.any(after[target], moved)
    return after


def failure(
    dag: Dag,
    expectation: Expectation,
    final: Mapping[Area, int],
    returns: Mapping[str, int],
    policy: Policy,
) -> int:
    """The formula that a decision breaks ``expectation`` (before its property's given)."""
    areas = expectation.areas
    if expectation.kind == "reaches_any":
        return dag.not_(dag.any(*(final[a] for a in areas)))
    if expectation.kind == "reaches_all":
        return dag.not_(dag.all(*(final[a] for a in areas)))
    if expectation.kind == "never_reaches":
        return dag.any(*(final[a] for a in areas))
    if expectation.kind == "not_only":
        return dag.not_(dag.any(*(final[a] for a in Area if a not in areas)))
    # returned_only_by: returned, by a rule that is not the consent of one of the areas
    bad = [
        returns[r.id]
        for r in policy.rules
        if r.id in returns and not (r.consent == "required" and set(r.route) <= areas)
    ]
    return dag.all(final[Area.RETURNED], dag.any(*bad))


def returning(dag: Dag, policy: Policy, matches: Mapping[str, int], consent: int) -> dict[str, int]:
    """For each rule that can return a message, the formula that it does."""
    fired = firing(dag, policy, matches)
    found = {}
    for rule in policy.rules:
        if rule.redirect is not None:
            continue
        formula = proposed(dag, rule, fired[rule.id], consent).get(Area.RETURNED, FALSE)
        if formula != FALSE:
            found[rule.id] = formula
    return found
