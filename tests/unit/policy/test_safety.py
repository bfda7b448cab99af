"""The safety checker: the default policy is proved safe; unsafe policies are caught."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import policy as policy_cli
from hub.errors import PolicyError
from hub.policy import Policy, default_policy_path, load_policy, parse_policy
from hub.policy.engine import decide_facts
from hub.policy.facts import FACTS
from hub.policy.options import people_options
from hub.policy.properties import (
    default_properties_path,
    load_properties,
    parse_properties,
    properties_for,
)
from hub.policy.safety import SafetyReport, _Walk, check_policy_file, check_safety, report_lines
from hub.policy.space import FACT_GROUPS, concern_classes, make_space
from hub.router.simulate import Simulation
from tests.commands import run_hub

DEFAULT = default_policy_path().read_text()
PROPERTIES = load_properties([default_properties_path()])
EXPLOITATION = "".join(
    f"{' ' * 14}- {code}\n" for code in ("child_sexual_exploitation", "child_criminal_exploitation")
)


def small_policy(*rules: str) -> bytes:
    """A policy of the given rules (YAML items) and the fail-safe."""
    fail_safe = """
  - id: fail-safe
    title: Fail safe
    rationale: A child goes to the MASH.
    fallback: true
    when: {child.involved: true}
    route: [mash]"""
    return ("rules:" + "".join(rules) + fail_safe + "\n").encode()


SIGNIFICANT_HARM_RULE = """
  - id: harm
    title: Harm
    rationale: Significant harm goes to the MASH.
    when:
      all:
        - child.involved: true
        - any:
            - risk.level: high
            - child.injured: true
            - consent.significant_harm_stated: true
            - concerns:
                contains_any: [child_protection, harm_flag, physical_abuse, sexual_abuse,
                               child_sexual_exploitation, child_criminal_exploitation,
                               trafficking, modern_slavery, female_genital_mutilation,
                               forced_marriage, honour_based_abuse, radicalisation,
                               person_posing_risk]
    route: [mash]"""

ADULTS_RECORDED = """
  - id: adults
    title: Adults
    rationale: No child, kept.
    when: {child.involved: false}
    route: [record-only]"""

CHILDREN_ONLY_RECORDED = """
  - id: record-children
    title: Record children
    rationale: Kept.
    when: {child.involved: true}
    route: [record-only]"""
"""An unsafe rule: every message about a child is only recorded."""


DA_TRIAGE = """
  - id: da
    title: DA
    rationale: DA with a child, or a child victim.
    when:
      all:
        - domestic_abuse: true
        - any: [{child.affected: true}, {child.victim: true}]
    route: [da-triage]
  - id: da-victim
    title: Child victim
    rationale: A child victim.
    when: {all: [{domestic_abuse: true}, {child.victim: true}]}
    route: [mash]
  - id: homeless-child
    title: Homeless child
    rationale: A child alone.
    when: {all: [{kind: housing.duty_to_refer}, {child.without_parent_carer: true}]}
    route: [mash]"""


PROPERTY = """properties:
  - id: x
    title: X
    rationale: Y
    given: {}
    expect: {}
