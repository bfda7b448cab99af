"""The police connector: notification JSON and CSV batches to envelopes, or precise errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.identity import message_id_for
from connectors.police import CONNECTOR
from connectors.police._csv import COLUMNS, REQUIRED_COLUMNS
from schemas.common import (
    Concern,
    ConsentStatus,
    LawfulBasis,
    NhsNumberStatus,
    NoConsentReason,
    Partner,
    Rag,
    RiskLevel,
    RiskTool,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Envelope
from tests.unit.connectors.documents import notification
from tests.unit.connectors.fuzzkit import FUZZ, parses_or_fails_precisely
from tests.unit.connectors.partners import CONTEXT, FORMATS, POLICE, assert_check_digit_kept

EXAMPLES = FORMATS / "examples" / "police"
JSON, CSV = "application/json", "text/csv"
load, parse_doc, failures, doc_failures = (
    POLICE.load,
    POLICE.parse_doc,
    POLICE.failures,
    POLICE.doc_failures,
)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def to_csv(*docs: dict[str, Any]) -> bytes:
    """The CSV batch export of JSON notifications: every column, one row per person."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for doc in docs:
        shared = {k: v for k, v in doc.items() if k not in {"persons", "consent"}}
        shared |= {f"consent_{k}": v for k, v in doc.get("consent", {}).items()}
        for person in doc["persons"]:
            row = shared | {f"person_{k}": v for k, v in person.items()}
            writer.writerow([csv_cell(row.get(column)) for column in COLUMNS])
    return buffer.getvalue().encode()


