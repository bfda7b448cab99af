from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.common import ConsentStatus, SubjectRole
from schemas.envelope import join_envelope, split_envelope
from tests.factories import consent, envelope, subject


class TestEnvelope:
    def test_split_and_join_round_trip(self) -> None:
        """Splitting into metadata and content and joining again loses nothing."""
        original = envelope(subjects=[subject(), subject(SubjectRole.VICTIM, "adult")])
        meta, content = split_envelope(original)
        assert join_envelope(meta, content) == original

    def test_metadata_carries_no_identifiers(self) -> None:
        """Routing metadata holds no name, date of birth, NHS number, postcode or narrative."""
        original = envelope()
        meta, _ = split_envelope(original)
        text = meta.model_dump_json()
        for secret in ("Testchild", "Synthetic", "2018-03-01", "9990000018", "ZZ99", "narrative"):
            assert secret not in text

    def test_unknown_field_is_refused_by_name(self) -> None:
        """Inbound models forbid extra fields, naming the field."""
        data = envelope().model_dump()
        data["favourite_colour"] = "blue"
        with pytest.raises(ValidationError, match="favourite_colour"):
            type(envelope()).model_validate(data)

    def test_kind_must_match_partner(self) -> None:
        """A health kind cannot arrive from the police."""
        with pytest.raises(ValidationError, match="cannot be sent by partner police"):
            envelope(kind="health.safeguarding_concern", partner="police")

    @pytest.mark.parametrize(
        ("role", "age", "child"),
        [
            (SubjectRole.CHILD, 17, True),
            (SubjectRole.CHILD, 18, False),
            (SubjectRole.HOUSEHOLD_MEMBER, 17, True),
            (SubjectRole.VICTIM, 18, False),
            (SubjectRole.UNBORN_CHILD, None, True),
            (SubjectRole.CHILD, None, True),
        ],
    )
    def test_who_is_a_child(self, role: SubjectRole, age: int | None, child: bool) -> None:
        """Under 18 is a child; an unborn child counts; 18 is an adult."""
        assert subject(role, age_years=age).is_child is child


class TestConsentRules:
    def test_given_consent_needs_no_reason(self) -> None:
        """Consent given stands on its own."""
        assert consent(ConsentStatus.GIVEN).given

    @pytest.mark.parametrize(
        "status",
        [
            ConsentStatus.REFUSED,
            ConsentStatus.NOT_SOUGHT,
            ConsentStatus.WITHDRAWN,
            ConsentStatus.NOT_REQUIRED,
        ],
    )
    def test_no_consent_requires_reason_and_gateway(self, status: ConsentStatus) -> None:
        """Without consent the reason and the statutory gateway are both required."""
        with pytest.raises(ValidationError, match="no_consent_reason and statutory_gateway"):
            consent(status, no_consent_reason=None, statutory_gateway=None)

    def test_lawful_basis_is_required(self) -> None:
        """A consent block without a lawful basis is refused, naming the field."""
        with pytest.raises(ValidationError, match="lawful_basis"):
            consent(lawful_basis=None)