"""


def ids(report: SafetyReport) -> set[str]:
    return {c.prop.id for c in report.counterexamples}


@pytest.fixture(scope="module")
def default_report() -> SafetyReport:
    return check_policy_file(load_policy())


class TestDefaultPolicy:
    def test_every_property_holds(self, default_report: SafetyReport) -> None:
        """The default policy keeps every safety property, over the whole fact space."""
        assert default_report.safe, report_lines(default_report)[:12]
        assert default_report.states > 100
        assert report_lines(default_report)[-1].startswith("SAFE: all 8 properties hold")

    def test_it_finishes_well_within_a_minute(self, default_report: SafetyReport) -> None:
        """The check is fast enough for CI and for every simulation."""
        assert default_report.seconds < 60

    def test_without_exploitation_codes_it_fails_naming_them(self) -> None:
        """Removing exploitation from significant harm is caught, and the cases named."""
        assert EXPLOITATION in DEFAULT
        unsafe = parse_policy(DEFAULT.replace(EXPLOITATION, "").encode(), "unsafe.yaml")
        report = check_policy_file(unsafe)
        assert not report.safe
        assert "significant-harm-reaches-mash" in ids(report)
        text = "\n".join(report_lines(report))
        assert "child_sexual_exploitation" in text
        assert "child_criminal_exploitation" in text
        assert text.splitlines()[-1].startswith("UNSAFE:")
        for found in report.counterexamples:
            concerns = dict(found.facts)["concerns"]
            assert "child_sexual_exploitation" in concerns
            assert "mash" not in {a.value for a in found.decision.destinations}
        # A police child concern graded amber without consent is returned: the bug reported.
        returned = [c for c in report.counterexamples if "child_concern" in " ".join(c.options)]
        assert returned
        assert [a.value for a in returned[0].decision.destinations] in (
            ["returned"],
            ["early-help"],
        )


class TestUnsafePolicies:
    def test_a_child_only_recorded_is_caught(self) -> None:
        """A rule that records a child's message, with nothing else, breaks a property."""
        rule = """
  - id: record-children
    title: Record children
    rationale: Kept.
    when: {all: [{child.involved: true}, {risk.level: standard}]}
    route: [record-only]"""
        report = check_safety(parse_policy(small_policy(rule)), PROPERTIES)
        assert "child-never-only-recorded" in ids(report)

    def test_a_child_returned_for_another_reason_is_caught(self) -> None:
        """Returning a child's message other than for a consent-based service is caught."""
        rule = """
  - id: bounce
    title: Bounce
    rationale: Sent back.
    when: {all: [{child.involved: true}, {partner: health}]}
    route: [returned]"""
        report = check_safety(parse_policy(small_policy(rule)), PROPERTIES)
        prop = "child-returned-only-for-consent"
        found = [c for c in report.counterexamples if c.prop.id == prop]
        assert found
        assert "returned by bounce" in found[0].broken

    def test_early_help_without_consent_is_a_lawful_return(self) -> None:
        """Returning for want of the consent early help needs is allowed."""
        rule = """
  - id: early-help
    title: Early help
    rationale: With consent.
    when:
      all:
        - child.involved: true
        - risk.level: standard
        - not: {concerns: {contains_any: [child_protection]}}
    route: [early-help]
    consent: required
    returned_reason: Add consent."""
        report = check_safety(parse_policy(small_policy(rule)), PROPERTIES)
        assert "child-returned-only-for-consent" not in ids(report)

    def test_adults_at_low_risk_to_the_mash_is_caught(self) -> None:
        """Sending an adult-only, low-risk notification to the MASH breaks a property."""
        rule = """
  - id: everything
    title: Everything
    rationale: All to the MASH.
    when: {risk.level: standard}
    route: [mash]"""
        report = check_safety(parse_policy(small_policy(rule)), PROPERTIES)
        assert "adult-low-risk-never-mash" in ids(report)

    def test_a_small_safe_policy_passes(self) -> None:
        """A policy that sends every child to the MASH and records adults is safe."""
        rules = (SIGNIFICANT_HARM_RULE, ADULTS_RECORDED, DA_TRIAGE)
        report = check_safety(parse_policy(small_policy(*rules)), PROPERTIES)
        assert report.safe, report_lines(report)[:10]

    def test_an_open_case_that_hides_harm_is_caught(self) -> None:
        """Redirecting significant harm away from every team is caught."""
        redirect = """
  - id: open-case
    title: Open case
    rationale: Known.
    when: {history.open_case: true}
    redirect: {from: [mash], to: lado}"""
        rules = (SIGNIFICANT_HARM_RULE, ADULTS_RECORDED, DA_TRIAGE, redirect)
        report = check_safety(parse_policy(small_policy(*rules)), PROPERTIES)
        assert "significant-harm-open-case-reaches-allocated-team" in ids(report)
        assert "significant-harm-reaches-mash" not in ids(report)


