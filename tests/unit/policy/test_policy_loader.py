from __future__ import annotations

import pytest

from hub.errors import PolicyError
from hub.policy import default_policy_path, parse_policy

GOOD = b"""rules:
  - id: r1
    title: One
    rationale: Because.
    when:
      all:
        - child.involved: true
        - risk.level: {in: [high, medium]}
    route: [mash]
"""


def with_line(old: bytes, new: bytes) -> bytes:
    assert old in GOOD
    return GOOD.replace(old, new)


class TestPolicyLoading:
    def test_a_valid_policy_loads(self) -> None:
        """A small valid policy compiles to its rules."""
        policy = parse_policy(GOOD)
        assert [r.id for r in policy.rules] == ["r1"]
        assert policy.rules[0].line == 2

    @pytest.mark.parametrize(
        ("old", "new", "line", "reason"),
        [
            (b"    route: [mash]", b"    routes: [mash]", 9, "unknown field 'routes'"),
            (b"route: [mash]", b"route: [mashh]", 9, "unknown area 'mashh'"),
            (b"{in: [high, medium]}", b"{within: [high]}", 8, "unknown operator 'within'"),
            (b"child.involved: true", b"child.involvd: true", 7, "unknown fact 'child.involvd'"),
            (b"[high, medium]", b"[hgih]", 8, "'hgih' is not a value of risk.level"),
            (b"child.involved: true", b"child.involved: 3", 7, "true or false"),
            (b"    rationale: Because.\n", b"", 2, "rationale is required"),
        ],
    )
    def test_mistakes_name_the_line_and_reason(
        self, old: bytes, new: bytes, line: int, reason: str
    ) -> None:
        """Unknown fields, areas, operators, facts and values fail naming the line."""
        with pytest.raises(PolicyError) as info:
            parse_policy(with_line(old, new), source="p.yaml")
        assert f"p.yaml:{line}:" in str(info.value)
        assert reason in str(info.value)

    def test_numeric_operator_on_text_is_refused(self) -> None:
        """Numeric operators compare numbers only."""
        with pytest.raises(PolicyError, match="compares numbers"):
            parse_policy(with_line(b"{in: [high, medium]}", b"{gte: 3}"))

    def test_duplicate_ids_are_refused(self) -> None:
        """Rule ids are unique."""
        doubled = GOOD + GOOD.split(b"rules:\n", 1)[1]
        with pytest.raises(PolicyError, match="duplicate rule id 'r1'"):
            parse_policy(doubled)

    def test_consent_required_needs_a_reason(self) -> None:
        """A consent-gated rule must say what the partner is told."""
        with pytest.raises(PolicyError, match="returned_reason"):
            parse_policy(GOOD + b"    consent: required\n")

    def test_not_yaml(self) -> None:
        """Broken YAML is a policy error, not a crash."""
        with pytest.raises(PolicyError, match="not valid YAML"):
            parse_policy(b"rules: [unclosed")

    def test_version_changes_with_content(self) -> None:
        """Any edit gives a new version."""
        assert parse_policy(GOOD).version != parse_policy(GOOD + b"# edit\n").version

    def test_default_policy_has_the_ten_rules(self) -> None:
        """Every numbered rule of DESIGN.md section 8 is present; later sections name theirs."""
        policy = parse_policy(default_policy_path().read_bytes())
        numbers = {prefix for r in policy.rules if (prefix := r.id.split("-", 1)[0])[1:].isdigit()}
        assert numbers == {f"r{i}" for i in range(1, 11)}
