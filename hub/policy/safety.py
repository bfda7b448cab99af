"""The safety checker: prove a policy's properties over every combination of facts.

``hub policy check --safety`` loads the safety properties (:mod:`hub.policy.properties`)
and walks the finite space of routing facts (:mod:`hub.policy.space`) through the
compiled policy.

The walk assigns the space's compound groups one after another (who the people are
and the kind, then each class of concern codes, the risk, the consent, the history).
After each assignment every rule's and property's condition is simplified with what
is now known; two partial assignments that leave the same simplified conditions have
the same futures, so each such *state* is solved once. At the end every condition is
true or false, the rules that hold give the decision (the engine's own
:func:`~hub.policy.engine.decide_matches`), and each property whose condition holds
is tested against it. Nothing is sampled: every state is solved, so when no
counterexample is found the properties hold for every message the router can see.

Each distinct failure (property, what is broken, kind of message) is reported once,
with the simplest message that shows it (the fewest facts away from the defaults),
re-checked by computing its facts and decision from scratch, as the router would.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.policy.conditions import Condition
from hub.policy.engine import Decision, decide_facts, decide_matches
from hub.policy.loader import Policy, default_policy_path
from hub.policy.options import Option
from hub.policy.properties import SafetyProperty, load_properties, properties_for
from hub.policy.space import Space, make_space


@dataclass(frozen=True)
class Counterexample:
    """A message for which a property fails, and how."""

    prop: SafetyProperty
    facts: tuple[tuple[str, str], ...]
    options: tuple[str, ...]
    decision: Decision
    broken: str


@dataclass
class SafetyReport:
    """What the checker found for one policy."""

    policy: Policy
    properties: tuple[SafetyProperty, ...]
    counterexamples: list[Counterexample] = field(default_factory=list)
    states: int = 0
    seconds: float = 0.0

    @property
    def safe(self) -> bool:
        """Every property holds."""
        return not self.counterexamples


def check_policy_file(
    policy: Policy, policy_path: Path | None = None, extra: Sequence[Path] = ()
) -> SafetyReport:
    """Check a policy against the shipped properties, a council's beside it, and ``extra``."""
    path = policy_path if policy_path is not None else default_policy_path()
    return check_safety(policy, load_properties(properties_for(path, extra)))


def check_safety(policy: Policy, properties: Sequence[SafetyProperty]) -> SafetyReport:
    """Solve every state of the fact space; report each distinct failure."""
    started = time.perf_counter()
    conditions = [*(r.when for r in policy.rules), *(p.given for p in properties)]
    space = make_space(conditions)
    walk = _Walk(space, policy, tuple(properties), conditions)
    report = SafetyReport(policy, tuple(properties))
    for key, witness in walk.solve().items():
        report.counterexamples.append(walk.confirm(key, witness))
    report.states = len(walk.memo)
    report.seconds = time.perf_counter() - started
    return report


