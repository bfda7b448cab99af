"""The housing connector: duty-to-refer referrals to envelopes, or precise errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.common import (
    Concern,
    LawfulBasis,
    NhsNumberStatus,
    SpecialCategoryCondition,
    SubjectRole,
)
from schemas.envelope import Envelope
from tests.unit.connectors.documents import replaced
from tests.unit.connectors.partners import (
    CONSENT_TO_REFER,
    CONSENT_TO_SHARE,
    CONTEXT,
    HOUSING,
    assert_check_digit_kept,
)

load, parse_doc, failures, doc_failures = (
    HOUSING.load,
    HOUSING.parse_doc,
    HOUSING.failures,
    HOUSING.doc_failures,
)


def young_person(**changes: Any) -> dict[str, Any]:
    doc = load("referral-young-person.json")
    doc.update(changes)
    return doc


def family(**changes: Any) -> dict[str, Any]:
    doc = load("referral-family.json")
    doc.update(changes)
    return doc


def born(years_before_referral: int, days: int = 0) -> str:
    """A date of birth that many years before 2026-11-25, shifted by some days."""
    birthday = date(2026 - years_before_referral, 11, 25)
    return date.fromordinal(birthday.toordinal() + days).isoformat()


class TestGoldenYoungPerson:
    """The young-person example maps to exactly the expected envelope."""

    def test_envelope(self) -> None:
        """Time, the child, concerns, narrative, quality (source, kind, risk, consent: golden)."""
        envelope = parse_doc(load("referral-young-person.json"))
        assert (
            envelope.occurred_at
            == envelope.reported_at
            == datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
        )
        (casey,) = envelope.subjects
        assert (casey.role, casey.age_years) == (SubjectRole.CHILD, 17)
        assert (casey.nhs_number, casey.nhs_number_status) == ("9990000050", NhsNumberStatus.VALID)
        assert (casey.given_name, casey.family_name) == ("Casey", "Youngperson")
        assert (casey.address, casey.postcode) == ("12 Sample Road, Testtown", "ZZ8 8HH")
        assert casey.subject_key == envelope.subject_key == CONTEXT.subject_key("nhs", "9990000050")
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
        assert_check_digit_kept(
            parse_doc(doc),
            "9990000001",
            ("TAYLOR", "HOUSEHOLD", "1990-02-20", "ZZ99JJ"),
            "applicant.nhs_number",
        )


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
        ],
    )  # fmt: skip
    def test_field(self, path: tuple[str, ...], value: Any, field: str, fragment: str) -> None:
        """A bad field is named by its dotted path, with the reason."""
        HOUSING.assert_field_refused(replaced(young_person(), path, value), field, fragment)

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
