"""Each partner's own codes map to the hub's concerns, and children are recognised."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.errors import ParseFailed
from connectors.health.format import SNOMED_CONCERNS
from schemas.common import Concern, Partner, SubjectRole
from tests.partner_documents import Fhir, dash, dash_child, housing, parse, police, police_person

NEW_CODES = (
    "trafficking",
    "modern_slavery",
    "female_genital_mutilation",
    "forced_marriage",
    "honour_based_abuse",
    "radicalisation",
)


class TestPolice:
    @pytest.mark.parametrize("code", NEW_CODES)
    def test_the_new_codes_are_accepted(self, code: str) -> None:
        """A force can name each new concern."""
        (envelope,) = parse(
            Partner.POLICE,
            police(
                "child_concern",
                [police_person("child", 12, consent_to_share="yes")],
                concerns=(code,),
            ),
        )
        assert Concern(code) in envelope.concerns

    def test_an_unknown_code_is_refused(self) -> None:
        """A code outside the list is refused, naming the field."""
        with pytest.raises(ParseFailed, match="concerns"):
            parse(
                Partner.POLICE,
                police(
                    "child_concern",
                    [police_person("child", 12, consent_to_share="yes")],
                    concerns=("county_lines_typo",),
                ),
            )


class TestHealth:
    @pytest.mark.parametrize(("code", "concern"), sorted(SNOMED_CONCERNS.items()))
    def test_snomed_concepts_map_to_concerns(self, code: str, concern: Concern) -> None:
        """A SNOMED CT concept with a concern is read as that concern."""
        bundle = Fhir()
        bundle.concern(bundle.patient(12), snomed=(code,))
        (envelope,) = parse(Partner.HEALTH, bundle.document())
        assert concern in envelope.concerns

    def test_an_active_snomed_flag_is_a_flag_of_harm(self) -> None:
        """The CP-IS flag, coded in SNOMED CT, makes the risk high."""
        bundle = Fhir()
        bundle.concern(bundle.patient(3), snomed=("224353004",), resource="Flag")
        (envelope,) = parse(Partner.HEALTH, bundle.document())
        assert Concern.HARM_FLAG in envelope.concerns
        assert envelope.risk.level.value == "high"

    def test_other_snomed_concepts_are_not_concerns(self) -> None:
        """A SNOMED CT concept the hub does not map leaves the concern uncoded."""
        bundle = Fhir()
        bundle.concern(bundle.patient(12), snomed=("22298006",))
        (envelope,) = parse(Partner.HEALTH, bundle.document())
        assert envelope.concerns == (Concern.OTHER,)

    def test_a_health_message_names_an_unborn_child(self) -> None:
        """A RelatedPerson in the unborn_child role is an unborn child with a due date."""
        bundle = Fhir()
        mother = bundle.patient(23)
        bundle.unborn(mother, due="2027-04-02")
        bundle.concern(mother, ("substance_misuse",))
        (envelope,) = parse(Partner.HEALTH, bundle.document())
        unborn = [s for s in envelope.subjects if s.role is SubjectRole.UNBORN_CHILD]
        assert len(unborn) == 1
        assert unborn[0].expected_date_of_birth == date(2027, 4, 2)
        assert unborn[0].date_of_birth is None
        assert Concern.ADULT_AT_RISK not in envelope.concerns  # a child is involved

    def test_an_unborn_child_with_a_birth_date_is_refused(self) -> None:
        """An unborn child has no date of birth: the sender is told to send the due date."""
        bundle = Fhir()
        mother = bundle.patient(23)
        bundle.related(mother, "unborn_child", age=0)
        bundle.concern(mother, ("pregnancy",))
        with pytest.raises(ParseFailed, match="an unborn child has no birthDate"):
            parse(Partner.HEALTH, bundle.document())


class TestDomesticAbuse:
    def test_a_child_victims_sexual_abuse_answer_is_sexual_abuse(self) -> None:
        """Question 16 answered yes by a 16-year-old victim is a sexual_abuse concern."""
        (envelope,) = parse(Partner.DOMESTIC_ABUSE, dash(yes=(2, 16), victim_age=16))
        assert Concern.SEXUAL_ABUSE in envelope.concerns

    def test_an_adult_victims_answer_counts_towards_the_score_only(self) -> None:
        """For an adult victim question 16 adds to the score, not to the child concerns."""
        children = (dash_child(5, resides_at_address=True),)
        (envelope,) = parse(Partner.DOMESTIC_ABUSE, dash(yes=(2, 16), children=children))
        assert Concern.SEXUAL_ABUSE not in envelope.concerns
        assert envelope.risk.score == 2


class TestHousing:
    def test_children_in_the_household_live_with_the_person_referred(self) -> None:
        """Household children reside with the applicant; adults are not flagged."""
        (envelope,) = parse(Partner.HOUSING, housing(30, (("child", 6), ("partner", 31))))
        by_role = {s.role: s for s in envelope.subjects[1:]}
        assert by_role[SubjectRole.CHILD].resides_at_address is True
        assert by_role[SubjectRole.HOUSEHOLD_MEMBER].resides_at_address is None

    @pytest.mark.parametrize("code", NEW_CODES)
    def test_the_new_codes_are_accepted(self, code: str) -> None:
        """A referrer can name each new concern."""
        (envelope,) = parse(Partner.HOUSING, housing(16, concerns=(code,)))
        assert Concern(code) in envelope.concerns