def csv_text(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


CSV_HEADER = (
    "reference,force_code,notification_type,occurred_at,risk_grade,summary,submitted_by,"
    "consent_no_consent_reason,consent_statutory_gateway,"
    "person_role,person_given_name,person_family_name,person_date_of_birth,"
    "person_nhs_number,person_present,person_consent_to_share"
)
CSV_CHILD = (
    "R1,47,child_concern,2026-11-20T10:00:00Z,Green,Summary,PC 1,,,"
    "child,Test,Child,2016-01-01,,yes,"
)
CSV_PARENT = "R1,,,,,,,,,parent_carer,Test,Parent,,,,yes"
NHS_PATTERN = r"^\d{3} ?\d{3} ?\d{4}$"


@pytest.fixture(scope="module")
def envelope() -> Envelope:
    """The domestic-abuse example, parsed once."""
    return parse_doc(load("notification-domestic-abuse.json"))


class TestGoldenDomesticAbuse:
    """The domestic-abuse example maps to exactly the expected envelope.

    Its source, kind, times, risk and consent are checked against its golden file
    (``tests/data/golden``) by the conformance suite.
    """

    def test_subjects(self, envelope: Envelope) -> None:
        """Each person becomes a subject with role, age, flags and identifiers."""
        facts = [
            (s.role, s.age_years, s.present, s.witnessed, s.injured, s.resides_at_address)
            for s in envelope.subjects
        ]
        assert facts == [
            (SubjectRole.CHILD, 8, True, True, False, True),
            (SubjectRole.CHILD, 2, True, False, False, True),
            (SubjectRole.VICTIM, 34, None, None, True, None),
            (SubjectRole.PERSON_CAUSING_HARM, 36, None, None, None, None),
        ]
        mia, leo, alexa, jordan = envelope.subjects
        assert (mia.nhs_number, mia.nhs_number_status) == ("9990000026", NhsNumberStatus.VALID)
        assert mia.school_urn == "999001"
        assert mia.date_of_birth == date(2018, 3, 1)
        assert mia.address == "1 Example Street, Testtown"
        assert leo.nhs_number is None
        assert alexa.nhs_number == "9990000018"
        assert jordan.works_with_children is False

    def test_subject_keys(self, envelope: Envelope) -> None:
        """Keys are HMACs of the NHS number, else of name, birth date and postcode."""
        mia, leo, alexa, jordan = envelope.subjects
        assert mia.subject_key == CONTEXT.subject_key("nhs", "9990000026")
        assert leo.subject_key == CONTEXT.subject_key(
            "demographic", "LEO", "SAMPLE", "2024-05-10", "ZZ11AA"
        )
        assert alexa.subject_key == CONTEXT.subject_key("nhs", "9990000018")
        assert jordan.subject_key == CONTEXT.subject_key(
            "demographic", "JORDAN", "TESTPERSON", "1990-01-15", "ZZ22BB"
        )
        assert envelope.subject_key == min(mia.subject_key, leo.subject_key)

    def test_concerns_narrative_quality(self, envelope: Envelope) -> None:
        """The type's concern comes first; the summary is the narrative; no findings."""
        assert envelope.concerns == (Concern.DOMESTIC_ABUSE, Concern.EMOTIONAL_ABUSE)
        assert envelope.narrative.startswith("Police called by a neighbour")
        assert envelope.quality.score == 100
        assert envelope.quality.findings == ()


class TestGoldenOtherExamples:
    """The other examples map as documented."""

    def test_adults_only(self) -> None:
        """No child: the victim keys the message; consent not sought, with reason and gateway."""
        envelope = parse_doc(load("notification-adults-only.json"))
        assert envelope.children == ()
        assert envelope.subject_key == envelope.subjects[0].subject_key
        assert envelope.source.system == "json"
        assert envelope.reported_at == envelope.occurred_at
        assert (envelope.risk.level, envelope.risk.rag) == (RiskLevel.STANDARD, Rag.GREEN)

    def test_unborn_child(self) -> None:
        """An unborn child and a pregnancy; amber raised to high by judgement; consent refused."""
        envelope = parse_doc(load("notification-unborn-child.json"))
        victim, unborn, suspect = envelope.subjects
        assert unborn.role is SubjectRole.UNBORN_CHILD
        assert unborn.expected_date_of_birth == date(2027, 2, 5)
        assert unborn.age_years is None
        assert unborn.subject_key == CONTEXT.subject_key(
            "unmatched", "police|47|47/2026/119001|persons.1"
        )
        assert envelope.subject_key == unborn.subject_key
        assert victim.role is SubjectRole.VICTIM
        assert suspect.works_with_children is True
        assert envelope.risk.partner_grade == "Amber"
        assert (envelope.risk.level, envelope.risk.rag) == (RiskLevel.HIGH, Rag.RED)
        assert envelope.risk.professional_judgement is True
        assert envelope.risk.judgement_rationale is not None
        assert envelope.risk.tool is RiskTool.DARA
        assert envelope.consent.status is ConsentStatus.REFUSED
        assert envelope.consent.no_consent_reason is NoConsentReason.WOULD_PREJUDICE_PROTECTION
        assert envelope.consent.statutory_gateway is StatutoryGateway.CA1989_S47
        assert envelope.concerns == (
            Concern.DOMESTIC_ABUSE,
            Concern.PREGNANCY,
            Concern.ALLEGATION_AGAINST_PROFESSIONAL,
        )

    def test_batch(self) -> None:
        """The batch example holds three notifications, the first of two rows."""
        envelopes = CONNECTOR.parse((EXAMPLES / "batch.csv").read_bytes(), CSV, CONTEXT)
        assert [e.source.partner_reference for e in envelopes] == [
            "47/2026/120010",
            "47/2026/120011",
            "47/2026/120012",
        ]
        assert [e.message_id for e in envelopes] == [
            message_id_for(Partner.POLICE, "47", e.source.partner_reference) for e in envelopes
        ]
        first, missing, other = envelopes
        assert [s.role for s in first.subjects] == [SubjectRole.CHILD, SubjectRole.PARENT_CARER]
        assert first.subjects[0].resides_at_address is True
        assert first.subjects[0].injured is False
        assert first.subjects[0].present is None
        assert first.consent.status is ConsentStatus.GIVEN
        assert first.concerns == (Concern.NEGLECT,)
        assert first.risk.partner_grade == "Green"
        assert missing.kind == "police.notification.missing_person"
        assert missing.concerns == (Concern.MISSING, Concern.CHILD_CRIMINAL_EXPLOITATION)
        assert missing.consent.statutory_gateway is StatutoryGateway.CA1989_S47
        assert (other.risk.level, other.risk.rag) == (RiskLevel.STANDARD, Rag.BLUE)
        assert other.source.system == "Niche RMS"


class TestRisk:
    """Grades are kept verbatim and mapped; judgement raises but never lowers."""

    @pytest.mark.parametrize(
        ("grade", "level", "rag"),
        [
            ("High", RiskLevel.HIGH, Rag.RED),
            ("RED", RiskLevel.HIGH, Rag.RED),
            ("Medium", RiskLevel.MEDIUM, Rag.AMBER),
            ("amber", RiskLevel.MEDIUM, Rag.AMBER),
            ("Standard", RiskLevel.STANDARD, Rag.GREEN),
            ("Low", RiskLevel.STANDARD, Rag.GREEN),
            ("Green", RiskLevel.STANDARD, Rag.GREEN),
            ("Blue", RiskLevel.STANDARD, Rag.BLUE),
            ("L4", RiskLevel.HIGH, Rag.RED),
        ],
    )
    def test_grade_mapping(self, grade: str, level: RiskLevel, rag: Rag) -> None:
        """Every documented grade maps to its level and RAG, and is kept as sent."""
        risk = parse_doc(notification(risk_grade=grade)).risk
        assert (risk.partner_grade, risk.level, risk.rag) == (grade, level, rag)

    def test_unknown_grade_names_the_field(self) -> None:
        """An unknown grade is refused, naming risk_grade and the known grades."""
        errors = doc_failures(notification(risk_grade="Purple"))
        assert errors == {
            "risk_grade": "unknown risk grade 'Purple'; expected one of High, Medium, Low, "
            "Standard, Red, Amber, Green, Blue"
        }

    def test_judgement_raises_to_high(self) -> None:
        """A professional judgement of high risk raises a green grade to high and red."""
        risk = parse_doc(
            notification(professional_judgement_high=True, judgement_rationale="Escalating.")
        ).risk
        assert (risk.partner_grade, risk.level, risk.rag) == ("Green", RiskLevel.HIGH, Rag.RED)
        assert risk.judgement_rationale == "Escalating."

    def test_no_judgement_never_lowers(self) -> None:
        """Without a judgement of high risk a high grade stays high."""
        risk = parse_doc(notification(risk_grade="High", professional_judgement_high=False)).risk
        assert (risk.level, risk.professional_judgement) == (RiskLevel.HIGH, False)

    def test_judgement_needs_rationale(self) -> None:
        """Judging the risk high without saying why is refused."""
        errors = doc_failures(notification(professional_judgement_high=True))
        assert errors == {
            "judgement_rationale": "required when professional_judgement_high is true"
        }

    def test_score_needs_a_tool(self) -> None:
        """A score without a tool is meaningless and refused."""
        assert doc_failures(notification(risk_score=5)) == {
            "risk_score": "a score needs a risk_tool (DASH or DARA)"
        }
        assert "risk_score" in doc_failures(notification(risk_score=5, risk_tool="none"))

    def test_dash_score_is_at_most_24(self) -> None:
        """A DASH score above 24 is refused; 24 is accepted."""
        assert doc_failures(notification(risk_tool="DASH", risk_score=25)) == {
            "risk_score": "a DASH score is 0 to 24"
        }
        assert parse_doc(notification(risk_tool="DASH", risk_score=24)).risk.score == 24


def _with_consent(answers: dict[str, str], **consent: str) -> dict[str, Any]:
    persons = [
        {"role": role, "given_name": "A", "family_name": "B", "consent_to_share": answer}
        for role, answer in answers.items()
    ]
    doc = notification(persons=persons)
    if consent:
        doc["consent"] = consent
    return doc


REASONS = {
    "no_consent_reason": "would_prejudice_protection",
    "statutory_gateway": "Children Act 1989 s47",
}
NOT_GIVEN = "required because consent_to_share is not yes for any person"


class TestConsent:
    """The consent status comes from the answers of victims, parents and children."""

    @pytest.mark.parametrize("role", ["victim", "parent_carer", "child"])
    def test_yes_from_a_consenting_role_is_given(self, role: str) -> None:
        """A yes from a victim, a parent or carer, or a child gives consent."""
        doc = _with_consent({role: "yes", "person_causing_harm": "no"})
        assert parse_doc(doc).consent.status is ConsentStatus.GIVEN

    def test_no_from_a_consenting_role_is_refused(self) -> None:
        """A no, with no yes, is a refusal; reason and gateway are carried."""
        consent = parse_doc(_with_consent({"victim": "no"}, **REASONS)).consent
        assert consent.status is ConsentStatus.REFUSED
        assert consent.no_consent_reason is NoConsentReason.WOULD_PREJUDICE_PROTECTION
        assert consent.statutory_gateway is StatutoryGateway.CA1989_S47

    def test_only_harm_causer_said_yes_is_not_sought(self) -> None:
        """The person causing harm cannot consent for others."""
        doc = _with_consent({"person_causing_harm": "yes", "victim": "not_asked"}, **REASONS)
        assert parse_doc(doc).consent.status is ConsentStatus.NOT_SOUGHT

    @pytest.mark.parametrize("answer", ["no", "not_asked"])
    def test_without_consent_reason_and_gateway_are_required(self, answer: str) -> None:
        """Both legal fields are required, each named, with the reason why."""
        errors = doc_failures(_with_consent({"victim": answer}))
        assert errors == {
            "consent.no_consent_reason": f"{NOT_GIVEN} (victim, parent_carer or child)",
            "consent.statutory_gateway": f"{NOT_GIVEN} (victim, parent_carer or child)",
        }

    def test_missing_gateway_alone_is_named(self) -> None:
        """A block with a reason but no gateway names only the gateway."""
        doc = _with_consent({"victim": "no"}, no_consent_reason="cannot_be_given")
        assert list(doc_failures(doc)) == ["consent.statutory_gateway"]

    def test_reason_refused_when_consent_given(self) -> None:
        """A no-consent reason contradicts a yes, and is refused."""
        doc = _with_consent({"victim": "yes"}, no_consent_reason="cannot_be_given")
        assert doc_failures(doc) == {
            "consent.no_consent_reason": (
                "must be empty because consent_to_share is yes for persons.0"
            )
        }

    def test_conflicting_answers_are_given_with_a_finding(self) -> None:
        """A yes and a no: consent is given, and a finding flags the conflict."""
        envelope = parse_doc(_with_consent({"victim": "yes", "parent_carer": "no"}))
        assert envelope.consent.status is ConsentStatus.GIVEN
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("consent_conflict", "persons.1.consent_to_share")
        ]
        assert envelope.quality.score == 90

    def test_supplied_legal_facts_override_defaults(self) -> None:
        """A force sharing under UK GDPR says so; who and when are carried."""
        doc = _with_consent(
            {"victim": "yes"},
            lawful_basis="UK GDPR 6(1)(e)",
            special_category_condition="DPA 2018 Sch 1 para 18",
            recorded_by="DS 9",
            recorded_at="2026-11-20T11:00:00+00:00",
        )
        consent = parse_doc(doc).consent
        assert consent.lawful_basis is LawfulBasis.PUBLIC_TASK
        assert consent.special_category_condition is SpecialCategoryCondition.SAFEGUARDING
        assert (consent.recorded_by, consent.recorded_at) == (
            "DS 9",
            datetime(2026, 11, 20, 11, tzinfo=UTC),
        )


