"""The domestic-abuse connector: DASH risk checklists to envelopes, or precise errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.common import (
    Concern,
    ConsentStatus,
    LawfulBasis,
    NhsNumberStatus,
    Rag,
    RiskLevel,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)
from tests.unit.connectors.documents import answers, assessment, replaced
from tests.unit.connectors.partners import (
    CONTEXT,
    DOMESTIC_ABUSE,
    FORMATS,
    assert_check_digit_kept,
)

load, parse_doc, failures, doc_failures = (
    DOMESTIC_ABUSE.load,
    DOMESTIC_ABUSE.parse_doc,
    DOMESTIC_ABUSE.failures,
    DOMESTIC_ABUSE.doc_failures,
)


class TestGoldenHighRisk:
    """The high-risk example maps to exactly the expected envelope."""

    def test_envelope(self) -> None:
        """Concerns, narrative and quality (source, kind, times, risk and consent: golden)."""
        envelope = parse_doc(load("assessment-high-risk.json"))
        assert envelope.concerns == (Concern.DOMESTIC_ABUSE, Concern.PREGNANCY)
        assert envelope.narrative.startswith("Victim disclosed strangulation")
        assert (envelope.quality.score, envelope.quality.findings) == (100, ())

    def test_subjects(self) -> None:
        """Children first, then victim and abuser; resident children share the postcode."""
        envelope = parse_doc(load("assessment-high-risk.json"))
        facts = [
            (
                s.role,
                s.age_years,
                s.present,
                s.witnessed,
                s.injured,
                s.resides_at_address,
                s.postcode,
            )
            for s in envelope.subjects
        ]
        assert facts == [
            (SubjectRole.CHILD, 7, True, True, False, True, "ZZ10 1KK"),
            (SubjectRole.CHILD, 1, True, False, False, True, "ZZ10 1KK"),
            (SubjectRole.VICTIM, 31, None, None, None, None, "ZZ10 1KK"),
            (SubjectRole.PERSON_CAUSING_HARM, 33, None, None, None, None, "ZZ10 2LL"),
        ]
        noah, ivy, jo, lee = envelope.subjects
        assert noah.school_urn == "999003"
        assert noah.subject_key == CONTEXT.subject_key(
            "demographic", "NOAH", "TESTVICTIM", "2019-09-09", "ZZ101KK"
        )
        # The message is keyed by the smallest child key, whatever the order listed.
        assert envelope.subject_key == min(noah.subject_key, ivy.subject_key)
        assert (ivy.nhs_number, ivy.nhs_number_status) == ("9990000093", NhsNumberStatus.VALID)
        assert jo.subject_key == CONTEXT.subject_key("nhs", "9990000085")
        assert jo.address == "5 Placeholder Lane, Testtown"
        assert lee.works_with_children is False


class TestGoldenProfessionalJudgement:
    """The judgement example: a score of 7 raised to high, consent refused."""

    def test_envelope(self) -> None:
        """The judgement raises the level; the refusal carries its reason and gateway."""
        envelope = parse_doc(load("assessment-professional-judgement.json"))
        assert (envelope.risk.score, envelope.risk.partner_grade) == (7, "High")
        assert (envelope.risk.level, envelope.risk.rag) == (RiskLevel.HIGH, Rag.RED)
        assert envelope.risk.professional_judgement is True
        assert envelope.risk.judgement_rationale is not None
        victim, harm = envelope.subjects
        assert envelope.subject_key == victim.subject_key
        assert harm.subject_key == CONTEXT.subject_key(
            "unmatched", "domestic-abuse|DAS-TS|IDVA-2026-0312|person_causing_harm"
        )
        assert envelope.source.system == "json"
        assert envelope.occurred_at == envelope.reported_at


class TestScore:
    """The score counts yes answers; 14 or more is high, 10 to 13 medium."""

    @pytest.mark.parametrize(
        ("yes", "level", "rag"),
        [
            (0, RiskLevel.STANDARD, Rag.GREEN),
            (9, RiskLevel.STANDARD, Rag.GREEN),
            (10, RiskLevel.MEDIUM, Rag.AMBER),
            (13, RiskLevel.MEDIUM, Rag.AMBER),
            (14, RiskLevel.HIGH, Rag.RED),
            (24, RiskLevel.HIGH, Rag.RED),
        ],
    )
    def test_thresholds(self, yes: int, level: RiskLevel, rag: Rag) -> None:
        """SafeLives thresholds map the score to the level."""
        risk = parse_doc(assessment(yes)).risk
        assert (risk.score, risk.level, risk.rag) == (yes, level, rag)

    def test_thirteen_is_medium_and_fourteen_is_high(self) -> None:
        """One more yes answer crosses the MARAC threshold."""
        assert parse_doc(assessment(13)).risk.level is RiskLevel.MEDIUM
        assert parse_doc(assessment(14)).risk.level is RiskLevel.HIGH

    def test_not_known_scores_nothing(self) -> None:
        """Not known answers are not yes answers."""
        risk = parse_doc(assessment(answers=answers(13, not_known=11))).risk
        assert (risk.score, risk.level) == (13, RiskLevel.MEDIUM)

    def test_partner_grade_is_derived_without_a_service_grade(self) -> None:
        """Without the service's grade, the grade reads DASH n/24."""
        assert parse_doc(assessment(15)).risk.partner_grade == "DASH 15/24"

    def test_service_grade_is_kept_verbatim(self) -> None:
        """The service's own grade is kept exactly as sent."""
        risk = parse_doc(assessment(15, service_grade="HIGH (MARAC)")).risk
        assert (risk.partner_grade, risk.level) == ("HIGH (MARAC)", RiskLevel.HIGH)


