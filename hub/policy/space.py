"""The finite space of routing facts that the safety checker walks.

Every message the router can see is one point of this space: who the people are
(roles, ages at the boundaries, flags), the kind, the concern codes, the risk, the
consent facts and the history (the values tried are in :mod:`hub.policy.options`).
The space is split into small *groups* (the people, the kind, each class of concern
codes, the risk level, ...); groups that one fact reads together (the people and the
kind for ``child.affected``) are joined into a *compound*, so that every condition of
the policy reads exactly one compound per leaf and the checker can decide it as soon
as that compound is chosen.

Two reductions keep the space small without losing a case:

- **Equivalence classes.** Concern codes that every condition (of the policy and of
  the properties) and every fact treat alike are one class: the checker tries one code
  per class and reports the whole class; codes no condition reads are not tried. Two
  options of a group or compound that give every condition the same answer (two ages
  under four, two consent positions below significant harm) are one.
- **Boundaries.** Numbers are tried only on each side of the thresholds the conditions
  name (2, 3 and 4 incidents for ``gte: 3``), ages at 0, 3, 4, 15, 16, 17 and 18.

Facts are computed from real contract objects by the router's own
:func:`~hub.policy.facts.compute_facts`, so the checker cannot drift from the router.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.policy.conditions import Condition
from hub.policy.facts import compute_facts
from hub.policy.options import (
    CONCERN_GROUP,
    ConcernClass,
    Option,
    build,
    person,
    raw_options,
)
from schemas.common import Concern, SubjectRole

FACT_GROUPS: Mapping[str, tuple[str, ...]] = {
    "kind": ("kind",),
    "partner": ("kind",),
    "domestic_abuse": ("kind", f"{CONCERN_GROUP}{Concern.DOMESTIC_ABUSE}"),
    "risk.level": ("risk.level", "risk.judgement"),
    "risk.tool": ("risk.tool",),
    "risk.dash_score": ("risk.tool",),
    "risk.professional_judgement_high": ("risk.judgement",),
    "consent.status": ("consent",),
    "consent.given": ("consent",),
    "consent.significant_harm_stated": ("consent",),
    "child.involved": ("people", f"{CONCERN_GROUP}{Concern.PREGNANCY}"),
    "child.count": ("people",),
    "child.injured": ("people",),
    "child.affected": ("people", "kind", f"{CONCERN_GROUP}{Concern.PREGNANCY}"),
    "child.school_age_with_school": ("people",),
    "child.victim": ("people",),
    "child.without_parent_carer": ("people",),
    "person.aged_16_or_17": ("people",),
    "allegation_against_professional": (
        "people",
        f"{CONCERN_GROUP}{Concern.ALLEGATION_AGAINST_PROFESSIONAL}",
    ),
    "history.contacts_12m": ("history.contacts", "history.da", "history.low"),
    "history.da_incidents_12m": ("history.da",),
    "history.low_level_3m": ("history.low",),
    "history.marac_within_12m": ("history.marac",),
    "history.open_case": ("history.open",),
    "cpis": ("kind", "plans"),
    "plan.types": ("plans",),
    "plan.local_authorities": ("plans",),
}
"""The groups each fact is computed from (``concerns`` is resolved per class). A fact
missing here depends on every group, which is safe but slower."""

ORDER = (
    "people",
    "kind",
    "plans",
    CONCERN_GROUP,
    "risk.level",
    "risk.judgement",
    "consent",
    "risk.tool",
    "history.open",
    "history.da",
    "history.low",
    "history.contacts",
    "history.marac",
)
"""The order in which the checker chooses the compounds (by their first member)."""


@dataclass(frozen=True)
class Compound:
    """Groups that share a fact, enumerated together: each option sets every member."""

    name: str
    members: tuple[str, ...]
    options: tuple[Option, ...]  # value: the members' options, in ``members`` order


@dataclass
class Space:
    """The groups, their options, and the compounds the checker walks."""

    groups: dict[str, tuple[Option, ...]]
    classes: tuple[ConcernClass, ...]
    defaults: dict[str, Option] = field(default_factory=dict)
    compounds: tuple[Compound, ...] = ()
    known: dict[Option, dict[str, Any]] = field(default_factory=dict)
    """The facts of each compound option, computed once when the compound was made."""

    def fact_groups(self, fact: str) -> frozenset[str]:
        """The groups a fact is computed from, in this space."""
        if fact == "concerns":
            return frozenset(c.group for c in self.classes)
        names = FACT_GROUPS.get(fact)
        if names is None:
            return frozenset(self.groups)
        found = set()
        for name in names:
            if not name.startswith(CONCERN_GROUP):
                found.add(name)
                continue
            code = Concern(name.removeprefix(CONCERN_GROUP))
            found |= {c.group for c in self.classes if code in c.members}
        return frozenset(found)

    def leaf_groups(self, leaf: Condition) -> frozenset[str]:
        """The groups one leaf reads: its fact's, or the classes its codes belong to."""
        assert leaf.fact is not None
        if leaf.fact != "concerns":
            return self.fact_groups(leaf.fact)
        codes = _operand_set(leaf)
        return frozenset(c.group for c in self.classes if codes & {m.value for m in c.members})

    def facts(self, chosen: Mapping[str, Option]) -> dict[str, Any]:
        """Every fact's value for the chosen options (defaults for the others)."""
        pick = {**self.defaults, **chosen}
        concerns = tuple(cls.members[0] for cls in self.classes if pick[cls.group].value)
        meta, history = build(pick, concerns)
        return compute_facts(meta, history)

    def expand(self, options: Sequence[Option]) -> dict[str, Option]:
        """Member options of chosen compound options."""
        return {member.group: member for option in options for member in option.value}