class TestSubjects:
    """Persons become subjects with keys, ages and data-quality findings."""

    def _child(self, **person: Any) -> dict[str, Any]:
        doc = notification()
        doc["persons"][0] |= person
        return doc

    def test_nhs_number_failing_check_digit_is_kept_with_a_finding(self) -> None:
        """An invalid check digit is accepted, flagged, and not used for the key."""
        envelope = parse_doc(self._child(nhs_number="9990000000", postcode="ZZ1 1AA"))
        assert_check_digit_kept(
            envelope,
            "9990000000",
            ("TEST", "CHILD", "2016-01-01", "ZZ11AA"),
            "persons.0.nhs_number",
        )
        (finding,) = envelope.quality.findings
        assert "invalid_check_digit" in finding.message
        assert envelope.quality.score == 90

    def test_spaced_nhs_number_is_normalised(self) -> None:
        """An NHS number spaced 3 3 4 is stored and keyed as ten digits."""
        child = parse_doc(self._child(nhs_number="999 000 0018")).subjects[0]
        assert child.nhs_number == "9990000018"
        assert child.subject_key == CONTEXT.subject_key("nhs", "9990000018")

    def test_child_without_date_of_birth_is_a_finding(self) -> None:
        """A child without a date of birth is accepted with a finding and a unique key."""
        doc = notification()
        del doc["persons"][0]["date_of_birth"]
        envelope = parse_doc(doc)
        child = envelope.subjects[0]
        assert child.age_years is None
        assert child.subject_key == CONTEXT.subject_key(
            "unmatched", "police|47|47/2026/000001|persons.0"
        )
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("child_without_date_of_birth", "persons.0.date_of_birth")
        ]

    def test_age_is_taken_in_the_forces_offset(self) -> None:
        """At 00:30 BST on the 16th birthday (23:30 UTC the day before) the child is 16."""
        doc = self._child(date_of_birth="2010-07-01")
        doc["occurred_at"] = "2026-07-01T00:30:00+01:00"
        envelope = parse_doc(doc)
        assert envelope.occurred_at == datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
        assert envelope.subjects[0].age_years == 16

    def test_household_member_under_18_is_a_child_by_age(self) -> None:
        """A household member aged 10 is a child and keys the message."""
        doc = notification()
        doc["persons"] = [
            {"role": "victim", "given_name": "A", "family_name": "B", "consent_to_share": "yes"},
            {"role": "household_member", "given_name": "C", "family_name": "B",
             "date_of_birth": "2016-05-05", "nhs_number": "9990000107"},
        ]  # fmt: skip
        envelope = parse_doc(doc)
        assert envelope.subject_key == CONTEXT.subject_key("nhs", "9990000107")
        assert envelope.children == (envelope.subjects[1],)

    def test_pregnancy_flag_adds_the_concern(self) -> None:
        """A pregnant person adds the pregnancy concern without a subject of its own."""
        doc = notification()
        doc["persons"][1]["pregnant"] = True
        envelope = parse_doc(doc)
        assert envelope.concerns == (Concern.PREGNANCY,)
        assert len(envelope.subjects) == 2

    def test_harm_causer_working_with_children_is_an_allegation(self) -> None:
        """A person causing harm who works with children adds the LADO concern."""
        doc = notification(notification_type="person_posing_risk")
        doc["persons"].append(
            {"role": "person_causing_harm", "given_name": "D", "family_name": "E",
             "works_with_children": True}
        )  # fmt: skip
        envelope = parse_doc(doc)
        assert envelope.concerns == (
            Concern.PERSON_POSING_RISK,
            Concern.ALLEGATION_AGAINST_PROFESSIONAL,
        )

    def test_professional_subject_is_an_allegation(self) -> None:
        """A professional subject is the subject of an allegation."""
        doc = notification()
        doc["persons"].append(
            {"role": "professional_subject", "given_name": "F", "family_name": "G"}
        )
        assert Concern.ALLEGATION_AGAINST_PROFESSIONAL in parse_doc(doc).concerns

    @pytest.mark.parametrize(
        ("notification_type", "concerns"),
        [
            ("domestic_abuse", (Concern.DOMESTIC_ABUSE,)),
            ("adult_at_risk", (Concern.ADULT_AT_RISK,)),
            ("missing_person", (Concern.MISSING,)),
            ("person_posing_risk", (Concern.PERSON_POSING_RISK,)),
            ("child_concern", ()),
            ("other", ()),
        ],
    )
    def test_kind_and_type_concern(
        self, notification_type: str, concerns: tuple[Concern, ...]
    ) -> None:
        """The kind names the type; some types imply a concern."""
        envelope = parse_doc(notification(notification_type=notification_type))
        assert envelope.kind == f"police.notification.{notification_type}"
        assert envelope.concerns == concerns

    def test_concerns_are_not_repeated(self) -> None:
        """A concern the type implies and the force also sent appears once."""
        doc = notification(
            notification_type="domestic_abuse", concerns=["domestic_abuse", "neglect"]
        )
        assert parse_doc(doc).concerns == (Concern.DOMESTIC_ABUSE, Concern.NEGLECT)


