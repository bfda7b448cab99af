"""The housing connector: duty-to-refer referrals to envelopes, or precise errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import ParseFailed
from connectors.housing import CONNECTOR, HousingConnector
from connectors.housing.format import DutyToRefer
from connectors.identity import message_id_for
from connectors.protocol import ParseContext
from connectors.registry import connector_for
from hub.settings import PROJECT_ROOT
from schemas.common import (
    Concern,
    ConsentStatus,
    LawfulBasis,
    NhsNumberStatus,
    Partner,
    Rag,
    RiskLevel,
    RiskTool,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Envelope
from tests.unit.connectors.fuzzkit import duplicated_keys, mutated_documents

FORMATS = PROJECT_ROOT / "docs" / "formats"
EXAMPLES = FORMATS / "examples" / "housing"
RECEIVED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
CONTEXT = ParseContext(received_at=RECEIVED, subject_key_secret=b"synthetic-test-secret-0123456789")
JSON = "application/json"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONSENT_TO_REFER = (
    "must be true: consent to refer is a legal requirement of the duty to refer "
    "(Housing Act 1996 s213B); the person must agree before a referral is made"
)
CONSENT_TO_SHARE = (
    "must be true: the duty to refer requires the person's agreement that their contact "
    "details go to the housing authority (Homelessness Code of Guidance, ch. 4)"
)


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return loaded


def young_person(**changes: Any) -> dict[str, Any]:
    doc = load("referral-young-person.json")
    doc.update(changes)
    return doc


def family(**changes: Any) -> dict[str, Any]:
    doc = load("referral-family.json")
    doc.update(changes)
    return doc


def parse_doc(doc: dict[str, Any], context: ParseContext = CONTEXT) -> Envelope:
    envelopes = CONNECTOR.parse(json.dumps(doc).encode(), JSON, context)
    assert len(envelopes) == 1
    return envelopes[0]


def failures(raw: bytes, content_type: str = JSON) -> dict[str, str]:
    with pytest.raises(ParseFailed) as info:
        CONNECTOR.parse(raw, content_type, CONTEXT)
    return {error.field: error.message for error in info.value.errors}


def doc_failures(doc: dict[str, Any]) -> dict[str, str]:
    return failures(json.dumps(doc).encode())


def born(years_before_referral: int, days: int = 0) -> str:
    """A date of birth that many years before 2026-11-25, shifted by some days."""
    birthday = date(2026 - years_before_referral, 11, 25)
    return date.fromordinal(birthday.toordinal() + days).isoformat()


class TestConnector:
    """The connector's shape, as the hub's registry sees it."""

    def test_registry_returns_this_connector(self) -> None:
        """The registry finds the housing connector by partner name."""
        assert connector_for(Partner.HOUSING) is CONNECTOR
        assert isinstance(CONNECTOR, HousingConnector)

    def test_transport_description(self) -> None:
        """Endpoint, content type, body limit and kind are as the design says."""
        assert CONNECTOR.partner is Partner.HOUSING
        assert CONNECTOR.http_path == "/v1/housing/referrals"
        assert CONNECTOR.content_types == (JSON,)
        assert CONNECTOR.max_body_bytes == 1024 * 1024
        assert CONNECTOR.kinds == {"housing.duty_to_refer"}


class TestGoldenYoungPerson:
    """The young-person example maps to exactly the expected envelope."""

    def test_envelope(self) -> None:
        """Identity, time, the child, risk, consent, concerns, narrative and quality."""
        envelope = parse_doc(load("referral-young-person.json"))
        assert envelope.message_id == message_id_for(Partner.HOUSING, "YOT-TS", "YOT-2026-00417")
        assert envelope.partner is Partner.HOUSING
        assert envelope.source.model_dump() == {
            "org_code": "YOT-TS",
            "system": "ALERT",
            "partner_reference": "YOT-2026-00417",
            "submitted_by": "Jamie Worker",
        }
        assert envelope.kind == "housing.duty_to_refer"
        assert (
            envelope.occurred_at
            == envelope.reported_at
            == datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
        )
        assert envelope.received_at == RECEIVED
        (casey,) = envelope.subjects
        assert (casey.role, casey.age_years) == (SubjectRole.CHILD, 17)
        assert (casey.nhs_number, casey.nhs_number_status) == ("9990000050", NhsNumberStatus.VALID)
        assert (casey.given_name, casey.family_name) == ("Casey", "Youngperson")
        assert (casey.address, casey.postcode) == ("12 Sample Road, Testtown", "ZZ8 8HH")
        assert casey.subject_key == envelope.subject_key == CONTEXT.subject_key("nhs", "9990000050")
        assert envelope.risk.model_dump() == {
            "tool": RiskTool.NONE,
            "score": None,
            "partner_grade": "not graded",
            "level": RiskLevel.STANDARD,
            "rag": Rag.GREEN,
            "professional_judgement": False,
            "judgement_rationale": None,
        }
        assert envelope.consent.model_dump() == {
            "status": ConsentStatus.GIVEN,
            "recorded_by": "Jamie Worker",
            "recorded_at": datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
            "lawful_basis": LawfulBasis.PUBLIC_TASK,
            "special_category_condition": None,
            "no_consent_reason": None,
            "statutory_gateway": StatutoryGateway.HA1996_S213B,
        }
        assert envelope.concerns == (Concern.HOMELESSNESS, Concern.CHILD_CRIMINAL_EXPLOITATION)
        assert envelope.narrative == (
            "Casey has been asked to leave the family home after arguments with a parent's new "
            "partner and is sofa-surfing with friends from next week.\n"
            "Reason: threatened with homelessness, likely to become homeless on 2026-12-05.\n"
            "Chosen housing authority: Testtown Borough Council (E07000999).\n"
            "Contact (agreed to share): phone 07700 900123; safe to leave a message: yes.\n"
            "Referred by: Jamie Worker, YOT case manager, Testshire Youth Offending Team, "
            "jamie.worker@example.org, 01632 960001 (youth_offending_team)."
        )
        assert (envelope.quality.score, envelope.quality.findings) == (100, ())


class TestGoldenFamily:
    """The family example: a parent, their child and a partner."""

    def test_roles_and_keys(self) -> None:
        """The applicant is the child's parent or carer; the child keys the message."""
        envelope = parse_doc(load("referral-family.json"))
        facts = [(s.role, s.age_years, s.postcode) for s in envelope.subjects]
        assert facts == [
            (SubjectRole.PARENT_CARER, 36, "ZZ9 9JJ"),
            (SubjectRole.CHILD, 11, "ZZ9 9JJ"),
            (SubjectRole.HOUSEHOLD_MEMBER, 37, "ZZ9 9JJ"),
        ]
        taylor, riley, drew = envelope.subjects
        assert envelope.subject_key == riley.subject_key == CONTEXT.subject_key("nhs", "9990000077")
        assert drew.subject_key == CONTEXT.subject_key(
            "demographic", "DREW", "HOUSEHOLD", "1989-11-11", "ZZ99JJ"
        )
        assert taylor.address == "Flat 3, 40 Example Avenue, Testtown"
        assert drew.address is None
        assert envelope.source.system == "json"
        assert envelope.consent.recorded_at == datetime(2026, 11, 24, 15, 45, tzinfo=UTC)
        assert envelope.concerns == (Concern.HOMELESSNESS,)
        assert "Reason: homeless.\n" in envelope.narrative
        assert "email taylor.household@example.org" in envelope.narrative