class _Walk:
    """The memoised walk over compound groups, on hash-consed conditions."""

    def __init__(
        self,
        space: Space,
        policy: Policy,
        properties: tuple[SafetyProperty, ...],
        conditions: Sequence[Condition],
    ) -> None:
        self.space = space
        self.policy = policy
        self.properties = properties
        self.conditions = tuple(conditions)
        self._atoms: dict[tuple[str, Any], int] = {}
        self._nodes: list[tuple[str, Any]] = [("const", False), ("const", True)]
        self._ids: dict[tuple[str, Any], int] = {}
        self.start = tuple(self._node(c) for c in conditions)
        self._consent_atom = self._atom(("consent", None))
        self.values = [self._atom_values(compound.options) for compound in space.compounds]
        self.cost = [
            [self._cost(option) for option in compound.options] for compound in space.compounds
        ]
        self._simplified: dict[tuple[int, int, int], int] = {}
        self.memo: dict[tuple[int, tuple[int, ...], bool | None], dict[Any, Any]] = {}

    # -------------------------------------------------------------- conditions as nodes

    def _atom(self, key: tuple[str, Any]) -> int:
        return self._atoms.setdefault(key, len(self._atoms))

    def _intern(self, node: tuple[str, Any]) -> int:
        found = self._ids.get(node)
        if found is None:
            found = self._ids[node] = len(self._nodes)
            self._nodes.append(node)
        return found

    def _node(self, cond: Condition) -> int:
        """A condition as a node id: 0 false, 1 true, else an atom or an all/any/not."""
        if cond.combine != "leaf":
            children = tuple(self._node(child) for child in cond.children)
            return self._intern((cond.combine, children))
        if cond.fact != "concerns":
            return self._intern(("atom", self._atom(("leaf", id(cond)))))
        # contains / contains_any: one of the classes of the listed codes is present.
        codes = set(cond.operand if isinstance(cond.operand, list) else [cond.operand])
        atoms = tuple(
            self._intern(("atom", self._atom(("class", c.group))))
            for c in self.space.classes
            if {m.value for m in c.members} & codes
        )
        return self._intern(("any", atoms))

    def _atom_values(self, options: Sequence[Option]) -> list[dict[int, bool]]:
        """For each option of a compound, the atoms it decides and their values."""
        leaves = {id(leaf): leaf for cond in self.conditions for leaf in cond.leaves()}
        tables = []
        for option in options:
            members = self.space.expand([option])
            facts = self.space.facts(members)
            table: dict[int, bool] = {}
            for (kind, ref), atom in self._atoms.items():
                if kind == "leaf" and self.space.leaf_groups(leaves[ref]) <= set(members):
                    table[atom] = bool(leaves[ref].test(facts))
                elif kind == "class" and ref in members:
                    table[atom] = bool(members[ref].value)
            if "consent" in members:
                table[self._consent_atom] = bool(facts["consent.given"])
            tables.append(table)
        return tables

    def _cost(self, option: Option) -> int:
        """How far an option is from the defaults: the simplest example is reported."""
        return sum(member != self.space.defaults[member.group] for member in option.value)

    def _simplify(self, node: int, depth: int, index: int) -> int:
        """The node with the atoms that option ``index`` of compound ``depth`` decides."""
        if node <= 1:
            return node
        key = (node, depth, index)
        found = self._simplified.get(key)
        if found is None:
            found = self._simplified[key] = self._fold(node, depth, index)
        return found

    def _fold(self, node: int, depth: int, index: int) -> int:
        op, payload = self._nodes[node]
        if op == "atom":
            value = self.values[depth][index].get(payload)
            return node if value is None else int(value)
        if op == "not":
            inner = self._simplify(payload[0], depth, index)
            return 1 - inner if inner <= 1 else self._intern(("not", (inner,)))
        absorbing = 0 if op == "all" else 1
        kept: list[int] = []
        for child in payload:
            folded = self._simplify(child, depth, index)
            if folded == absorbing:
                return absorbing
            if folded != 1 - absorbing:
                kept.append(folded)
        if not kept:
            return 1 - absorbing
        return kept[0] if len(kept) == 1 else self._intern((op, tuple(kept)))

    # -------------------------------------------------------------- the walk

    def solve(self) -> dict[Any, tuple[Option, ...]]:
        """Each distinct failure, with the simplest message that shows it."""
        return {key: witness for key, (_cost, witness) in self._solve(0, self.start, None).items()}

    def _solve(self, depth: int, state: tuple[int, ...], consent: bool | None) -> dict[Any, Any]:
        memo_key = (depth, state, consent)
        found = self.memo.get(memo_key)
        if found is not None:
            return found
        if depth == len(self.space.compounds):
            found = self._failures(state, consent=True if consent is None else consent)
        else:
            found = {}
            compound = self.space.compounds[depth]
            for index, option in enumerate(compound.options):
                after = tuple(self._simplify(node, depth, index) for node in state)
                given = self.values[depth][index].get(self._consent_atom, consent)
                cost = self.cost[depth][index]
                for failure, (more, witness) in self._solve(depth + 1, after, given).items():
                    tagged = self._tag(failure, option)
                    best = found.get(tagged)
                    if best is None or cost + more < best[0]:
                        found[tagged] = (cost + more, (option, *witness))
        self.memo[memo_key] = found
        return found

    def _tag(self, failure: Any, option: Option) -> Any:
        """Keep failures of different kinds of message apart: each kind is reported."""
        kind = next((m.value for m in option.value if m.group == "kind"), None)
        return (*failure, kind) if kind is not None else failure

    def _failures(self, state: tuple[int, ...], *, consent: bool) -> dict[Any, Any]:
        rules = self.policy.rules
        matches = {rule.id: state[i] == 1 for i, rule in enumerate(rules)}
        decision = decide_matches(self.policy, matches, consent_given=consent)
        found: dict[Any, Any] = {}
        for j, prop in enumerate(self.properties):
            if state[len(rules) + j] != 1:
                continue
            for expectation in prop.expect:
                why = expectation.broken(decision, self.policy)
                if why is not None:
                    found[(prop.id, why)] = (0, ())
        return found

    # -------------------------------------------------------------- reporting

    def confirm(self, key: Any, witness: tuple[Option, ...]) -> Counterexample:
        """Recompute the example from scratch, as the router would, and describe it."""
        members = self.space.expand(witness)
        facts = self.space.facts(members)
        decision = decide_facts(self.policy, facts, consent_given=bool(facts["consent.given"]))
        prop = next(p for p in self.properties if p.id == key[0])
        broken = [e.broken(decision, self.policy) for e in prop.expect]
        if not prop.given(facts) or key[1] not in broken:
            msg = f"the safety checker disagrees with the engine on {key}"
            raise AssertionError(msg)
        labels = tuple(
            m.label
            for m in members.values()
            if m != self.space.defaults[m.group] or m.group in {"kind", "people"}
        )
        return Counterexample(prop, self._shown(prop, facts), labels, decision, key[1])

    def _shown(self, prop: SafetyProperty, facts: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        names = {"kind", "consent.status", "risk.level", "history.open_case"}
        names |= {leaf.fact for leaf in prop.given.leaves() if leaf.fact}
        return tuple((name, self._show(name, facts[name])) for name in sorted(names))

    def _show(self, name: str, value: Any) -> str:
        if name == "concerns":
            shown = [c.show() for c in self.space.classes if c.members[0] in value]
            return "[" + "; ".join(shown) + "]"
        if isinstance(value, bool):
            return str(value).lower()
        return "none" if value is None else str(value)


# ------------------------------------------------------------------ the report


def report_lines(report: SafetyReport) -> list[str]:
    """The report as text: each counterexample, then the verdict."""
    lines = []
    for number, found in enumerate(report.counterexamples, 1):
        lines.append(f"COUNTEREXAMPLE {number}: {found.prop.id}: {found.prop.title}")
        lines.append("  facts: " + ", ".join(f"{k}={v}" for k, v in found.facts))
        lines.append("  for example: " + "; ".join(found.options))
        routed = ", ".join(a.value for a in found.decision.destinations)
        lines.append(f"  destinations: {routed} (rules: {', '.join(found.decision.rules)})")
        lines.append(f"  broken: {found.broken}")
    failing = sorted({c.prop.id for c in report.counterexamples})
    verdict = (
        f"UNSAFE: {len(report.counterexamples)} counterexample(s) to {', '.join(failing)}"
        if failing
        else f"SAFE: all {len(report.properties)} properties hold"
    )
    lines.append(
        f"{verdict} ({report.states} states of the fact space solved in {report.seconds:.1f} s; "
        f"policy {report.policy.version[:12]})"
    )
    return lines