class TestValidationErrors:
    """Every kind of bad input is refused with the field and the reason, all at once."""

    @pytest.mark.parametrize(
        ("change", "field", "fragment"),
        [
            ({"force_code": None}, "force_code", "valid string"),
            ({"force_code": "XYZ"}, "force_code", "pattern"),
            ({"reference": "a|b"}, "reference", "pattern"),
            ({"notification_type": "burglary"}, "notification_type", "Input should be"),
            ({"occurred_at": "2026-11-20T10:00:00"}, "occurred_at", "timezone"),
            ({"occurred_at": "1800-01-01T00:00:00Z"}, "occurred_at", "between 1900 and 2199"),
            ({"occurred_at": "yesterday"}, "occurred_at", "datetime"),
            ({"reported_at": "2026-11-20T09:00:00Z"}, "reported_at", "before occurred_at"),
            ({"risk_grade": ""}, "risk_grade", "at least 1"),
            ({"risk_tool": "OASys"}, "risk_tool", "Input should be"),
            ({"risk_score": "12"}, "risk_score", "valid integer"),
            ({"risk_score": 10**30}, "risk_score", "less than or equal to 100"),
            ({"risk_score": 1.5}, "risk_score", "valid integer"),
            ({"risk_score": float("nan")}, "risk_score", "valid integer"),
            ({"persons": []}, "persons", "at least 1"),
            ({"persons": {}}, "persons", "valid array"),
            ({"summary": ""}, "summary", "at least 1"),
            ({"summary": "x" * 20_001}, "summary", "at most 20000"),
            ({"submitted_by": 4711}, "submitted_by", "valid string"),
            ({"concerns": ["arson"]}, "concerns.0", "Input should be"),
            ({"concerns": "neglect"}, "concerns", "valid array"),
            (
                {"consent": {"statutory_gateway": "Magna Carta"}},
                "consent.statutory_gateway",
                "Input",
            ),
            ({"consent": {"colour": "red"}}, "consent.colour", "Extra inputs"),
            ({"professional_judgement_high": "yes"}, "professional_judgement_high", "boolean"),
        ],
    )
    def test_notification_field(self, change: dict[str, Any], field: str, fragment: str) -> None:
        """A bad notification field is named with its reason."""
        POLICE.assert_field_refused(notification(**change), field, fragment)

    @pytest.mark.parametrize(
        ("change", "field", "fragment"),
        [
            ({"role": "suspect"}, "persons.0.role", "Input should be"),
            ({"given_name": None}, "persons.0.given_name", "unless the role is unborn_child"),
            ({"family_name": " "}, "persons.0.family_name", "at least 1"),
            ({"date_of_birth": "2027-01-01"}, "persons.0.date_of_birth", "after the date"),
            ({"date_of_birth": "1880-01-01"}, "persons.0.date_of_birth", "between 1890"),
            ({"date_of_birth": "01/01/2016"}, "persons.0.date_of_birth", "valid date"),
            (
                {"expected_date_of_birth": "2027-01-01"},
                "persons.0.expected_date_of_birth",
                "unborn",
            ),
            ({"nhs_number": "999000001"}, "persons.0.nhs_number", "pattern"),
            ({"nhs_number": 9990000018}, "persons.0.nhs_number", "valid string"),
            ({"postcode": "ZZ1 ABC"}, "persons.0.postcode", "pattern"),
            ({"postcode": "ZZ1 1AA 1AA"}, "persons.0.postcode", "at most 8"),
            ({"school_urn": "12345"}, "persons.0.school_urn", "pattern"),
            ({"present": "yes"}, "persons.0.present", "boolean"),
            ({"consent_to_share": "maybe"}, "persons.0.consent_to_share", "Input should be"),
            ({"shoe_size": 9}, "persons.0.shoe_size", "Extra inputs"),
        ],
    )
    def test_person_field(self, change: dict[str, Any], field: str, fragment: str) -> None:
        """A bad person field is named by its position and name."""
        doc = notification()
        doc["persons"][0] |= change
        POLICE.assert_field_refused(doc, field, fragment)

    def test_unborn_child_has_no_date_of_birth(self) -> None:
        """An unborn child needs no names, and a date of birth is refused."""
        doc = notification()
        doc["persons"].append({"role": "unborn_child", "date_of_birth": "2026-01-01"})
        assert doc_failures(doc) == {
            "persons.2.date_of_birth": "an unborn child has no date of birth; "
            "send expected_date_of_birth"
        }

    def test_missing_required_fields_are_all_listed(self) -> None:
        """Every missing field is listed in one answer."""
        errors = doc_failures({"persons": [{}]})
        assert set(errors) == {
            "force_code",
            "reference",
            "notification_type",
            "occurred_at",
            "risk_grade",
            "summary",
            "submitted_by",
            "persons.0.role",
        }
        assert errors["force_code"] == "Field required"

    def test_cross_field_errors_are_all_listed(self) -> None:
        """Every cross-field error is listed in one answer."""
        doc = notification(reported_at="2026-11-19T00:00:00Z", risk_score=3)
        doc["persons"][0]["given_name"] = None
        doc["persons"][1]["consent_to_share"] = "no"
        assert set(doc_failures(doc)) == {
            "reported_at",
            "risk_score",
            "persons.0.given_name",
            "consent.no_consent_reason",
            "consent.statutory_gateway",
        }