class TestPropertiesFile:
    def test_the_shipped_properties_load(self) -> None:
        """The shipped file holds the properties the design names."""
        assert {p.id for p in PROPERTIES} >= {
            "significant-harm-reaches-mash",
            "significant-harm-open-case-reaches-allocated-team",
            "child-never-only-recorded",
            "child-returned-only-for-consent",
            "adult-low-risk-never-mash",
        }

    def test_a_councils_own_properties_are_checked_too(self, tmp_path: Path) -> None:
        """A safety.yaml beside a policy adds properties; the shipped ones stay."""
        policy_path = tmp_path / "policy.yaml"
        policy_path.write_bytes(small_policy(SIGNIFICANT_HARM_RULE, ADULTS_RECORDED, DA_TRIAGE))
        (tmp_path / "safety.yaml").write_text(
            """properties:
  - id: neglect-reaches-early-help
    title: Neglect reaches early help
    rationale: Our council's offer.
    given: {all: [{child.involved: true}, {concerns: {contains: neglect}}]}
    expect: {reaches_any: [early-help]}
"""
        )
        paths = properties_for(policy_path)
        assert paths[0] == default_properties_path()
        report = check_policy_file(load_policy(policy_path), policy_path)
        assert len(report.properties) == len(PROPERTIES) + 1
        assert ids(report) == {"neglect-reaches-early-help"}

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("properties: []\n", "non-empty list"),
            ("rules: []\n", "'properties' list"),
            (PROPERTY.format("{child.involvd: true}", "{reaches_any: [mash]}"), ":5: unknown fact"),
            (PROPERTY.format("{child.involved: true}", "{reaches: [mash]}"), "unknown expectation"),
            (PROPERTY.format("{child.involved: true}", "{reaches_any: [mashh]}"), "area 'mashh'"),
        ],
    )
    def test_a_bad_properties_file_is_refused_with_the_reason(self, text: str, reason: str) -> None:
        """Mistakes in a properties file are refused, naming the line where known."""
        with pytest.raises(PolicyError, match=reason):
            parse_properties(text.encode(), "council.yaml")


class TestSpace:
    def test_every_fact_has_its_groups(self) -> None:
        """The checker knows which options each fact is computed from."""
        assert set(FACTS) - set(FACT_GROUPS) == {"concerns"}

    def test_codes_no_condition_reads_are_one_with_no_code(self) -> None:
        """Concern codes are tried one per class; unread codes are not tried at all."""
        conditions = [r.when for r in load_policy().rules] + [p.given for p in PROPERTIES]
        classes = concern_classes(conditions)
        members = {c.value for cls in classes for c in cls.members}
        assert "neglect" not in members
        exploitation = next(c for c in classes if "child_sexual_exploitation" in c.show())
        assert "female_genital_mutilation" in exploitation.show()

    def test_ages_are_tried_at_the_boundaries(self) -> None:
        """The people tried include 17- and 18-year-olds and an unborn child."""
        raw = " | ".join(o.label for o in people_options())
        assert "child aged 17" in raw
        assert "household member aged 18" in raw
        assert "unborn" in raw
        space = make_space([r.when for r in load_policy().rules])
        kept = " | ".join(o.label for o in space.groups["people"])
        assert "child aged 8 (school known" in kept  # school age, for Operation Encompass
        assert "child aged 8 (present)" in kept  # present, for domestic abuse
        assert "child aged 16" in kept  # 16 and 17 are told apart from 15
        assert len(space.groups["people"]) < len(people_options())


class TestCommandLine:
    def test_check_safety_exits_1_and_prints_counterexamples(self, tmp_path: Path) -> None:
        """`hub policy check --safety` names the broken property and exits 1."""
        path = tmp_path / "candidate.yaml"
        path.write_bytes(small_policy(CHILDREN_ONLY_RECORDED))
        done = run_hub("policy", "check", str(path), "--safety")
        assert done.returncode == 1
        assert "COUNTEREXAMPLE 1:" in done.stdout
        assert "child-never-only-recorded" in done.stdout
        assert "destinations: record-only" in done.stdout
        assert done.stdout.splitlines()[-1].startswith("UNSAFE:")

    def test_check_safety_exits_0_for_a_safe_policy(self, tmp_path: Path) -> None:
        """A safe policy passes with exit status 0."""
        path = tmp_path / "candidate.yaml"
        path.write_bytes(small_policy(SIGNIFICANT_HARM_RULE, ADULTS_RECORDED, DA_TRIAGE))
        done = run_hub("policy", "check", str(path), "--safety")
        assert done.returncode == 0, done.stdout[-2000:]
        assert done.stdout.splitlines()[-1].startswith("SAFE: all 8 properties hold")


