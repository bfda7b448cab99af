"""The safety checker: prove a policy's properties over every combination of facts.

``hub policy check --safety`` loads the safety properties (:mod:`hub.policy.properties`)
and walks the finite space of routing facts (:mod:`hub.policy.space`) through the
compiled policy.

Each property's expectations become formulas of failure (:mod:`hub.policy.formulas`):
"the property is about this message, and its decision breaks the expectation", over
the rules' conditions and the consent. The walk chooses the space's compound groups
one after another (who the people are and the kind, each class of concern codes, the
risk, the consent, the history) and simplifies the formulas with what is now known.
A branch where every formula is false is finished: nothing in the rest of the message
can break a property. Two partial choices that leave the same formulas have the same
futures, so each such *state* is solved once. Nothing is sampled: when no
counterexample is found the properties hold for every message the router can see.

Each distinct failure (property, expectation, kind of message) is reported once, with
the simplest message that shows it (the options nearest the defaults), re-checked by
computing its facts and decision from scratch with the engine, as the router would.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.policy.conditions import Condition
from hub.policy.engine import Decision, decide_facts
from hub.policy.formulas import Dag, failure, final_areas, returning
from hub.policy.loader import Policy, default_policy_path
from hub.policy.options import CONCERN_GROUP, Option
from hub.policy.properties import SafetyProperty, load_properties, properties_for
from hub.policy.space import Compound, Space, make_space

CONCERN_COST = 20
"""The cost of a concern code in an example, against one place in a group's options."""


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
    """The memoised walk over compound groups, on the formulas of failure."""

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
        self.dag = dag = Dag()
        matches = {rule.id: self._node(rule.when) for rule in policy.rules}
        consent = dag.atom(("consent", None))
        final = final_areas(dag, policy, matches, consent)
        returns = returning(dag, policy, matches, consent)
        self.checks = [(p, k) for p in properties for k in range(len(p.expect))]
        self.start = tuple(
            dag.all(self._node(p.given), failure(dag, p.expect[k], final, returns, policy))
            for p, k in self.checks
        )
        self._place = {
            option: index
            for options in space.groups.values()
            for index, option in enumerate(options)
        }
        self.values = [self._atom_values(compound) for compound in space.compounds]
        self.cost = [
            [self._cost(option) for option in compound.options] for compound in space.compounds
        ]
        self._folded: dict[tuple[int, int], dict[int, int]] = {}
        self.memo: dict[tuple[int, tuple[int, ...]], dict[Any, Any]] = {}

    # -------------------------------------------------------------- conditions as formulas

    def _node(self, cond: Condition) -> int:
        """A condition as a formula over leaf atoms and concern-class atoms."""
        dag = self.dag
        if cond.combine == "all":
            return dag.all(*(self._node(child) for child in cond.children))
        if cond.combine == "any":
            return dag.any(*(self._node(child) for child in cond.children))
        if cond.combine == "not":
            return dag.not_(self._node(cond.children[0]))
        if cond.fact != "concerns":
            return dag.atom(("leaf", id(cond)))
        # contains / contains_any: one of the classes of the listed codes is present.
        codes = set(cond.operand if isinstance(cond.operand, list) else [cond.operand])
        return dag.any(
            *(
                dag.atom(("class", c.group))
                for c in self.space.classes
                if {m.value for m in c.members} & codes
            )
        )

    def _atom_values(self, compound: Compound) -> list[dict[int, bool]]:
        """For each option of a compound, the atoms it decides and their values."""
        inside = set(compound.members)
        leaves = {id(leaf): leaf for cond in self.conditions for leaf in cond.leaves()}
        tests = [
            (number, leaves[ref].test)
            for (kind, ref), number in self.dag.atoms.items()
            if kind == "leaf" and self.space.leaf_groups(leaves[ref]) <= inside
        ]
        classes = [
            (number, ref)
            for (kind, ref), number in self.dag.atoms.items()
            if kind == "class" and ref in inside
        ]
        consent = [n for (kind, _), n in self.dag.atoms.items() if kind == "consent"]
        tables = []
        for option in compound.options:
            members = self.space.expand([option])
            facts = self.space.known[option]
            table = {number: bool(test(facts)) for number, test in tests}
            table |= {number: bool(members[group].value) for number, group in classes}
            if "consent" in inside:
                table |= {number: bool(facts["consent.given"]) for number in consent}
            tables.append(table)
        return tables

    def _cost(self, option: Option) -> int:
        """How far an option is from the defaults: the simplest example is reported.

        Each group's options are listed simplest first (an adult victim before a family,
        no concern before a concern), so the cost is the sum of the members' places; a
        concern counts for more, so that an example names a child rather than a pregnancy.
        """
        return sum(
            self._place[member] * (CONCERN_COST if member.group.startswith(CONCERN_GROUP) else 1)
            for member in option.value
        )

    # -------------------------------------------------------------- the walk

    def solve(self) -> dict[Any, tuple[Option, ...]]:
        """Each distinct failure, with the simplest message that shows it."""
        return {key: witness for key, (_cost, witness) in self._solve(0, self.start).items()}

    def _solve(self, depth: int, state: tuple[int, ...]) -> dict[Any, Any]:
        memo_key = (depth, state)
        found = self.memo.get(memo_key)
        if found is not None:
            return found
        found = {}
        if not any(state):
            pass  # nothing can fail any more, whatever the rest of the message
        elif depth == len(self.space.compounds):
            found = {
                (prop.id, k): (0, ())
                for (prop, k), node in zip(self.checks, state, strict=True)
                if node == 1
            }
        else:
            compound = self.space.compounds[depth]
            for index, option in enumerate(compound.options):
                values = self.values[depth][index]
                cache = self._folded.setdefault((depth, index), {})
                after = tuple(self.dag.fold(node, values, cache) for node in state)
                cost = self.cost[depth][index]
                for failure_key, (more, witness) in self._solve(depth + 1, after).items():
                    tagged = self._tag(failure_key, option)
                    best = found.get(tagged)
                    if best is None or cost + more < best[0]:
                        found[tagged] = (cost + more, (option, *witness))
        self.memo[memo_key] = found
        return found

    def _tag(self, failure_key: Any, option: Option) -> Any:
        """Keep failures of different kinds of message apart: each kind is reported."""
        kind = next((m.value for m in option.value if m.group == "kind"), None)
        return (*failure_key, kind) if kind is not None else failure_key

    # -------------------------------------------------------------- reporting

    def confirm(self, key: Any, witness: tuple[Option, ...]) -> Counterexample:
        """Recompute the example from scratch, as the router would, and describe it."""
        members = self.space.expand(witness)
        facts = self.space.facts(members)
        decision = decide_facts(self.policy, facts, consent_given=bool(facts["consent.given"]))
        prop = next(p for p in self.properties if p.id == key[0])
        why = prop.expect[key[1]].broken(decision, self.policy)
        if not prop.given(facts) or why is None:
            msg = f"the safety checker disagrees with the engine on {key}"
            raise AssertionError(msg)
        labels = tuple(
            m.label
            for m in members.values()
            if m != self.space.defaults[m.group] or m.group in {"kind", "people"}
        )
        return Counterexample(prop, self._shown(prop, facts), labels, decision, why)

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