class TestConsentIsALegalRequirement:
    """Consent to refer, and to share contact details, are preconditions of the duty."""

    @pytest.mark.parametrize("value", [False, None, "yes", 1])
    def test_consent_to_refer_must_be_true(self, value: Any) -> None:
        """False, null or not a boolean: refused, saying consent is a legal requirement."""
        assert doc_failures(young_person(consent_to_refer=value)) == {
            "consent_to_refer": CONSENT_TO_REFER
        }

    def test_missing_consent_to_refer(self) -> None:
        """A referral that does not say is refused with the same reason."""
        doc = young_person()
        del doc["consent_to_refer"]
        assert doc_failures(doc) == {"consent_to_refer": CONSENT_TO_REFER}

    def test_consent_to_share_contact_details_must_be_true(self) -> None:
        """Without agreement to share contact details the referral is refused."""
        doc = young_person(consent_to_share_contact_details=False)
        del doc["consent_to_refer"]
        assert doc_failures(doc) == {
            "consent_to_refer": CONSENT_TO_REFER,
            "consent_to_share_contact_details": CONSENT_TO_SHARE,
        }

    def test_consent_after_the_referral_is_refused(self) -> None:
        """Consent recorded after the referral was made is too late."""
        doc = young_person(consent_recorded_at="2026-11-25T11:00:00Z")
        assert doc_failures(doc) == {
            "consent_recorded_at": "is after referred_at: consent must be had before "
            "the referral is made"
        }

    def test_uk_gdpr_consent_basis_and_condition(self) -> None:
        """A body relying on UK GDPR consent says so, with its Article 9 condition."""
        doc = young_person(
            lawful_basis="UK GDPR 6(1)(a)", special_category_condition="UK GDPR 9(2)(a)"
        )
        consent = parse_doc(doc).consent
        assert consent.lawful_basis is LawfulBasis.CONSENT
        assert consent.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT

    def test_other_lawful_basis_is_refused(self) -> None:
        """Law-enforcement processing is not a basis for a duty-to-refer referral."""
        assert "lawful_basis" in doc_failures(young_person(lawful_basis="DPA 2018 s35"))