class TestCsvBatch:
    """The CSV batch: one row per person, grouped by reference, errors by row and column."""

    @pytest.mark.parametrize(
        "name",
        [
            "notification-domestic-abuse.json",
            "notification-adults-only.json",
            "notification-unborn-child.json",
        ],
    )
    def test_same_envelope_as_json(self, name: str) -> None:
        """A notification exported as CSV means exactly what its JSON means."""
        doc = load(name)
        from_json = parse_doc(doc)
        (from_csv,) = CONNECTOR.parse(to_csv(doc), CSV, CONTEXT)
        exclude: Any = {"source": {"system"}}
        assert from_csv.model_dump(exclude=exclude) == from_json.model_dump(exclude=exclude)

    def test_many_notifications_in_order_of_first_row(self) -> None:
        """Interleaved rows are grouped by reference, in order of first appearance."""
        raw = csv_text(CSV_HEADER, CSV_CHILD, CSV_CHILD.replace("R1", "R2", 1) + "yes", CSV_PARENT)
        envelopes = CONNECTOR.parse(raw, CSV, CONTEXT)
        assert [e.source.partner_reference for e in envelopes] == ["R1", "R2"]
        assert [len(e.subjects) for e in envelopes] == [2, 1]
        assert envelopes[0].consent.status is ConsentStatus.GIVEN
        assert envelopes[0].source.system == "csv-batch"

    def test_blank_shared_columns_inherit_but_different_values_are_errors(self) -> None:
        """A later row may leave notification columns blank; a different value is an error."""
        parent = CSV_PARENT.replace("R1,,,,,", "R1,47,other,,Red,", 1)
        errors = failures(csv_text(CSV_HEADER, CSV_CHILD, parent), CSV)
        assert errors == {
            "row 3.notification_type": "differs from row 2 of the same reference",
            "row 3.risk_grade": "differs from row 2 of the same reference",
        }

    def test_errors_name_row_and_column(self) -> None:
        """Structural, conversion and cross-field errors name the row and column."""
        child = CSV_CHILD.replace("2016-01-01", "2016-13-01").replace(",yes,", ",maybe,")
        parent = CSV_PARENT.replace("Test,Parent", ",Parent").replace(",yes", ",no")
        errors = failures(csv_text(CSV_HEADER, child, parent), CSV)
        assert set(errors) == {
            "row 2.person_date_of_birth",
            "row 2.person_present",
        }
        assert errors["row 2.person_present"] == "must be yes, no or blank"
        errors = failures(csv_text(CSV_HEADER, CSV_CHILD, parent), CSV)
        assert errors == {
            "row 3.person_given_name": "required unless the role is unborn_child",
            "row 2.consent_no_consent_reason": f"{NOT_GIVEN} (victim, parent_carer or child)",
            "row 2.consent_statutory_gateway": f"{NOT_GIVEN} (victim, parent_carer or child)",
        }

    def test_notification_error_is_placed_on_the_row_that_gave_the_value(self) -> None:
        """A value first given on a later row is reported on that row."""
        child = CSV_CHILD.replace("Green", "")
        parent = CSV_PARENT.replace("R1,,,,,", "R1,,,,Purple,", 1)
        errors = failures(csv_text(CSV_HEADER, child, parent), CSV)
        assert list(errors) == ["row 3.risk_grade"]

    def test_missing_value_is_placed_on_the_first_row(self) -> None:
        """A required notification value that no row gives is reported on the first row."""
        child = CSV_CHILD.replace(",Summary,", ",,")
        assert failures(csv_text(CSV_HEADER, child, CSV_PARENT), CSV) == {
            "row 2.summary": "Field required"
        }

    def test_findings_name_row_and_column(self) -> None:
        """Data-quality findings are placed by row and column too."""
        parent = CSV_PARENT.replace("Parent,,", "Parent,,9990000000", 1)
        (envelope,) = CONNECTOR.parse(csv_text(CSV_HEADER, CSV_CHILD, parent), CSV, CONTEXT)
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("nhs_number_check_digit", "row 3.person_nhs_number")
        ]

    def test_quoted_line_breaks_do_not_shift_row_numbers(self) -> None:
        """A quoted cell with line breaks is still one row."""
        child = CSV_CHILD.replace(",Summary,", ',"Line one\nline two, with a comma",')
        parent = CSV_PARENT.replace("Test,Parent", ",Parent")
        errors = failures(csv_text(CSV_HEADER, child, parent), CSV)
        assert "row 3.person_given_name" in errors

    def test_blank_lines_and_byte_order_mark(self) -> None:
        """Blank lines are skipped; a byte-order mark is allowed."""
        raw = b"\xef\xbb\xbf" + csv_text(CSV_HEADER, "", CSV_CHILD, ",,,", CSV_PARENT)
        assert len(CONNECTOR.parse(raw, CSV, CONTEXT)) == 1

    def test_header_problems(self) -> None:
        """Unknown, repeated and missing columns are named in the header."""
        header = CSV_HEADER.replace("person_role", "colour") + ",summary"
        errors = failures(csv_text(header, CSV_CHILD + ",x"), CSV)
        assert errors == {
            "header.colour": "unknown column",
            "header.summary": "column appears more than once",
            "header.person_role": "required column is missing",
        }

    def test_column_names_are_trimmed_and_case_insensitive(self) -> None:
        """Reference and REFERENCE name the same column."""
        header = CSV_HEADER.replace("reference", " Reference ").replace("risk_grade", "RISK_GRADE")
        assert len(CONNECTOR.parse(csv_text(header, CSV_CHILD, CSV_PARENT), CSV, CONTEXT)) == 1

    @pytest.mark.parametrize(
        ("raw", "errors"),
        [
            (csv_text(CSV_HEADER), {"body": "the CSV batch has a header but no rows"}),
            (
                csv_text(CSV_HEADER, CSV_CHILD + ",extra"),
                {"row 2": "has 17 cells; the header has 16"},
            ),
            (
                csv_text(CSV_HEADER, CSV_CHILD.replace("R1", "", 1)),
                {"row 2.reference": "required to group the rows"},
            ),
            (
                csv_text(CSV_HEADER, CSV_CHILD.replace(",Summary,", ',"Sum"mary,')),
                {"row 2": "is not readable as CSV: ',' expected after '\"'"},
            ),
            (
                csv_text(CSV_HEADER, CSV_CHILD.replace(",2016-01-01,,", ",2016-01-01,1.5e3,")),
                {"row 2.person_nhs_number": f"String should match pattern '{NHS_PATTERN}'"},
            ),
            (b"\x80" + csv_text(CSV_HEADER), {"body": "not valid UTF-8 at byte 0"}),
        ],
    )
    def test_unreadable_batch(self, raw: bytes, errors: dict[str, str]) -> None:
        """Empty, malformed or mis-shaped batches are refused precisely."""
        assert failures(raw, CSV) == errors

    def test_errors_before_unreadable_row_are_kept(self) -> None:
        """A malformed row ends the reading, but earlier errors are still listed."""
        bad = CSV_CHILD.replace(",Summary,", ',"Sum"mary,')
        errors = failures(csv_text(CSV_HEADER, CSV_CHILD + ",x", CSV_PARENT, bad), CSV)
        assert errors == {
            "row 2": "has 17 cells; the header has 16",
            "row 4": "is not readable as CSV: ',' expected after '\"'",
        }

    def test_risk_score_must_be_a_whole_number(self) -> None:
        """A score cell that is not a small whole number is refused by row and column."""
        header = CSV_HEADER + ",risk_tool,risk_score"
        errors = failures(csv_text(header, CSV_CHILD + ",DASH,twelve", CSV_PARENT + ",,"), CSV)
        assert errors == {"row 2.risk_score": "must be a whole number from 0 to 999"}

    def test_every_column_is_documented(self) -> None:
        """The format document lists every CSV column and marks the required ones."""
        text = (FORMATS / "police.md").read_text()
        for column in COLUMNS:
            assert f"| `{column}` |" in text, column
        for column in REQUIRED_COLUMNS:
            assert f"| `{column}` | yes |" in text, column