class TestProfessionalJudgement:
    """Professional judgement raises the level to high, and never lowers it."""

    @pytest.mark.parametrize("yes", [0, 9, 12])
    def test_raises_to_high(self, yes: int) -> None:
        """A judgement of high risk makes a standard or medium score high."""
        risk = parse_doc(assessment(yes, judged_high=True)).risk
        assert (risk.score, risk.level, risk.rag) == (yes, RiskLevel.HIGH, Rag.RED)
        assert risk.professional_judgement is True
        assert risk.judgement_rationale == "Stalking and threats."

    @pytest.mark.parametrize("yes", [14, 20])
    def test_never_lowers(self, yes: int) -> None:
        """A score of 14 or more stays high whatever the judgement."""
        risk = parse_doc(assessment(yes, judged_high=False)).risk
        assert (risk.level, risk.professional_judgement) == (RiskLevel.HIGH, False)

    def test_service_grade_cannot_lower_either(self) -> None:
        """A lower service grade is kept but does not lower the level; a finding says so."""
        envelope = parse_doc(assessment(15, service_grade="Standard"))
        assert (envelope.risk.partner_grade, envelope.risk.level) == ("Standard", RiskLevel.HIGH)
        finding = envelope.quality.findings[0]
        assert (finding.code, finding.field) == ("grade_disagrees_with_score", "service_grade")
        assert finding.message == (
            "the service grade names standard risk but the DASH score 15/24 and professional "
            "judgement give high; the level follows the score and judgement"
        )

    def test_unrecognised_service_grade_is_no_finding(self) -> None:
        """A grade that names no level is just kept."""
        assert parse_doc(assessment(3, service_grade="Level 2")).quality.findings == ()

    def test_rationale_is_required(self) -> None:
        """Judging the risk high without saying why is refused."""
        doc = assessment(professional_judgement={"high": True})
        assert doc_failures(doc) == {
            "professional_judgement.rationale": "required when high is true"
        }


class TestConsent:
    """Consent status is the service's; without consent, reason and gateway are required."""

    @pytest.mark.parametrize("status", ["refused", "not_sought", "withdrawn", "not_required"])
    def test_reason_and_gateway_required_without_consent(self, status: str) -> None:
        """Both legal fields are named, with the status as the reason."""
        errors = doc_failures(assessment(consent={"status": status}))
        assert errors == {
            "consent.no_consent_reason": f"required because consent.status is {status}",
            "consent.statutory_gateway": f"required because consent.status is {status}",
        }

    def test_reason_refused_with_consent(self) -> None:
        """A no-consent reason contradicts consent given."""
        doc = assessment(consent={"status": "given", "no_consent_reason": "cannot_be_given"})
        assert doc_failures(doc) == {
            "consent.no_consent_reason": "must be empty because consent.status is given"
        }

    def test_withdrawn_with_reason_and_gateway(self) -> None:
        """Withdrawn consent with its legal facts is carried."""
        doc = assessment(
            consent={
                "status": "withdrawn",
                "no_consent_reason": "would_prejudice_protection",
                "statutory_gateway": "Children Act 2004 s11",
                "recorded_by": "Team manager",
                "recorded_at": "2026-11-20T09:00:00+00:00",
                "lawful_basis": "UK GDPR 6(1)(c)",
                "special_category_condition": "DPA 2018 Sch 1 para 2",
            }
        )
        consent = parse_doc(doc).consent
        assert consent.status is ConsentStatus.WITHDRAWN
        assert consent.statutory_gateway is StatutoryGateway.CA2004_S11
        assert (consent.recorded_by, consent.recorded_at) == (
            "Team manager",
            datetime(2026, 11, 20, 9, tzinfo=UTC),
        )
        assert consent.lawful_basis is LawfulBasis.LEGAL_OBLIGATION
        assert consent.special_category_condition is SpecialCategoryCondition.HEALTH_OR_SOCIAL_CARE