class TestYoungPeople:
    """A 16- or 17-year-old is a child; ages are taken on the referral date."""

    @pytest.mark.parametrize(
        ("date_of_birth", "role", "age"),
        [
            (born(16), SubjectRole.CHILD, 16),
            (born(17), SubjectRole.CHILD, 17),
            (born(18, days=1), SubjectRole.CHILD, 17),
            (born(18), SubjectRole.HOUSEHOLD_MEMBER, 18),
            (born(25), SubjectRole.HOUSEHOLD_MEMBER, 25),
        ],
    )
    def test_applicant_role_by_age(self, date_of_birth: str, role: SubjectRole, age: int) -> None:
        """Under 18 on the referral date is a child; 18 that day is an adult."""
        doc = young_person()
        doc["applicant"]["date_of_birth"] = date_of_birth
        (subject,) = parse_doc(doc).subjects
        assert (subject.role, subject.age_years) == (role, age)
        assert subject.is_child is (role is SubjectRole.CHILD)

    def test_under_16_is_a_child_with_a_finding(self) -> None:
        """A 15-year-old cannot apply in their own right: accepted, with a finding."""
        doc = young_person()
        doc["applicant"]["date_of_birth"] = born(15)
        envelope = parse_doc(doc)
        assert envelope.subjects[0].role is SubjectRole.CHILD
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("applicant_under_16", "applicant.date_of_birth")
        ]

    def test_date_of_birth_after_referral_is_refused(self) -> None:
        """A person born after the referral is an error."""
        doc = young_person()
        doc["applicant"]["date_of_birth"] = "2027-01-01"
        assert doc_failures(doc) == {"applicant.date_of_birth": "is after the date of the event"}


class TestHousehold:
    """Household members are children by age, or by relationship when age is unknown."""

    def _with_household(self, *members: dict[str, Any]) -> Envelope:
        return parse_doc(family(household=list(members)))

    def test_child_without_date_of_birth(self) -> None:
        """A son or daughter of unknown age is taken to be a child, with a finding."""
        envelope = self._with_household(
            {"given_name": "Kit", "family_name": "Household", "relationship": "child"}
        )
        assert [s.role for s in envelope.subjects] == [SubjectRole.PARENT_CARER, SubjectRole.CHILD]
        assert envelope.subjects[1].subject_key == CONTEXT.subject_key(
            "unmatched", "housing|PDU-TS1|PRB/2026/5521|household.0"
        )
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("child_without_date_of_birth", "household.0.date_of_birth")
        ]

    def test_adult_son_is_a_household_member(self) -> None:
        """A grown-up son is not a child, and his parent is not a parent of a child."""
        envelope = self._with_household(
            {"given_name": "Kit", "family_name": "Household", "relationship": "child",
             "date_of_birth": "2004-01-01"}
        )  # fmt: skip
        assert [s.role for s in envelope.subjects] == [SubjectRole.HOUSEHOLD_MEMBER] * 2
        assert envelope.children == ()

    def test_young_sibling_is_a_child_but_applicant_not_a_parent(self) -> None:
        """A child sibling is a child; the applicant is a member, not a parent or carer."""
        envelope = self._with_household(
            {"given_name": "Kit", "family_name": "Household", "relationship": "sibling",
             "date_of_birth": "2012-01-01"}
        )  # fmt: skip
        assert [s.role for s in envelope.subjects] == [
            SubjectRole.HOUSEHOLD_MEMBER,
            SubjectRole.CHILD,
        ]
        assert envelope.subject_key == envelope.subjects[1].subject_key

    def test_nhs_number_failing_check_digit(self) -> None:
        """An invalid check digit is kept, flagged and not used for the key."""
        doc = family()
        doc["applicant"]["nhs_number"] = "999 000 0001"
        envelope = parse_doc(doc)
        taylor = envelope.subjects[0]
        assert (taylor.nhs_number, taylor.nhs_number_status) == (
            "9990000001",
            NhsNumberStatus.INVALID_CHECK_DIGIT,
        )
        assert taylor.subject_key == CONTEXT.subject_key(
            "demographic", "TAYLOR", "HOUSEHOLD", "1990-02-20", "ZZ99JJ"
        )
        assert [(f.code, f.field) for f in envelope.quality.findings] == [
            ("nhs_number_check_digit", "applicant.nhs_number")
        ]