# ---------------------------------------------------------------------- properties


@st.composite
def mutated_batches(draw: st.DrawFn) -> bytes:
    """The example batch with cells replaced, rows dropped or duplicated."""
    rows = list(csv.reader(io.StringIO((EXAMPLES / "batch.csv").read_text())))
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(rows) - 1))
        action = draw(st.sampled_from(["cell", "drop_cell", "drop_row", "duplicate_row"]))
        row = rows[index]
        if action == "cell" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(st.text(max_size=30))
        elif action == "drop_cell" and row:
            row.pop(draw(st.integers(0, len(row) - 1)))
        elif action == "drop_row" and len(rows) > 1:
            rows.pop(index)
        else:
            rows.insert(index, list(row))
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


class TestNeverCrashes:
    """Whatever CSV arrives, parse returns envelopes or raises ParseFailed, nothing else."""

    @FUZZ
    @given(text=st.text(alphabet=st.sampled_from(',"\r\n ;yesnoR147abc\x00'), max_size=400))
    def test_arbitrary_csv_text(self, text: str) -> None:
        """Random text made of CSV's own characters."""
        parses_or_fails_precisely(CONNECTOR, csv_text(CSV_HEADER) + text.encode(), CSV, CONTEXT)

    @FUZZ
    @given(raw=mutated_batches())
    def test_mutated_batches(self, raw: bytes) -> None:
        """The example batch with cells and rows changed."""
        parses_or_fails_precisely(CONNECTOR, raw, CSV, CONTEXT)