class TestSubjects:
    """Children, victim and abuser become subjects with keys, ages and findings."""

    def _child(self, **child: Any) -> dict[str, Any]:
        base = {"given_name": "Kid", "family_name": "Victim", "date_of_birth": "2020-02-02"}
        return assessment(children=[base | child])

    def test_child_without_date_of_birth(self) -> None:
        """A child without a date of birth is accepted with a finding."""
        doc = self._child()
        del doc["children"][0]["date_of_birth"]
        envelope = parse_doc(doc)
        assert envelope.subjects[0].age_years is None
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("child_without_date_of_birth", "children.0.date_of_birth")
        ]

    def test_victim_nhs_number_failing_check_digit(self) -> None:
        """An invalid check digit is kept, flagged and not used for the key."""
        doc = assessment()
        doc["victim"] |= {"nhs_number": "9990000019", "postcode": "ZZ1 1AA"}
        assert_check_digit_kept(
            parse_doc(doc),
            "9990000019",
            ("TEST", "VICTIM", "1990-01-01", "ZZ11AA"),
            "victim.nhs_number",
        )

    @pytest.mark.parametrize(
        ("child", "postcode"),
        [
            ({"resides_at_address": True}, "ZZ1 1AA"),
            ({"resides_at_address": True, "postcode": "ZZ2 2BB"}, "ZZ2 2BB"),
            ({"resides_at_address": False}, None),
            ({}, None),
        ],
    )
    def test_resident_child_takes_the_victims_postcode(
        self, child: dict[str, Any], postcode: str | None
    ) -> None:
        """Only a child living at the victim's address, without a postcode of its own."""
        doc = self._child(**child)
        doc["victim"]["postcode"] = "ZZ1 1AA"
        assert parse_doc(doc).subjects[0].postcode == postcode

    def test_ages_at_the_incident(self) -> None:
        """Ages are taken at the incident, not the assessment."""
        doc = self._child(date_of_birth="2016-11-19")
        doc["incident_at"] = "2026-11-18T20:00:00Z"
        assert parse_doc(doc).subjects[0].age_years == 9

    def test_pregnancy_answer_adds_the_concern(self) -> None:
        """A yes to question 9 adds the pregnancy concern."""
        doc = assessment(answers=answers(0) | {"q9": "yes"}, concerns=["mental_health"])
        assert parse_doc(doc).concerns == (
            Concern.DOMESTIC_ABUSE,
            Concern.MENTAL_HEALTH,
            Concern.PREGNANCY,
        )

    def test_abuser_working_with_children_is_an_allegation(self) -> None:
        """A person causing harm who works with children adds the LADO concern."""
        doc = assessment(person_causing_harm={"given_name": "A", "works_with_children": True})
        assert parse_doc(doc).concerns == (
            Concern.DOMESTIC_ABUSE,
            Concern.ALLEGATION_AGAINST_PROFESSIONAL,
        )


CHILD = {"given_name": "A", "family_name": "B"}


class TestValidationErrors:
    """Every kind of bad input is refused with the field and the reason."""

    @pytest.mark.parametrize(
        ("path", "value", "field", "fragment"),
        [
            (("reference",), "a b|c", "reference", "pattern"),
            (("org_code",), "", "org_code", "pattern"),
            (("assessed_at",), "2026-11-20 10:00", "assessed_at", "timezone"),
            (("incident_at",), "2026-11-21T10:00:00Z", "incident_at", "after assessed_at"),
            (("answers", "q3"), "maybe", "answers.q3", "Input should be"),
            (("answers", "q7"), True, "answers.q7", "Input should be"),
            (("answers", "q25"), "yes", "answers.q25", "Extra inputs"),
            (("answers",), ["yes"] * 24, "answers", "Input should be an object"),
            (("service_grade",), "x" * 41, "service_grade", "at most 40"),
            (("professional_judgement", "high"), "no", "professional_judgement.high", "boolean"),
            (("victim", "given_name"), None, "victim.given_name", "valid string"),
            (("victim", "date_of_birth"), "2027-01-01", "victim.date_of_birth", "after the date"),
            (("victim", "postcode"), "ZZZ", "victim.postcode", "pattern"),
            (("children",), [CHILD | {"school_urn": "1"}], "children.0.school_urn", "pattern"),
            (("children",), [CHILD | {"date_of_birth": "1800-01-01"}],
             "children.0.date_of_birth", "between 1890"),
            (("consent", "status"), "yes", "consent.status", "Input should be"),
            (("consent", "statutory_gateway"), "s47", "consent.statutory_gateway", "Input"),
            (("concerns",), ["domestic_abuse", 3], "concerns.1", "Input should be"),
            (("narrative",), "x" * 20_001, "narrative", "at most 20000"),
        ],
    )  # fmt: skip
    def test_field(self, path: tuple[str, ...], value: Any, field: str, fragment: str) -> None:
        """A bad field is named by its dotted path, with the reason."""
        DOMESTIC_ABUSE.assert_field_refused(replaced(assessment(), path, value), field, fragment)

    def test_every_missing_answer_is_named(self) -> None:
        """All 24 answers are required, each named."""
        errors = doc_failures(assessment(answers={"q1": "yes"}))
        assert set(errors) == {f"answers.q{i}" for i in range(2, 25)}


class TestPublishedFormat:
    """The format document and the envelope's types."""

    def test_question_topics_are_documented(self) -> None:
        """The document lists every question key."""
        text = (FORMATS / "domestic-abuse.md").read_text()
        assert all(f"| `q{i}` |" in text for i in range(1, 25))

    def test_birth_dates_are_dates(self) -> None:
        """Dates of birth arrive as dates in the envelope."""
        victim = parse_doc(assessment()).subjects[0]
        assert victim.date_of_birth == date(1990, 1, 1)