class TestValidationErrors:
    """Every kind of bad input is refused with the field and the reason."""

    @pytest.mark.parametrize(
        ("path", "value", "field", "fragment"),
        [
            (("reference",), "", "reference", "pattern"),
            (("referred_at",), "2026-11-25T10:30:00", "referred_at", "timezone"),
            (("referring_body", "authority_type"), "police", "referring_body.authority_type",
             "Input"),
            (("referring_body", "org_code"), "X", "referring_body.org_code", "pattern"),
            (("referring_body", "contact", "email"), "not-an-email",
             "referring_body.contact.email", "pattern"),
            (("applicant", "date_of_birth"), None, "applicant.date_of_birth", "valid date"),
            (("applicant", "nhs_number"), "12345", "applicant.nhs_number", "pattern"),
            (("applicant", "contact", "phone"), "call me", "applicant.contact.phone", "pattern"),
            (("applicant", "contact", "pager"), "123", "applicant.contact.pager", "Extra inputs"),
            (("chosen_authority", "code"), "E10000032", "chosen_authority.code", "pattern"),
            (("chosen_authority", "code"), "W06000015", "chosen_authority.code", "pattern"),
            (("reason",), "overcrowded", "reason", "Input should be"),
            (("household",), [{"given_name": "A"}], "household.0.family_name", "Field required"),
            (("household",), [{"given_name": "A", "family_name": "B", "relationship": "cousin"}],
             "household.0.relationship", "Input should be"),
            (("safeguarding_concerns",), ["arson"], "safeguarding_concerns.0", "Input should be"),
            (("notes",), "", "notes", "at least 1"),
            (("favourite_colour",), "blue", "favourite_colour", "Extra inputs"),
        ],
    )  # fmt: skip
    def test_field(self, path: tuple[str, ...], value: Any, field: str, fragment: str) -> None:
        """A bad field is named by its dotted path, with the reason."""
        doc = young_person()
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
        errors = doc_failures(doc)
        assert field in errors, errors
        assert fragment in errors[field]

    def test_applicant_needs_contact_details(self) -> None:
        """A referral must carry a way to contact the person."""
        doc = young_person()
        doc["applicant"]["contact"] = {"safe_to_leave_message": True}
        assert doc_failures(doc) == {
            "applicant.contact": "give a phone, an email or a correspondence address: "
            "a referral must carry them"
        }

    def test_referrer_needs_email_or_phone(self) -> None:
        """The housing authority must be able to reply."""
        doc = young_person()
        doc["referring_body"]["contact"] = {"name": "Jamie Worker"}
        assert doc_failures(doc) == {
            "referring_body.contact": "give an email or a phone so the housing authority can reply"
        }

    @pytest.mark.parametrize(
        ("reason", "on", "message"),
        [
            ("homeless", "2026-12-01", "only for reason threatened_with_homelessness"),
            (
                "threatened_with_homelessness",
                "2026-11-24",
                "is before referred_at: the person is homeless; use reason homeless",
            ),
            (
                "threatened_with_homelessness",
                "2027-01-21",
                (
                    "is more than 56 days after referred_at, so the person is not threatened "
                    "with homelessness (Housing Act 1996 s175(4))"
                ),
            ),
        ],
    )
    def test_expected_homeless_on(self, reason: str, on: str, message: str) -> None:
        """The expected date fits the reason and the 56-day definition."""
        errors = doc_failures(young_person(reason=reason, expected_homeless_on=on))
        assert errors == {"expected_homeless_on": message}

    def test_expected_homeless_on_day_56_is_accepted(self) -> None:
        """Exactly 56 days after the referral is still threatened with homelessness."""
        assert parse_doc(young_person(expected_homeless_on="2027-01-20"))

    def test_every_error_at_once(self) -> None:
        """Missing fields are all listed together, with the legal consent reason."""
        errors = failures(b"{}")
        assert set(errors) == {
            "reference",
            "referred_at",
            "referring_body",
            "applicant",
            "consent_to_refer",
            "consent_to_share_contact_details",
            "chosen_authority",
            "reason",
        }
        assert errors["consent_to_refer"] == CONSENT_TO_REFER

    @pytest.mark.parametrize(
        ("raw", "fragment"),
        [
            (b"", "empty"),
            (b"\xc3\x28", "not valid UTF-8"),
            (b"{", "Invalid JSON"),
            (b"[1, 2]", "Input should be an object"),
            (b"1e999", "Input should be an object"),
            (b'{"household": ' + b"[" * 3000 + b"]" * 3000 + b"}", "recursion limit"),
        ],
    )
    def test_unreadable_body(self, raw: bytes, fragment: str) -> None:
        """Bytes that are not one JSON object are refused as the body."""
        assert fragment in failures(raw)["body"]

    def test_csv_is_not_read(self) -> None:
        """Only JSON is read."""
        raw = json.dumps(young_person()).encode()
        assert list(failures(raw, "text/csv")) == ["content-type"]