def _persons(child: dict[str, Any], parent: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The small notification's persons, with ``child`` (and ``parent``) changes."""
    base = notification()["persons"]
    return [{**base[0], **child}, {**base[1], **(parent or {})}]


class TestEncompassFields:
    """Incident location, where the child was, the child's voice, elective home education."""

    def test_they_map_to_sealed_details_and_a_routing_fact(self) -> None:
        doc = notification(
            incident_location="2 Example Road, Testtown",
            persons=_persons(
                {
                    "location_during_incident": "in the kitchen",
                    "child_voice": "Said she wanted it to stop.",
                    "elective_home_education": True,
                }
            ),
        )
        env = parse_doc(doc)
        child = env.subjects[0]
        assert env.incident_location == "2 Example Road, Testtown"
        assert child.location_during_incident == "in the kitchen"
        assert child.voice == "Said she wanted it to stop."
        assert child.elective_home_education is True

    def test_a_csv_row_carries_them(self) -> None:
        doc = notification(
            incident_location="2 Example Road, Testtown",
            persons=_persons({"child_voice": "Quiet.", "elective_home_education": True}),
        )
        (env,) = CONNECTOR.parse(to_csv(doc), CSV, CONTEXT)
        assert env.incident_location == "2 Example Road, Testtown"
        assert (env.subjects[0].voice, env.subjects[0].elective_home_education) == ("Quiet.", True)

    @pytest.mark.parametrize(
        "field", ["location_during_incident", "child_voice", "elective_home_education"]
    )
    def test_only_a_child_has_them(self, field: str) -> None:
        value: Any = True if field == "elective_home_education" else "Some text."
        errors = doc_failures(notification(persons=_persons({}, {field: value})))
        assert errors == {f"persons.1.{field}": "only for a child (role child, or under 18)"}

    def test_a_household_member_under_18_is_a_child(self) -> None:
        young = {
            "role": "household_member",
            "child_voice": "Scared.",
            "date_of_birth": "2012-02-02",
        }
        env = parse_doc(notification(persons=_persons(young)))
        assert env.subjects[0].voice == "Scared."

    def test_home_education_has_no_school(self) -> None:
        child = {"elective_home_education": True, "school_urn": "999001"}
        errors = doc_failures(notification(persons=_persons(child)))
        assert errors == {
            "persons.0.school_urn": (
                "a child in elective home education has no school: leave out school_urn"
            )
        }

    def test_a_voice_too_long_is_named(self) -> None:
        errors = doc_failures(notification(persons=_persons({"child_voice": "x" * 2001})))
        assert list(errors) == ["persons.0.child_voice"]