def make_space(conditions: Sequence[Condition]) -> Space:
    """The space the conditions can tell apart, with equivalent options merged."""
    classes = concern_classes(conditions)
    raw = raw_options(conditions, classes)
    space = Space(
        groups={},
        classes=classes,
        defaults={g: options[0] for g, options in raw.items()},
    )
    leaves = list({id(leaf): leaf for cond in conditions for leaf in cond.leaves()}.values())
    for group, options in raw.items():
        space.groups[group] = _merged(space, group, options, leaves)
    space.compounds = _compounds(space, leaves)
    return space


def _merged(
    space: Space, group: str, options: Sequence[Option], leaves: Sequence[Condition]
) -> tuple[Option, ...]:
    """The options that some condition tells apart: the first of each kind is kept."""
    relevant = [leaf for leaf in leaves if group in space.leaf_groups(leaf)]
    contexts = _probes(group)
    kept: dict[tuple[Any, ...], list[Option]] = {}
    for option in options:
        signature: list[Any] = [option.value if group.startswith(CONCERN_GROUP) else None]
        for context in contexts:
            facts = space.facts({**context, group: option})
            signature += [leaf.test(facts) for leaf in relevant]
            signature.append(facts["consent.given"] if group == "consent" else None)
        kept.setdefault(tuple(signature), []).append(option)
    if group == "kind":  # name every kind the representative stands for
        return tuple(_kinds_alike(alike) for alike in kept.values())
    return tuple(alike[0] for alike in kept.values())


def _kinds_alike(alike: Sequence[Option]) -> Option:
    first, *rest = alike
    if not rest:
        return first
    others = ", ".join(o.value for o in rest)
    return Option(first.group, f"{first.label} (or {others})", first.value)


def _probes(group: str) -> list[dict[str, Option]]:
    """Contexts under which a group's part of a fact shared with another group shows.

    ``child.affected`` is any child's flag, or any child in a DASH assessment: the
    people's flags show under another kind, the kind's part under a child without
    flags. The concern codes' parts of shared facts show under the defaults (an adult
    victim, a kind no rule names).
    """
    if group == "people":
        dash = "domestic_abuse.dash_assessment"
        return [{}, {"kind": Option("kind", f"kind {dash}", dash)}]
    if group == "kind":
        child = Option("people", "child aged 8", (person(SubjectRole.CHILD, 8),))
        return [{}, {"people": child}]
    return [{}]


def _compounds(space: Space, leaves: Sequence[Condition]) -> tuple[Compound, ...]:
    """Join the groups that a fact reads together; enumerate each join's options."""
    parent = {g: g for g in space.groups}

    def root(group: str) -> str:
        while parent[group] != group:
            group = parent[group]
        return group

    used = {"consent"}
    for leaf in leaves:
        groups = sorted(space.leaf_groups(leaf))
        used |= set(groups)
        if leaf.fact != "concerns":
            for other in groups[1:]:
                parent[root(other)] = root(groups[0])
    joined: dict[str, list[str]] = {}
    for group in sorted(used, key=_rank):
        joined.setdefault(root(group), []).append(group)
    compounds = [_compound(space, tuple(members), leaves) for members in joined.values()]
    return tuple(sorted(compounds, key=lambda c: min(_rank(m) for m in c.members)))


def _compound(space: Space, members: tuple[str, ...], leaves: Sequence[Condition]) -> Compound:
    inside = set(members)
    relevant = [leaf for leaf in leaves if space.leaf_groups(leaf) <= inside]
    kept: dict[tuple[Any, ...], Option] = {}
    for combo in itertools.product(*(space.groups[m] for m in members)):
        facts = space.facts({o.group: o for o in combo})
        signature = (
            *(leaf.test(facts) for leaf in relevant),
            *(o.value for o in combo if o.group.startswith(CONCERN_GROUP)),
            facts["consent.given"] if "consent" in inside else None,
        )
        if signature not in kept:
            label = "; ".join(o.label for o in combo)
            kept[signature] = option = Option("+".join(members), label, combo)
            space.known[option] = facts
    return Compound("+".join(members), members, tuple(kept.values()))


def _rank(group: str) -> tuple[int, str]:
    for rank, prefix in enumerate(ORDER):
        if group == prefix or (prefix == CONCERN_GROUP and group.startswith(prefix)):
            return rank, group
    return len(ORDER), group


def concern_classes(conditions: Sequence[Condition]) -> tuple[ConcernClass, ...]:
    """Codes grouped by how the conditions and the facts read them; unread codes dropped."""
    leaves = [leaf for cond in conditions for leaf in cond.leaves() if leaf.fact == "concerns"]
    derived = {
        Concern.DOMESTIC_ABUSE,
        Concern.PREGNANCY,
        Concern.ALLEGATION_AGAINST_PROFESSIONAL,
    }
    by_signature: dict[tuple[Any, ...], list[Concern]] = {}
    for concern in Concern:
        signature: tuple[Any, ...] = tuple(concern in _operand_set(leaf) for leaf in leaves)
        if concern in derived:
            signature = (*signature, concern.value)
        elif not any(signature):
            continue
        by_signature.setdefault(signature, []).append(concern)
    return tuple(ConcernClass(tuple(members)) for members in by_signature.values())


def _operand_set(leaf: Condition) -> frozenset[str]:
    operand = leaf.operand
    return frozenset(operand) if isinstance(operand, list) else frozenset({operand})
