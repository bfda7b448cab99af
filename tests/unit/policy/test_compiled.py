"""The compiled policy decides exactly as the interpreted conditions do.

The router decides with :mod:`hub.policy.compiled` (generated code, remembered
decisions); ``hub policy explain`` and the safety checker use the interpreted
conditions. Both must agree on every rule for any facts, and a remembered decision
must be the one the engine would make for that message.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from hub.policy import decide, load_policy
from hub.policy.compiled import MEMO_LIMIT, CompiledPolicy, compiled
from hub.policy.engine import _resolve, decide_facts
from hub.policy.facts import FACTS, compute_facts
from hub.policy.loader import parse_policy
from schemas.common import KINDS
from schemas.history import HistorySummary
from tests.unit.policy.test_default_policy import CASES, build

POLICY = load_policy()


def _random_facts(rng: random.Random) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name, fact in FACTS.items():
        if fact.kind is bool:
            facts[name] = rng.random() < 0.5
        elif fact.kind is int:
            facts[name] = None if rng.random() < 0.1 else rng.randint(0, 6)
        elif fact.kind is frozenset:
            pool = fact.values or ("a", "b", "c")
            facts[name] = frozenset(v for v in pool if rng.random() < 0.3)
        else:
            pool = fact.values or (tuple(sorted(KINDS)) if name == "kind" else ("x", "y"))
            facts[name] = None if rng.random() < 0.05 else rng.choice(pool)
    return facts


def test_generated_conditions_match_the_interpreted_ones_on_random_facts() -> None:
    """20,000 random fact sets: every rule's generated test agrees with its condition."""
    rng = random.Random(15)
    policy = compiled(POLICY, _resolve)
    names = [n for rule in POLICY.rules for n in (leaf.fact for leaf in rule.when.leaves())]
    order = list(dict.fromkeys(n for n in names if n is not None))
    matched = set()
    for _ in range(20_000):
        facts = _random_facts(rng)
        expected = {r.id: r.when(facts) for r in POLICY.rules}
        got = policy.matches(tuple(facts[n] for n in order))
        assert got == expected
        matched |= {k for k, v in got.items() if v}
    # The sample exercised nearly every rule (the rarest need many facts at once).
    assert len(matched) >= 0.8 * len(POLICY.rules)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_compiled_decision_is_the_interpreted_decision(case: Any) -> None:
    """On the routing case table, twice (the second time from memory): the same decision."""
    meta, history = build(case), HistorySummary(**case.history)
    interpreted = decide_facts(
        POLICY, compute_facts(meta, history), consent_given=meta.consent.given
    )
    assert decide(POLICY, meta, history) == interpreted
    assert decide(POLICY, meta, history) == interpreted
    # The memory's key (generated code) is every fact the rules use, then consent.
    policy = compiled(POLICY, _resolve)
    expected = compute_facts(meta, history)
    facts = {n: expected[n] for n in policy._names}
    assert policy._key(meta, history) == (*facts.values(), meta.consent.given)
    assert policy.facts(meta, history) == tuple(facts.values())


def test_operators_compile_like_the_interpreter() -> None:
    """Every operator, including an unknown number never satisfying a comparison."""
    policy = parse_policy(
        b"""
rules:
  - id: every-op
    title: t
    rationale: r
    route: [mash]
    when:
      any:
        - all: [{risk.level: high}, {risk.level: {ne: standard}}]
        - kind: {in: [police.notification.missing]}
        - not: {kind: {not_in: [police.notification.missing, housing.duty_to_refer]}}
        - concerns: {contains: neglect}
        - concerns: {contains_any: [child_sexual_exploitation, trafficking]}
        - history.contacts_12m: {gt: 3}
        - history.contacts_12m: {gte: 9}
        - all: [{history.contacts_12m: {lt: 1}}, {history.contacts_12m: {lte: 0}}]
"""
    )
    generated = CompiledPolicy(policy, _resolve)
    rng = random.Random(7)
    names = list(dict.fromkeys(leaf.fact for leaf in policy.rules[0].when.leaves()))
    seen = set()
    for _ in range(5_000):
        facts = _random_facts(rng)
        want = policy.rules[0].when(facts)
        seen.add(want)
        assert generated.matches(tuple(facts[n] for n in names if n)) == {"every-op": want}
    assert seen == {True, False}


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full memory is cleared, and decisions stay right afterwards."""
    monkeypatch.setattr("hub.policy.compiled.MEMO_LIMIT", 2)
    policy = CompiledPolicy(POLICY, _resolve)
    for case in CASES[:6]:
        meta, history = build(case), HistorySummary(**case.history)
        want = decide_facts(POLICY, compute_facts(meta, history), consent_given=meta.consent.given)
        assert policy.decide(meta, history) == want
        assert len(policy._memo) <= 2
    assert MEMO_LIMIT > 2