class TestSimulate:
    def test_simulate_prints_counterexamples_before_the_volumes(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A candidate that makes a child unsafe is shown so before anything else."""
        path = tmp_path / "candidate.yaml"
        path.write_bytes(small_policy(CHILDREN_ONLY_RECORDED))
        candidate = load_policy(path)
        current = load_policy()

        class FakeHub:
            settings = SimpleNamespace(kafka=None)

            def policy(self) -> Policy:
                return current

        def no_traffic(_kafka: object, now: Policy, then: Policy, *window: Any) -> Simulation:
            return Simulation(*window, now.version, then.version)

        monkeypatch.setattr(policy_cli, "current_hub", FakeHub)
        monkeypatch.setattr(policy_cli, "run_simulation", no_traffic)
        done = CliRunner().invoke(
            policy_cli.app,
            ["simulate", "--policy", str(path), "--from", "2026-01-01", "--to", "2026-01-02"],
        )
        assert done.exit_code == 0, done.output
        unsafe = done.output.index("NOT SAFE")
        first = done.output.index("COUNTEREXAMPLE 1:")
        volumes = done.output.index("messages received")
        assert unsafe < first < volumes
        assert candidate.version[:12] in done.output


REDIRECTS = """
  - id: open-case
    title: Open case
    rationale: Known.
    when: {history.open_case: true}
    redirect: {from: [mash, early-help], to: allocated-team}
  - id: lado-case
    title: Chained
    rationale: A second redirect that moves the first's target.
    when: {allegation_against_professional: true}
    redirect: {from: [allocated-team], to: lado}
  - id: bounce
    title: Bounce
    rationale: Sent back.
    when: {all: [{child.involved: true}, {partner: health}, {risk.level: medium}]}
    route: [returned]
  - id: early-help
    title: Early help
    rationale: With consent.
    when: {all: [{child.involved: true}, {risk.level: standard}]}
    route: [early-help]
    consent: required
    returned_reason: Add consent."""


class TestFormulas:
    @pytest.mark.parametrize(
        "source",
        [
            DEFAULT.encode(),
            DEFAULT.replace(EXPLOITATION, "").encode(),
            small_policy(SIGNIFICANT_HARM_RULE, ADULTS_RECORDED, REDIRECTS),
        ],
        ids=["default", "without-exploitation", "redirects-and-returns"],
    )
    def test_the_formulas_agree_with_the_engine(self, source: bytes) -> None:
        """On many messages across the space, the checker's formulas and the engine agree."""
        policy = parse_policy(source)
        conditions = [*(r.when for r in policy.rules), *(p.given for p in PROPERTIES)]
        space = make_space(conditions)
        walk = _Walk(space, policy, PROPERTIES, conditions)
        rng = random.Random(18)
        disagreements = []
        for _ in range(1500):
            choice = [rng.randrange(len(c.options)) for c in space.compounds]
            state = walk.start
            for depth, index in enumerate(choice):
                values = walk.values[depth][index]
                state = tuple(walk.dag.fold(node, values, {}) for node in state)
            assert set(state) <= {0, 1}
            by_formula = {
                (p.id, k) for (p, k), node in zip(walk.checks, state, strict=True) if node
            }
            options = [c.options[i] for c, i in zip(space.compounds, choice, strict=True)]
            facts = space.facts(space.expand(options))
            decision = decide_facts(policy, facts, consent_given=bool(facts["consent.given"]))
            by_engine = {
                (p.id, k)
                for p in PROPERTIES
                if p.given(facts)
                for k, e in enumerate(p.expect)
                if e.broken(decision, policy)
            }
            if by_formula != by_engine:
                disagreements.append((options, by_formula, by_engine))
        assert not disagreements, disagreements[:2]
