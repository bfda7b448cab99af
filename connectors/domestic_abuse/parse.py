"""Parse a DASH risk checklist from a domestic-abuse service into an envelope.

The mapping is documented in ``docs/formats/domestic-abuse.md``. In short: the score
is the number of yes answers; 14 or more is high, 10 to 13 medium, anything less
standard (SafeLives); a professional judgement of high risk raises the level to high
and never lowers it; the partner grade is the service's own, else ``DASH n/24``.
"""

from __future__ import annotations

from datetime import UTC

from connectors.domestic_abuse.format import Answer, DashAnswers, DashAssessment
from connectors.errors import FieldError, ParseFailed
from connectors.grades import LEVEL_RAG, map_grade, with_judgement
from connectors.message import Sender
from connectors.native import birth_date_errors, contract_errors, parse_json_body
from connectors.protocol import ParseContext
from connectors.subjects import build_subject, consent_gaps, finding
from schemas.common import (
    CHILD_AGE_LIMIT,
    Concern,
    ConsentStatus,
    LawfulBasis,
    Partner,
    RiskLevel,
    RiskTool,
    SpecialCategoryCondition,
    SubjectRole,
)
from schemas.envelope import (
    Consent,
    Envelope,
    QualityFinding,
    Risk,
    Subject,
    age_on,
)

KIND = "domestic_abuse.dash_assessment"
HIGH_FROM, MEDIUM_FROM = 14, 10
"""SafeLives thresholds: 14 or more yes answers is high risk, 10 to 13 medium."""


def parse(raw: bytes, content_type: str, context: ParseContext) -> list[Envelope]:
    """Parse one DASH assessment into one envelope."""
    assessment = parse_json_body(DashAssessment, raw, content_type)
    errors = assessment_errors(assessment)
    if errors:
        raise ParseFailed(errors)
    return [to_envelope(assessment, context)]


def dash_score(answers: DashAnswers) -> int:
    """The number of yes answers."""
    return sum(answer is Answer.YES for answer in answers.model_dump().values())


def dash_level(score: int) -> RiskLevel:
    """The SafeLives level of a score."""
    if score >= HIGH_FROM:
        return RiskLevel.HIGH
    if score >= MEDIUM_FROM:
        return RiskLevel.MEDIUM
    return RiskLevel.STANDARD


def assessment_errors(assessment: DashAssessment) -> list[FieldError]:
    """The rules across fields that the format's models cannot state."""
    a = assessment
    occurred = a.incident_at or a.assessed_at
    errors: list[FieldError] = []
    if a.incident_at is not None and a.incident_at > a.assessed_at:
        errors.append(FieldError("incident_at", "is after assessed_at"))
    if a.professional_judgement.high and a.professional_judgement.rationale is None:
        errors.append(FieldError("professional_judgement.rationale", "required when high is true"))
    errors += birth_date_errors(a.victim.date_of_birth, occurred, "victim.date_of_birth")
    if a.person_causing_harm is not None:
        where = "person_causing_harm.date_of_birth"
        errors += birth_date_errors(a.person_causing_harm.date_of_birth, occurred, where)
    for index, child in enumerate(a.children):
        where = f"children.{index}.date_of_birth"
        errors += birth_date_errors(child.date_of_birth, occurred, where)
    status = a.consent.status.envelope
    because = f"consent.status is {status.value}"
    return errors + consent_gaps(
        status,
        no_consent_reason=a.consent.no_consent_reason,
        statutory_gateway=a.consent.statutory_gateway,
        prefix="consent",
        because=because,
    )


# ------------------------------------------------------------------------ mapping


def to_envelope(assessment: DashAssessment, context: ParseContext) -> Envelope:
    """Map a checked assessment to its envelope."""
    a = assessment
    occurred = a.incident_at or a.assessed_at
    with contract_errors():
        subjects, findings = _subjects(a, context)
        risk = _risk(a)
        findings += _grade_finding(a, risk)
        sender = Sender(Partner.DOMESTIC_ABUSE, a.org_code, a.reference)
        return sender.envelope(
            context,
            system=a.system or "json",
            submitted_by=a.assessor,
            kind=KIND,
            occurred_at=occurred,
            reported_at=a.assessed_at,
            subjects=subjects,
            findings=findings,
            risk=risk,
            consent=_consent(a),
            concerns=_concerns(a),
            narrative=a.narrative,
        )


