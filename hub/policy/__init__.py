"""The routing policy: a readable YAML file of rules, compiled and applied per message."""

from hub.policy.engine import Decision, RuleExplanation, decide, explain
from hub.policy.loader import Policy, Rule, default_policy_path, load_policy, parse_policy

__all__ = [
    "Decision",
    "Policy",
    "Rule",
    "RuleExplanation",
    "decide",
    "default_policy_path",
    "explain",
    "load_policy",
    "parse_policy",
]
