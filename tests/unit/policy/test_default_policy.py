"""The default policy, table-driven: one row per rule and area, the fail-safe, the edges."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from hub.policy import decide, default_policy_path, load_policy
from schemas.common import (
    Area,
    Concern,
    ConsentStatus,
    NoConsentReason,
    PlanType,
    RiskLevel,
    RiskTool,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Plan, split_envelope
from schemas.history import HistorySummary
from tests.factories import NOW, consent, envelope, risk, subject

POLICY = load_policy()
A = Area


def child(**kw: Any) -> Any:
    return subject(SubjectRole.CHILD, kw.pop("label", "child-1"), **kw)


def adult(role: SubjectRole = SubjectRole.VICTIM, **kw: Any) -> Any:
    return subject(role, kw.pop("label", f"adult-{role.value}"), **kw)


@dataclass
class Case:
    name: str
    kind: str
    subjects: list[Any]
    expected: set[Area]
    rules: set[str] = field(default_factory=set)
    level: RiskLevel = RiskLevel.STANDARD
    consent_status: ConsentStatus = ConsentStatus.GIVEN
    concerns: tuple[Concern, ...] = ()
    history: dict[str, Any] = field(default_factory=dict)
    risk_extra: dict[str, Any] = field(default_factory=dict)
    without_consent: bool | None = None
    consent_facts: dict[str, Any] = field(default_factory=dict)
    plans: tuple[Plan, ...] = ()


# Shared without consent under the NHS duty, not because of significant harm: the
# factory's default (s47, would prejudice protection) is the sender's own statement of
# significant harm, which takes a message about a child to the MASH.
NOT_STATED = {
    "no_consent_reason": NoConsentReason.CANNOT_REASONABLY_BE_OBTAINED,
    "statutory_gateway": StatutoryGateway.CA2004_S11,
}

DA = "police.notification.domestic_abuse"
HEALTH = "health.safeguarding_concern"
CPIS_ACCESS = "health.cpis_access"
CPP = Plan(type=PlanType.CHILD_PROTECTION_PLAN, local_authority="Example County Council")
UNBORN = Plan(type=PlanType.UNBORN_CHILD_PROTECTION_PLAN, local_authority="Example Council")
CPIS_FLAG = (Concern.CHILD_PROTECTION, Concern.HARM_FLAG)
DASH = "domestic_abuse.dash_assessment"
CONCERN = "police.notification.child_concern"

CASES = [
    Case(
        "r1 high risk child",
        CONCERN,
        [child()],
        {A.MASH},
        {"r1-significant-harm"},
        level=RiskLevel.HIGH,
    ),
    Case("r1 injured child", CONCERN, [child(injured=True)], {A.MASH}, {"r1-significant-harm"}),
    Case(
        "r1 health flag of harm without consent",
        "health.safeguarding_concern",
        [child()],
        {A.MASH},
        {"r1-significant-harm"},
        consent_status=ConsentStatus.NOT_SOUGHT,
        concerns=(Concern.HARM_FLAG,),
        without_consent=True,
        consent_facts=NOT_STATED,
    ),
    Case(
        "r1 child sexual exploitation graded amber without consent",
        CONCERN,
        [child(age_years=14)],
        {A.MASH},
        {"r1-abuse-and-exploitation"},
        level=RiskLevel.MEDIUM,
        consent_status=ConsentStatus.NOT_SOUGHT,
        concerns=(Concern.CHILD_SEXUAL_EXPLOITATION,),
        without_consent=True,
        consent_facts=NOT_STATED,
    ),
    Case(
        "r1 person posing a risk joins the household",
        "police.notification.person_posing_risk",
        [adult(SubjectRole.HOUSEHOLD_MEMBER), child()],
        {A.MASH},
        {"r1-person-posing-risk"},
        concerns=(Concern.PERSON_POSING_RISK,),
    ),
    Case(
        "r1 sender states s47 without consent",
        "health.safeguarding_concern",
        [child()],
        {A.MASH},
        {"r1-sender-states-significant-harm"},
        consent_status=ConsentStatus.REFUSED,
        without_consent=True,
    ),
    Case(
        "r2 DA child present",
        DA,
        [adult(), child(present=True)],
        {A.DA_TRIAGE},
        {"r2-da-with-child"},
    ),
    Case(
        "r2 DA child present high risk",
        DA,
        [adult(), child(present=True)],
        {A.DA_TRIAGE, A.MASH, A.MARAC},
        {"r2-da-with-child", "r2-da-escalation", "r1-significant-harm", "r3-marac"},
        level=RiskLevel.HIGH,
    ),
    Case(
        "r2 DA medium with escalation",
        DA,
        [adult(), child(resides_at_address=True)],
        {A.DA_TRIAGE, A.MASH, A.MARAC},
        {"r2-da-with-child", "r2-da-escalation", "r3-marac"},
        level=RiskLevel.MEDIUM,
        history={"da_incidents_12m": 3},
    ),
    Case(
        "r2 DA medium without escalation",
        DA,
        [adult(), child(resides_at_address=True)],
        {A.DA_TRIAGE},
        {"r2-da-with-child"},
        level=RiskLevel.MEDIUM,
        history={"da_incidents_12m": 2},
    ),
    Case(
        "r2 encompass child 8 with school",
        DA,
        [adult(), child(present=True, school_urn="100001")],
        {A.DA_TRIAGE, A.ENCOMPASS},
        {"r2-da-with-child", "r2-encompass"},
    ),
    Case(
        "r2 17-year-old victim of domestic abuse",
        DASH,
        [adult(age_years=17), adult(SubjectRole.PERSON_CAUSING_HARM)],
        {A.DA_TRIAGE, A.MASH},
        {"r2-da-with-child", "r2-da-child-victim"},
        level=RiskLevel.MEDIUM,
        risk_extra={"tool": RiskTool.DASH, "score": 11},
    ),
    Case(
        "r2 encompass child 17",
        DA,
        [adult(), child(age_years=17, present=True, school_urn="100001")],
        {A.DA_TRIAGE, A.ENCOMPASS},
        {"r2-da-with-child", "r2-encompass"},
    ),
    Case(
        "r2 no encompass aged 3",
        DA,
        [adult(), child(age_years=3, present=True, school_urn="100001")],
        {A.DA_TRIAGE},
        {"r2-da-with-child"},
    ),
    Case(
        "r2 18-year-old is an adult",
        DA,
        [
            adult(),
            adult(SubjectRole.HOUSEHOLD_MEMBER, age_years=18, present=True, school_urn="100001"),
        ],
        {A.RECORD_ONLY},
        {"r7-no-child-record-only"},
    ),
    Case(
        "r3 DASH 14 is MARAC",
        DASH,
        [adult(), child(resides_at_address=True)],
        {A.DA_TRIAGE, A.MARAC, A.MASH},
        {"r2-da-with-child", "r3-marac", "r2-da-escalation", "r1-significant-harm"},
        level=RiskLevel.HIGH,
        risk_extra={"tool": RiskTool.DASH, "score": 14},
    ),
    Case(
        "r3 DASH 13 is not MARAC",
        DASH,
        [adult(), child(resides_at_address=True)],
        {A.DA_TRIAGE},
        {"r2-da-with-child"},
        level=RiskLevel.MEDIUM,
        risk_extra={"tool": RiskTool.DASH, "score": 13},
    ),
    Case(
        "r3 professional judgement",
        DASH,
        [adult()],
        {A.MARAC},
        {"r3-marac"},
        level=RiskLevel.HIGH,
        risk_extra={"tool": RiskTool.DASH, "score": 9, "professional_judgement": True},
    ),
    Case(
        "r3 repeat within 12 months",
        DA,
        [adult()],
        {A.MARAC},
        {"r3-marac"},
        level=RiskLevel.MEDIUM,
        history={"last_marac_referral_at": NOW - timedelta(days=300)},
    ),
    Case(
        "r3 repeat after 12 months",
        DA,
        [adult()],
        {A.RECORD_ONLY},
        set(),
        level=RiskLevel.MEDIUM,
        history={"last_marac_referral_at": NOW - timedelta(days=400)},
    ),
    Case(
        "r4 LADO allegation",
        "police.notification.other",
        [adult(SubjectRole.PROFESSIONAL_SUBJECT, works_with_children=True), child()],
        {A.LADO},
        {"r4-lado"},
        concerns=(Concern.ALLEGATION_AGAINST_PROFESSIONAL,),
    ),
    Case(
        "r4 LADO with significant harm",
        "police.notification.other",
        [adult(SubjectRole.PROFESSIONAL_SUBJECT), child(injured=True)],
        {A.LADO, A.MASH},
        {"r4-lado", "r1-significant-harm"},
    ),
    Case(
        "r5 housing with consent",
        "housing.duty_to_refer",
        [adult(SubjectRole.HOUSEHOLD_MEMBER)],
        {A.HOUSING},
        {"r5-housing-duty-to-refer"},
    ),
    Case(
        "r5 housing 17-year-old",
        "housing.duty_to_refer",
        [child(age_years=17)],
        {A.HOUSING, A.MASH},
        {"r5-housing-duty-to-refer", "r5-housing-young-person", "r5-housing-child-alone"},
    ),
    Case(
        "r5 housing 15-year-old on her own",
        "housing.duty_to_refer",
        [child(age_years=15)],
        {A.HOUSING, A.MASH},
        {"r5-housing-duty-to-refer", "r5-housing-child-alone"},
    ),
    Case(
        "r5 housing family with a young child",
        "housing.duty_to_refer",
        [adult(SubjectRole.PARENT_CARER), child(age_years=6)],
        {A.HOUSING},
        {"r5-housing-duty-to-refer"},
    ),
    Case(
        "r5 housing without consent",
        "housing.duty_to_refer",
        [adult(SubjectRole.HOUSEHOLD_MEMBER)],
        {A.RETURNED},
        {"r5-housing-duty-to-refer"},
        consent_status=ConsentStatus.REFUSED,
    ),
    Case("r6 early help with consent", CONCERN, [child()], {A.EARLY_HELP}, {"r6-early-help"}),
    Case(
        "r6 early help without consent",
        CONCERN,
        [child()],
        {A.RETURNED},
        {"r6-early-help"},
        consent_status=ConsentStatus.REFUSED,
        without_consent=False,
        consent_facts=NOT_STATED,
    ),
    Case(
        "r6 missing child returns home",
        "police.notification.missing_person",
        [child(age_years=13)],
        {A.EARLY_HELP},
        {"r6-missing-child"},
        consent_status=ConsentStatus.NOT_SOUGHT,
        concerns=(Concern.MISSING,),
        without_consent=True,
        consent_facts=NOT_STATED,
    ),
    Case(
        "r6 missing child at medium risk",
        "police.notification.missing_person",
        [child(age_years=13)],
        {A.EARLY_HELP, A.MASH},
        {"r6-missing-child", "r6-missing-child-escalation"},
        level=RiskLevel.MEDIUM,
        concerns=(Concern.MISSING,),
    ),
    Case(
        "r6 unborn child counts",
        "health.safeguarding_concern",
        [
            subject(SubjectRole.UNBORN_CHILD, "unborn", age_years=None, date_of_birth=None),
            adult(SubjectRole.PARENT_CARER),
        ],
        {A.EARLY_HELP},
        {"r6-early-help"},
    ),
    Case(
        "r7 adults only low risk",
        DA,
        [adult(), adult(SubjectRole.PERSON_CAUSING_HARM)],
        {A.RECORD_ONLY},
        {"r7-no-child-record-only"},
    ),
    Case(
        "r7 adult at risk",
        "police.notification.adult_at_risk",
        [adult()],
        {A.ADULT_SERVICES},
        {"r7-adult-at-risk"},
    ),
    Case(
        "r7 adult at risk with a child in the home",
        "police.notification.adult_at_risk",
        [adult(SubjectRole.PARENT_CARER), child(age_years=5, resides_at_address=True)],
        {A.ADULT_SERVICES, A.MASH},
        {"r7-adult-at-risk", "r7-adult-at-risk-with-child"},
    ),
    Case(
        "r7 adults only medium risk",
        "police.notification.other",
        [adult()],
        {A.RECORD_ONLY},
        {"r7-adult-higher-risk"},
        level=RiskLevel.MEDIUM,
    ),
    Case(
        "r8 open case instead of early help",
        CONCERN,
        [child()],
        {A.ALLOCATED_TEAM},
        {"r6-early-help", "r8-open-case"},
        history={"open_case": True},
    ),
    Case(
        "r8 open case instead of mash",
        CONCERN,
        [child()],
        {A.ALLOCATED_TEAM},
        {"r1-significant-harm", "r8-open-case"},
        level=RiskLevel.HIGH,
        history={"open_case": True},
    ),
    Case(
        "r9 third low-level in three months",
        CONCERN,
        [child()],
        {A.EARLY_HELP, A.MASH},
        {"r6-early-help", "r9-escalation-from-history"},
        history={"low_level_3m": 3},
    ),
    Case(
        "r9 second low-level is not escalation",
        CONCERN,
        [child()],
        {A.EARLY_HELP},
        {"r6-early-help"},
        history={"low_level_3m": 2},
    ),
    Case(
        "cpis flag about a child",
        HEALTH,
        [child(age_years=None, date_of_birth=None)],
        {A.MASH},
        {"r1-significant-harm", "cpis-plan-holder"},
        level=RiskLevel.HIGH,
        consent_status=ConsentStatus.NOT_SOUGHT,
        concerns=CPIS_FLAG,
        plans=(CPP,),
        without_consent=True,
        consent_facts=NOT_STATED,
    ),
    Case(
        "cpis flag with an open case",
        HEALTH,
        [child()],
        {A.ALLOCATED_TEAM},
        {"r1-significant-harm", "cpis-plan-holder", "r8-open-case"},
        level=RiskLevel.HIGH,
        concerns=CPIS_FLAG,
        plans=(Plan(),),
        history={"open_case": True},
    ),
    Case(
        "cpis unborn child's plan held against the mother",
        HEALTH,
        [adult(SubjectRole.PARENT_CARER)],
        {A.MASH},
        {"r1-significant-harm", "cpis-plan-holder"},
        level=RiskLevel.HIGH,
        concerns=(*CPIS_FLAG, Concern.PREGNANCY),
        plans=(UNBORN,),
    ),
    Case(
        "cpis plan about an adult is never adult services",
        HEALTH,
        [adult()],
        {A.MASH},
        {"cpis-plan-holder"},
        level=RiskLevel.HIGH,
        concerns=CPIS_FLAG,
        plans=(CPP,),
    ),
    Case(
        "cpis access without an open case",
        CPIS_ACCESS,
        [child(age_years=None, date_of_birth=None)],
        {A.MASH},
        {"cpis-plan-holder"},
        consent_status=ConsentStatus.NOT_SOUGHT,
        without_consent=True,
        consent_facts=NOT_STATED,
    ),
    Case(
        "cpis access to the team holding the open case",
        CPIS_ACCESS,
        [child(age_years=None, date_of_birth=None)],
        {A.ALLOCATED_TEAM},
        {"cpis-plan-holder", "r8-open-case"},
        consent_status=ConsentStatus.NOT_SOUGHT,
        history={"open_case": True},
        consent_facts=NOT_STATED,
    ),
    Case(
        "health implied consent for direct care is not consent for early help",
        HEALTH,
        [child()],
        {A.RETURNED},
        {"r6-early-help"},
        consent_status=ConsentStatus.IMPLIED_DIRECT_CARE,
        concerns=(Concern.NEGLECT,),
        without_consent=False,
        consent_facts=NOT_STATED,
    ),
    Case(
        "health implied consent with a flag of harm is shared without consent",
        HEALTH,
        [child()],
        {A.MASH},
        {"r1-significant-harm"},
        level=RiskLevel.HIGH,
        consent_status=ConsentStatus.IMPLIED_DIRECT_CARE,
        concerns=(Concern.CHILD_PROTECTION, Concern.HARM_FLAG),
        without_consent=True,
        consent_facts=NOT_STATED,
    ),
    Case(
        "health safeguarding flag about an adult, no child",
        HEALTH,
        [adult()],
        {A.ADULT_SERVICES},
        {"r7-adult-at-risk"},
        level=RiskLevel.HIGH,
        consent_status=ConsentStatus.IMPLIED_DIRECT_CARE,
        concerns=(Concern.HARM_FLAG, Concern.ADULT_AT_RISK),
    ),
    Case(
        "r10 fail-safe",
        DA,
        [adult(), adult(SubjectRole.PERSON_CAUSING_HARM), child(resides_at_address=False)],
        {A.MASH},
        {"r10-fail-safe"},
    ),
]


def build(case: Case) -> Any:
    env = envelope(
        kind=case.kind,
        subjects=case.subjects,
        risk=risk(case.level, **case.risk_extra),
        consent=consent(case.consent_status, **case.consent_facts),
        concerns=case.concerns,
        plans=case.plans,
    )
    meta, _ = split_envelope(env)
    return meta


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_default_policy(case: Case) -> None:
    """Each case goes to exactly its areas, by exactly its rules."""
    decision = decide(POLICY, build(case), HistorySummary(**case.history))
    assert set(decision.destinations) == case.expected
    assert set(decision.rules) == case.rules
    assert len(decision.rationale) >= len(case.rules)
    if case.without_consent is not None:
        assert decision.shared_without_consent is case.without_consent


def test_every_area_is_reachable() -> None:
    """The table covers every service area."""
    covered = set().union(*(c.expected for c in CASES))
    assert covered == set(Area)


def test_every_rule_is_exercised() -> None:
    """The table exercises every rule of the default policy."""
    exercised = set().union(*(c.rules for c in CASES))
    assert exercised == {r.id for r in POLICY.rules}


class TestDecisionDetails:
    def test_returned_carries_the_reason(self) -> None:
        """A message returned for lack of consent says why."""
        case = next(c for c in CASES if c.name == "r6 early help without consent")
        decision = decide(POLICY, build(case), HistorySummary())
        assert decision.returned_reasons
        assert "consent" in decision.returned_reasons[0]

    def test_fail_safe_rationale_says_so(self) -> None:
        """The fail-safe's rationale says no rule matched."""
        case = next(c for c in CASES if c.name == "r10 fail-safe")
        decision = decide(POLICY, build(case), HistorySummary())
        assert any("no rule matched" in r for r in decision.rationale)

    def test_significant_harm_without_consent_is_recorded(self) -> None:
        """Sharing without consent is flagged on the decision."""
        case = next(c for c in CASES if c.name == "r1 health flag of harm without consent")
        assert decide(POLICY, build(case), HistorySummary()).shared_without_consent

    def test_version_is_the_content_hash(self) -> None:
        """The policy's version is the SHA-256 of its file."""
        digest = hashlib.sha256(default_policy_path().read_bytes()).hexdigest()
        assert POLICY.version == digest