def _subjects(
    a: DashAssessment, context: ParseContext
) -> tuple[list[Subject], list[QualityFinding]]:
    """The children first (the key is the first child's), then the victim, then the abuser."""
    occurred = a.incident_at or a.assessed_at
    fallback = f"domestic-abuse|{a.org_code}|{a.reference}"
    subjects: list[Subject] = []
    findings: list[QualityFinding] = []
    for index, child in enumerate(a.children):
        inherits = child.postcode is None and child.resides_at_address is True
        subject, found = build_subject(
            context,
            where=f"children.{index}",
            fallback=f"{fallback}|children.{index}",
            role=SubjectRole.CHILD,
            occurred_at=occurred,
            **child.model_dump(exclude={"postcode"}),
            postcode=a.victim.postcode if inherits else child.postcode,
        )
        subjects.append(subject)
        findings += found
    people = [("victim", SubjectRole.VICTIM, a.victim.model_dump())]
    if a.person_causing_harm is not None:
        harm = a.person_causing_harm.model_dump()
        people.append(("person_causing_harm", SubjectRole.PERSON_CAUSING_HARM, harm))
    for where, role, details in people:
        subject, found = build_subject(
            context,
            where=where,
            fallback=f"{fallback}|{where}",
            role=role,
            occurred_at=occurred,
            **details,
        )
        subjects.append(subject)
        findings += found
    return subjects, findings


def _risk(a: DashAssessment) -> Risk:
    score = dash_score(a.answers)
    level = dash_level(score)
    level, rag = with_judgement(level, LEVEL_RAG[level], judged_high=a.professional_judgement.high)
    return Risk(
        tool=RiskTool.DASH,
        score=score,
        partner_grade=a.service_grade or f"DASH {score}/24",
        level=level,
        rag=rag,
        professional_judgement=a.professional_judgement.high,
        judgement_rationale=a.professional_judgement.rationale,
    )


def _grade_finding(a: DashAssessment, risk: Risk) -> list[QualityFinding]:
    """A service grade that names a different level from the score and judgement."""
    mapped = map_grade(a.service_grade) if a.service_grade else None
    if mapped is None or mapped[0] is risk.level:
        return []
    message = (
        f"the service grade names {mapped[0].value} risk but the DASH score "
        f"{risk.score}/24 and professional judgement give {risk.level.value}; the level "
        "follows the score and judgement"
    )
    return [finding("grade_disagrees_with_score", "service_grade", message)]


def _consent(a: DashAssessment) -> Consent:
    record = a.consent
    given = record.status.envelope is ConsentStatus.GIVEN
    default_condition = (
        SpecialCategoryCondition.EXPLICIT_CONSENT
        if given
        else SpecialCategoryCondition.SAFEGUARDING
    )
    return Consent(
        status=record.status.envelope,
        recorded_by=record.recorded_by or a.assessor,
        recorded_at=(record.recorded_at or a.assessed_at).astimezone(UTC),
        lawful_basis=record.lawful_basis or LawfulBasis.PUBLIC_TASK,
        special_category_condition=record.special_category_condition or default_condition,
        no_consent_reason=record.no_consent_reason,
        statutory_gateway=record.statutory_gateway,
    )


def _concerns(a: DashAssessment) -> tuple[Concern, ...]:
    """Domestic abuse, the service's own concerns, then what the answers disclose.

    Question 16 (things of a sexual nature that make the victim feel bad) discloses
    sexual abuse; when the victim is a child that is sexual abuse of a child, and the
    concern is coded so. For an adult victim it counts towards the score only: concern
    codes describe the child's situation, and DA triage and MARAC act on the adult's.
    """
    found = [Concern.DOMESTIC_ABUSE, *a.concerns]
    if a.answers.q16 is Answer.YES and _victim_is_child(a):
        found.append(Concern.SEXUAL_ABUSE)
    if a.answers.q9 is Answer.YES:
        found.append(Concern.PREGNANCY)
    if a.person_causing_harm is not None and a.person_causing_harm.works_with_children:
        found.append(Concern.ALLEGATION_AGAINST_PROFESSIONAL)
    return tuple(dict.fromkeys(found))


def _victim_is_child(a: DashAssessment) -> bool:
    born = a.victim.date_of_birth
    return born is not None and age_on(born, a.incident_at or a.assessed_at) < CHILD_AGE_LIMIT