class TestResend:
    """A resend yields the same ids."""

    def test_same_referral_same_ids(self) -> None:
        """Message id and subject keys do not depend on when the referral arrived."""
        later = ParseContext(
            received_at=datetime(2026, 12, 1, tzinfo=UTC),
            subject_key_secret=CONTEXT.subject_key_secret,
        )
        first, again = parse_doc(family()), parse_doc(family(), later)
        assert first.message_id == again.message_id
        assert [s.subject_key for s in first.subjects] == [s.subject_key for s in again.subjects]
        assert parse_doc(family(reference="PRB/2026/5522")).message_id != first.message_id


class TestPublishedFormat:
    """The committed JSON Schema matches the models, and every example parses."""

    def test_schema_file_matches_models(self) -> None:
        """The committed schema is the models' schema (regenerate it as housing.md says)."""
        committed = json.loads((FORMATS / "housing.schema.json").read_text())
        assert committed == DutyToRefer.model_json_schema()

    @pytest.mark.parametrize("path", sorted(EXAMPLES.iterdir()), ids=lambda p: p.name)
    def test_example_parses(self, path: Path) -> None:
        """Each example parses without findings."""
        (envelope,) = CONNECTOR.parse(path.read_bytes(), JSON, CONTEXT)
        assert envelope.quality.score == 100


# ---------------------------------------------------------------------- properties

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["", " ", "child", "homeless", "threatened_with_homelessness", "2026-11-20",
         "2009-11-26", "2026-11-25T10:30:00", "0001-01-01T00:00:00+23:59", "9990000000",
         "E07000999", "UK GDPR 6(1)(a)", 10**40]
    )
)  # fmt: skip
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SEEDS = [load(p.name) for p in sorted(EXAMPLES.glob("*.json"))]


def _parses_or_fails_precisely(raw: bytes) -> None:
    try:
        envelopes = CONNECTOR.parse(raw, JSON, CONTEXT)
    except ParseFailed as exc:
        errors = exc.errors
    else:
        assert all(isinstance(e, Envelope) for e in envelopes)
        return
    assert errors
    assert all(error.field and error.message for error in errors)


class TestNeverCrashes:
    """Whatever arrives, parse returns envelopes or raises ParseFailed, nothing else."""

    @FUZZ
    @given(raw=st.binary(max_size=2000))
    def test_arbitrary_bytes(self, raw: bytes) -> None:
        """Random bytes."""
        _parses_or_fails_precisely(raw)

    @FUZZ
    @given(raw=mutated_documents(SEEDS, JSON_VALUES))
    def test_mutated_documents(self, raw: bytes) -> None:
        """Valid referrals with keys dropped, replaced or of the wrong type."""
        _parses_or_fails_precisely(raw)

    @FUZZ
    @given(raw=duplicated_keys(SEEDS, JSON_VALUES))
    def test_duplicated_keys(self, raw: bytes) -> None:
        """Valid referrals with a key repeated."""
        _parses_or_fails_precisely(raw)
