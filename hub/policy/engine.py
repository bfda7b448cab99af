"""Apply a policy to one message: which areas, by which rules, why, with what consent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.policy.compiled import compiled
from hub.policy.conditions import Trace
from hub.policy.facts import compute_facts
from hub.policy.loader import Policy, Rule
from schemas.common import Area
from schemas.envelope import RoutingMetadata
from schemas.history import HistorySummary

PASSIVE = frozenset({Area.RECORD_ONLY, Area.RETURNED})
"""Destinations where no team acts on the message."""

_NO_RULE_ADULT = (
    "No rule matched and no child is involved: the message is kept for history only. "
    "Review the policy for this case."
)


@dataclass(frozen=True)
class Decision:
    """The outcome of applying a policy to one message."""

    destinations: tuple[Area, ...]
    rules: tuple[str, ...]
    rationale: tuple[str, ...]
    returned_reasons: tuple[str, ...]
    shared_without_consent: bool
    policy_version: str
    returned_by: tuple[str, ...] = ()
    """Ids of the rules that returned the message for want of consent."""


@dataclass(frozen=True)
class RuleExplanation:
    """Why one rule did or did not match, for ``hub policy explain``."""

    rule: Rule
    matched: bool
    trace: Trace
    effect: str


def decide(policy: Policy, meta: RoutingMetadata, history: HistorySummary) -> Decision:
    """Decide where a message goes (DESIGN.md section 8), with the compiled policy."""
    return compiled(policy, _resolve).decide(meta, history)


def _resolve(policy: Policy, matches: Mapping[str, bool], consent_given: bool) -> Decision:
    return decide_matches(policy, matches, consent_given=consent_given)


def explain(
    policy: Policy, meta: RoutingMetadata, history: HistorySummary
) -> tuple[Decision, list[RuleExplanation], dict[str, Any]]:
    """Decide, and say for every rule whether it matched and why."""
    facts = compute_facts(meta, history)
    decision = decide_facts(policy, facts, consent_given=meta.consent.given)
    explanations = []
    for rule in policy.rules:
        trace = rule.when.trace(facts)
        effect = _effect(rule, consent_given=meta.consent.given) if trace.result else "-"
        explanations.append(RuleExplanation(rule, trace.result, trace, effect))
    return decision, explanations, facts


def _effect(rule: Rule, *, consent_given: bool) -> str:
    if rule.redirect is not None:
        sources = ", ".join(sorted(a.value for a in rule.redirect.sources))
        return f"redirect {sources} -> {rule.redirect.target.value}"
    if rule.consent == "required" and not consent_given:
        return "returned (no consent)"
    return "route " + ", ".join(a.value for a in rule.route)


def decide_facts(policy: Policy, facts: Mapping[str, Any], *, consent_given: bool) -> Decision:
    """Decide from the facts alone (the safety checker enumerates facts, not messages)."""
    matches = {r.id: r.when(facts) for r in policy.rules}
    return decide_matches(policy, matches, consent_given=consent_given)


def decide_matches(policy: Policy, matches: Mapping[str, bool], *, consent_given: bool) -> Decision:
    """Decide from which rules' conditions hold (a fallback's counts only if no route did)."""
    matched = [r for r in policy.rules if not r.fallback and matches[r.id]]
    if not any(r.route for r in matched):
        matched += [r for r in policy.rules if r.fallback and matches[r.id]]
    proposals = {r.id: _proposed(r, consent_given=consent_given) for r in matched}
    destinations = [area for r in matched for area in proposals[r.id]]
    for rule in matched:
        if rule.redirect is not None:
            destinations = [
                rule.redirect.target if d in rule.redirect.sources else d for d in destinations
            ]
    if not destinations:
        destinations = [Area.RECORD_ONLY]
    active = [d for d in destinations if d not in PASSIVE]
    if active:
        destinations = active
    elif Area.RETURNED in destinations:
        destinations = [Area.RETURNED]
    final = tuple(dict.fromkeys(destinations))
    # Only the rules that shaped the outcome are recorded: a record-only rule whose
    # destination gave way to a team's is not part of the reason.
    deciding = [r for r in matched if _contributed(r, proposals[r.id], final)]
    rationale = [f"{r.title}: {r.rationale}" for r in deciding]
    if not deciding:
        rationale.append(_NO_RULE_ADULT)
    returning = [r for r in deciding if Area.RETURNED in proposals[r.id]]
    return Decision(
        destinations=final,
        rules=tuple(r.id for r in deciding),
        rationale=tuple(rationale),
        returned_reasons=tuple(r.returned_reason or r.rationale for r in returning),
        shared_without_consent=not consent_given and any(d not in PASSIVE for d in final),
        policy_version=policy.version,
        returned_by=tuple(r.id for r in returning),
    )


def _proposed(rule: Rule, *, consent_given: bool) -> tuple[Area, ...]:
    if rule.consent == "required" and not consent_given:
        return (Area.RETURNED,)
    return rule.route


def _contributed(rule: Rule, proposed: tuple[Area, ...], final: tuple[Area, ...]) -> bool:
    if rule.redirect is not None:
        return rule.redirect.target in final
    if rule.redirect is None and any(a in final for a in proposed):
        return True
    # A route that an open-case redirect moved still shaped the outcome.
    return any(a not in PASSIVE for a in proposed) and Area.ALLOCATED_TEAM in final
