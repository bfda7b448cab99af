"""The routing case table: realistic messages from all four partners, and where they must go.

Each case is a native partner document (police JSON, FHIR R4, duty to refer, DASH) put
through the partner's real connector and then the default policy. The expected
destinations are written from the child's need as the threshold guidance states it,
not from the policy's rules; ``need`` cites it:

- [CoN n] West Sussex Continuum of Need, Multi-Agency Threshold Guidance (West Sussex
  Safeguarding Children Partnership, updated February 2024), level n of its four levels
  of need: 1 needs met by universal services; 2 and 3 additional and complex needs,
  met by early help with the family's agreement (Hertfordshire County Council's
  continuum: parents' consent for level 2 services); 4 specialist: a child in need or
  at risk of significant harm, for the Integrated Front Door (the MASH) whatever the
  consent.
- [WT2023] Working Together to Safeguard Children 2023: significant harm, including
  exploitation, trafficking, FGM, forced marriage and radicalisation, goes to
  children's social care without consent where seeking it would put the child at risk;
  LADO for allegations against people who work with children; "think family".
- [Missing] Children who run away or go missing from home or care (DfE 2014): the local
  authority offers a return home interview within 72 hours.
- [DA] Domestic Abuse Act 2021: children are victims in their own right (s3); a
  16- or 17-year-old can be a victim (s1); Operation Encompass tells the school (s49A);
  SafeLives MARAC criteria (DASH 14+, professional judgement, escalation, repeat).
- [HRA] Housing Act 1996 s213B: the duty to refer needs the person's consent; a child
  with nobody to care for them is for children's services (Children Act 1989 s20).
- [Harrow] Harrow LSCB threshold guidance (2016) gives as level 4 examples a father
  known to MAPPA for sexual offences re-joining the family, and a pregnant woman who
  has been a victim of domestic abuse.

An open case, where the child is known to a team, goes to that team instead of the
MASH or early help intake (Surrey MASH practice, DESIGN.md section 8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.policy import decide, load_policy
from schemas.common import Concern, Partner
from schemas.envelope import Envelope, split_envelope
from schemas.history import HistorySummary
from tests.partner_documents import (
    S11,
    S47,
    S115,
    Fhir,
    dash,
    dash_child,
    grounds,
    housing,
    parse,
    police,
    police_person,
)

POLICY = load_policy()
P, H, HO, DA = Partner.POLICE, Partner.HEALTH, Partner.HOUSING, Partner.DOMESTIC_ABUSE


@dataclass(frozen=True)
class Case:
    """One message, and where each of its envelopes must go."""

    name: str
    partner: Partner
    document: dict[str, Any]
    expected: tuple[frozenset[str], ...]
    need: str
    history: dict[str, Any] = field(default_factory=dict)
    concerns: frozenset[Concern] = frozenset()  # the connector must have mapped these


def case(
    name: str,
    partner: Partner,
    document: dict[str, Any],
    expected: set[str] | list[set[str]],
    need: str,
    **kw: Any,
) -> Case:
    per_envelope = expected if isinstance(expected, list) else [expected]
    return Case(name, partner, document, tuple(frozenset(e) for e in per_envelope), need, **kw)


def fhir(build: Any, kind: str = "message") -> dict[str, Any]:
    bundle = Fhir(kind=kind)
    build(bundle)
    return bundle.document()


def gp_fgm(b: Fhir) -> None:
    girl = b.patient(8, contact_parent=True)
    b.concern(girl, ("female_genital_mutilation",), priority="urgent")


def siblings_and_offender(b: Fhir) -> None:
    for age in (6, 9):
        child = b.patient(age)
        b.concern(child, ("person_posing_risk",))


def cse_with_s47(b: Fhir) -> None:
    girl = b.patient(14)
    b.concern(girl, ("child_sexual_exploitation",), priority="urgent")
    b.consent(girl, "deny", reason="would_prejudice_protection", gateway=S47)


def pregnant_fifteen(b: Fhir) -> None:
    girl = b.patient(15)
    b.concern(girl, ("child_sexual_exploitation", "pregnancy"), priority="urgent")


def unborn_and_substance_misuse(b: Fhir) -> None:
    mother = b.patient(24)
    b.unborn(mother)
    b.concern(mother, ("substance_misuse",))
    b.consent(mother, "permit")


def cpis_flag(b: Fhir) -> None:
    child = b.patient(4)
    b.concern(child, snomed=("224353004",), resource="Flag")


def fgm_is_flag(b: Fhir) -> None:
    girl = b.patient(11)
    b.concern(girl, snomed=("902961000000107",), resource="Flag")


def infant_injury(b: Fhir) -> None:
    baby = b.patient(1, contact_parent=True)
    b.concern(baby, ("physical_abuse",), priority="asap")


def self_harm_with_consent(b: Fhir) -> None:
    young = b.patient(15)
    b.concern(young, ("self_harm",))
    b.consent(young, "permit")


def adult_crisis(b: Fhir) -> None:
    adult = b.patient(45)
    b.concern(adult, ("mental_health",), priority="urgent")


def neglect_no_consent(b: Fhir) -> None:
    toddler = b.patient(2, contact_parent=True)
    b.concern(toddler, ("neglect",))


def trafficking_snomed(b: Fhir) -> None:
    young = b.patient(16)
    b.concern(young, snomed=("734998001",), priority="urgent")


CHILD_NO_CONSENT = {"consent_to_share": "not_asked"}
PARENT_YES = police_person("parent_carer", 38, consent_to_share="yes")

CASES = [
    # ------------------------------------------------------------------ police
    case(
        "police: 14-year-old girl seen getting into cars with older men",
        P,
        police(
            "child_concern",
            [police_person("child", 14)],
            grade="Amber",
            concerns=("child_sexual_exploitation",),
            consent=grounds(),
        ),
        {"mash"},
        "Child sexual exploitation is sexual abuse and significant harm whatever the grade "
        "and consent [WT2023; CoN 4].",
        concerns=frozenset({Concern.CHILD_SEXUAL_EXPLOITATION}),
    ),
    case(
        "police: 15-year-old found far from home with cash and two phones after 3 days",
        P,
        police(
            "missing_person",
            [police_person("child", 15), police_person("parent_carer", 41)],
            grade="Medium",
            concerns=("child_criminal_exploitation",),
            consent=grounds(),
        ),
        {"mash", "early-help"},
        "Criminal exploitation (county lines) is significant harm [WT2023; CoN 4]; the "
        "episode also needs a return home interview within 72 hours [Missing].",
        concerns=frozenset({Concern.CHILD_CRIMINAL_EXPLOITATION, Concern.MISSING}),
    ),
    case(
        "police: trafficked 15-year-old found in a cannabis farm",
        P,
        police(
            "child_concern",
            [police_person("child", 15)],
            grade="High",
            concerns=("trafficking", "modern_slavery", "child_criminal_exploitation"),
            consent=grounds(S47, "cannot_be_given"),
        ),
        {"mash"},
        "A trafficked child is a victim of modern slavery and at risk of significant harm "
        "[WT2023; CoN 4].",
    ),
    case(
        "police: 16-year-old to be taken abroad to be married",
        P,
        police(
            "child_concern",
            [police_person("child", 16), police_person("parent_carer", 44)],
            grade="Medium",
            concerns=("forced_marriage", "honour_based_abuse"),
            consent=grounds(S11),
        ),
        {"mash"},
        "Forced marriage is significant harm; the family must not be approached for "
        "consent (one chance rule) [WT2023; CoN 4].",
    ),
    case(
        "police: 9-year-old girl at risk of FGM on a summer trip",
        P,
        police(
            "child_concern",
            [police_person("child", 9), police_person("parent_carer", 35)],
            concerns=("female_genital_mutilation",),
            consent=grounds(),
        ),
        {"mash"},
        "A girl at risk of FGM is at risk of significant harm [WT2023; CoN 4].",
    ),
    case(
        "police: 15-year-old sharing extremist material (Prevent)",
        P,
        police(
            "child_concern",
            [police_person("child", 15)],
            grade="Medium",
            concerns=("radicalisation",),
            consent=grounds(),
        ),
        {"mash"},
        "Radicalisation is harm children's social care must see [WT2023; CoN 4].",
    ),
    case(
        "police: DA incident, two children present, one at school",
        P,
        police(
            "domestic_abuse",
            [
                police_person("victim", 33, consent_to_share="yes"),
                police_person("person_causing_harm", 35),
                police_person("child", 8, present=True, school_urn="999001"),
                police_person("child", 2, present=True),
            ],
            grade="Medium",
        ),
        {"da-triage", "encompass"},
        "Children living with domestic abuse are victims in their own right; the school is "
        "told before the next school day [DA; CoN 3].",
    ),
    case(
        "police: DA incident, high risk, children living there",
        P,
        police(
            "domestic_abuse",
            [
                police_person("victim", 29, consent_to_share="no"),
                police_person("person_causing_harm", 31),
                police_person("child", 6, resides_at_address=True, school_urn="999002"),
            ],
            grade="High",
            consent=grounds(S11),
        ),
        {"da-triage", "mash", "marac", "encompass"},
        "High-risk domestic abuse with a child in the home is significant harm for the "
        "child and MARAC for the victim [DA; CoN 4].",
    ),
    case(
        "police: DA between two adults, standard risk",
        P,
        police(
            "domestic_abuse",
            [police_person("victim", 52), police_person("person_causing_harm", 55)],
            consent=grounds(S115),
        ),
        {"record-only"},
        "No child is involved and the risk is standard: nothing for children's services "
        "(CoN 1; DESIGN.md section 1).",
    ),
    case(
        "police: 18th birthday on the day of the DA incident",
        P,
        police(
            "domestic_abuse",
            [
                police_person("victim", 47, consent_to_share="yes"),
                police_person("person_causing_harm", 49),
                police_person(
                    "household_member",
                    None,
                    date_of_birth="2008-11-24",
                    present=True,
                    school_urn="999004",
                ),
            ],
        ),
        {"record-only"},
        "The young person is 18 on the incident day: an adult, not a child in need; no "
        "child is involved at standard risk [CoN applies to under-18s].",
    ),
    case(
        "police: DA incident the day before a 17-year-old's 18th birthday",
        P,
        police(
            "domestic_abuse",
            [
                police_person("victim", 47, consent_to_share="yes"),
                police_person("person_causing_harm", 49),
                police_person(
                    "child",
                    None,
                    date_of_birth="2008-11-25",
                    present=True,
                    school_urn="999004",
                ),
            ],
        ),
        {"da-triage", "encompass"},
        "Still 17: a child living with domestic abuse, and a school to tell [DA; CoN 3].",
    ),
    case(
        "police: teacher abusing a position of trust with a 14-year-old pupil",
        P,
        police(
            "other",
            [
                police_person("professional_subject", 38, works_with_children=True),
                police_person("child", 14),
                PARENT_YES,
            ],
            grade="Medium",
            concerns=("sexual_abuse",),
        ),
        {"lado", "mash"},
        "Sexual abuse of a child is significant harm; an allegation against a person who "
        "works with children is for the LADO as well [WT2023; CoN 4].",
    ),
    case(
        "police: youth worker arrested for an offence unrelated to work, no child named",
        P,
        police(
            "other",
            [police_person("professional_subject", 30, works_with_children=True)],
            grade="Medium",
            consent=grounds(S115),
        ),
        {"lado"},
        "Transferable risk in a person who works with children is for the LADO [WT2023].",
    ),
    case(
        "police: registered sex offender moves in with a family of two children",
        P,
        police(
            "person_posing_risk",
            [
                police_person("person_causing_harm", 45),
                police_person("child", 7),
                police_person("child", 10),
                police_person("parent_carer", 36),
            ],
            consent=grounds(),
        ),
        {"mash"},
        "A person posing a risk to children joining the household is likely significant "
        "harm [Harrow level 4 example; CoN 4].",
    ),
    case(
        "police: person posing risk, no child identified (information only)",
        P,
        police("person_posing_risk", [police_person("person_causing_harm", 60)], consent=grounds()),
        {"record-only"},
        "No identified child: kept for history (PPRC information only) [CoN 1].",
    ),
    case(
        "police: third low-level concern about a child in three months",
        P,
        police(
            "child_concern",
            [police_person("child", 10), PARENT_YES],
            concerns=("neglect",),
        ),
        {"early-help", "mash"},
        "Repeated low-level concerns show a pattern no single one does; the family agreed "
        "to early help [CoN 3; WT2023].",
        history={"low_level_3m": 3, "contacts_12m": 3},
    ),
    case(
        "police: child with an open case hit by a parent",
        P,
        police(
            "child_concern",
            [police_person("child", 12, injured=True), police_person("parent_carer", 40)],
            grade="High",
            concerns=("physical_abuse",),
            consent=grounds(S47, "would_prejudice_protection"),
        ),
        {"allocated-team"},
        "Significant harm to a child already known: the allocated social worker acts [CoN 4].",
        history={"open_case": True},
    ),
    case(
        "police: neglect concern, parent agrees to help",
        P,
        police("child_concern", [police_person("child", 5), PARENT_YES], concerns=("neglect",)),
        {"early-help"},
        "Neglect below significant harm: early help with the family's agreement [CoN 3].",
    ),
    case(
        "police: neglect concern, consent not asked",
        P,
        police(
            "child_concern",
            [police_person("child", 5), police_person("parent_carer", 30)],
            concerns=("neglect",),
            consent=grounds(),
        ),
        {"returned"},
        "Early help needs the family's consent; without it and below significant harm the "
        "sender is asked to seek it [CoN 2-3; Hertfordshire continuum].",
    ),
    case(
        "police: DA incident, victim pregnant (unborn child)",
        P,
        police(
            "domestic_abuse",
            [
                police_person("victim", 26, pregnant=True, consent_to_share="yes"),
                police_person("person_causing_harm", 28),
                police_person("unborn_child", None, expected_date_of_birth="2027-02-01"),
            ],
            grade="Medium",
        ),
        {"da-triage"},
        "An unborn baby in a home with domestic abuse is a child affected by it [DA; "
        "WT2023]; at medium risk DA triage assesses the pre-birth needs.",
        concerns=frozenset({Concern.PREGNANCY}),
    ),
    case(
        "police: 13-year-old missing overnight, returned home, first episode",
        P,
        police(
            "missing_person",
            [police_person("child", 13), police_person("parent_carer", 39)],
            grade="Low",
            consent=grounds(),
        ),
        {"early-help"},
        "A return home interview within 72 hours is offered whatever the consent [Missing].",
    ),
    case(
        "police: sibling group of three in a DA incident",
        P,
        police(
            "domestic_abuse",
            [
                police_person("victim", 37, consent_to_share="yes"),
                police_person("person_causing_harm", 40),
                police_person("child", 5, present=True, school_urn="999005"),
                police_person("child", 9, present=True, witnessed=True, school_urn="999006"),
                police_person("child", 13, resides_at_address=True, school_urn="999007"),
            ],
        ),
        {"da-triage", "encompass"},
        "Each child living with domestic abuse needs DA triage and their school told [DA].",
    ),
    case(
        "police: adult at risk (older person), no child",
        P,
        police(
            "adult_at_risk",
            [police_person("victim", 86)],
            concerns=("adult_at_risk",),
            consent=grounds("Care Act 2014 s42", "cannot_be_given"),
        ),
        {"adult-services"},
        "An adult at risk is for adult social care (Care Act 2014 s42); no child.",
    ),
    case(
        "police: mother in a mental-health crisis with a 5-year-old at home",
        P,
        police(
            "adult_at_risk",
            [
                police_person("victim", 31),
                police_person("child", 5, resides_at_address=True),
            ],
            grade="Medium",
            concerns=("adult_at_risk", "mental_health"),
            consent=grounds(S11, "cannot_be_given"),
        ),
        {"adult-services", "mash"},
        "The adult needs adult social care; the child's carer may not be able to meet her "
        "needs, so the front door screens the child (think family) [WT2023; CoN 3-4].",
    ),
    # ------------------------------------------------------------------ health
    case(
        "health: GP finds FGM in an 8-year-old",
        H,
        fhir(gp_fgm),
        {"mash"},
        "FGM in a girl under 18 is significant harm and a mandatory report [FM; CoN 4].",
        concerns=frozenset({Concern.FEMALE_GENITAL_MUTILATION}),
    ),
    case(
        "health: GP batch about two siblings after a sex offender moved in",
        H,
        fhir(siblings_and_offender, kind="batch"),
        [{"mash"}, {"mash"}],
        "Each child of a household a person posing risk joined is at risk of significant "
        "harm [Harrow level 4 example; CoN 4].",
    ),
    case(
        "health: CSE referral with the s47 gateway and would prejudice protection",
        H,
        fhir(cse_with_s47),
        {"mash"},
        "Exploitation, and the clinician's own statement of significant harm [WT2023; CoN 4].",
    ),
    case(
        "health: pregnant 15-year-old at risk of exploitation by a 19-year-old",
        H,
        fhir(pregnant_fifteen),
        {"mash"},
        "A pregnant 15-year-old at risk of sexual exploitation is at risk of significant "
        "harm, not an early-help case [WT2023; CoN 4].",
    ),
    case(
        "health: unborn child, mother misusing drugs, consent given",
        H,
        fhir(unborn_and_substance_misuse),
        {"early-help"},
        "Pre-birth concern below significant harm, the mother agreeing: early help [CoN 3].",
    ),
    case(
        "health: CP-IS flag on a 4-year-old at the ED, open case",
        H,
        fhir(cpis_flag),
        {"allocated-team"},
        "A child on a protection plan attended unscheduled care: the allocated team is told "
        "(CP-IS) [CoN 4].",
        history={"open_case": True},
        concerns=frozenset({Concern.CHILD_PROTECTION}),
    ),
    case(
        "health: FGM-IS flag (family history of FGM) on an 11-year-old",
        H,
        fhir(fgm_is_flag),
        {"mash"},
        "A girl with a family history of FGM is at risk of it [FM; CoN 4].",
        concerns=frozenset({Concern.FEMALE_GENITAL_MUTILATION}),
    ),
    case(
        "health: 1-year-old with an injury not matching the explanation",
        H,
        fhir(infant_injury),
        {"mash"},
        "Suspected physical abuse of a baby is significant harm [WT2023; CoN 4].",
    ),
    case(
        "health: school nurse, 15-year-old self-harming, agrees to support",
        H,
        fhir(self_harm_with_consent),
        {"early-help"},
        "Self-harm without other harm: targeted support with the young person's agreement [CoN 3].",
    ),
    case(
        "health: adult in a mental-health crisis, no dependants",
        H,
        fhir(adult_crisis),
        {"adult-services"},
        "An adult at risk: adult social care; no child [Care Act 2014 s42].",
    ),
    case(
        "health: health visitor's neglect concern, no consent recorded",
        H,
        fhir(neglect_no_consent),
        {"returned"},
        "Below significant harm early help needs consent; the sender is told to add it, "
        "or to say if the child is at risk of significant harm [CoN 2-3].",
    ),
    case(
        "health: 16-year-old identified as a victim of trafficking (SNOMED CT)",
        H,
        fhir(trafficking_snomed),
        {"mash"},
        "Trafficking is significant harm [WT2023; CoN 4].",
        concerns=frozenset({Concern.TRAFFICKING}),
    ),
    # ------------------------------------------------------------------ housing
    case(
        "housing: homeless 16-year-old asked to leave by her parents",
        HO,
        housing(16, authority="social_services_authority"),
        {"housing", "mash"},
        "A homeless 16-year-old is a child in need: children's services assess (s17, s20) "
        "and housing is told [HRA; CoN 4].",
    ),
    case(
        "housing: homeless 15-year-old on her own",
        HO,
        housing(15, authority="social_services_authority"),
        {"housing", "mash"},
        "A child under 16 cannot be owed the housing duty; nobody is caring for her [HRA; CoN 4].",
    ),
    case(
        "housing: mother and 6-year-old fleeing domestic abuse",
        HO,
        housing(
            29, (("child", 6),), concerns=("domestic_abuse",), authority="emergency_department"
        ),
        {"housing", "da-triage"},
        "A child in a family fleeing domestic abuse is a victim in their own right [DA].",
    ),
    case(
        "housing: family evicted by a landlord",
        HO,
        housing(34, (("child", 8), ("partner", 36))),
        {"housing"},
        "Homelessness alone, with parents caring for the child: the housing duty [HRA; CoN 2].",
    ),
    case(
        "housing: single adult leaving prison",
        HO,
        housing(41, authority="prison"),
        {"housing"},
        "An adult with no child: the housing duty only [HRA].",
    ),
    case(
        "housing: family with a person posing a risk to children in the household",
        HO,
        housing(30, (("child", 4), ("partner", 33)), concerns=("person_posing_risk",)),
        {"housing", "mash"},
        "A person posing risk in a child's household is likely significant harm "
        "[Harrow level 4 example; CoN 4].",
    ),
    # ------------------------------------------------------------------ domestic abuse
    case(
        "DA service: DASH 16, children present",
        DA,
        dash(
            yes=(1, 2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15, 17, 21, 23, 24),
            children=(dash_child(7, present=True, resides_at_address=True),),
        ),
        {"da-triage", "marac", "mash"},
        "High risk of serious harm with a child at home: MARAC for the victim and MASH for "
        "the child [DA; CoN 4].",
    ),
    case(
        "DA service: DASH 7, child living there",
        DA,
        dash(yes=(2, 3, 4, 6, 8, 10, 20), children=(dash_child(4, resides_at_address=True),)),
        {"da-triage"},
        "Standard-risk domestic abuse with a child at home: DA triage assesses the child "
        "[DA; CoN 3].",
    ),
    case(
        "DA service: DASH 11, no children",
        DA,
        dash(yes=(2, 3, 4, 5, 6, 8, 10, 11, 12, 20, 21)),
        {"record-only"},
        "An adult victim at medium risk already supported by the service; no child [CoN 1].",
    ),
    case(
        "DA service: 16-year-old victim discloses sexual abuse by her boyfriend",
        DA,
        dash(yes=(2, 3, 4, 8, 10, 11, 12, 16, 20, 21, 24), victim_age=16),
        {"mash", "da-triage"},
        "A 16-year-old sexually abused by a partner is a child being sexually abused and a "
        "victim of domestic abuse [WT2023; DA; CoN 4].",
        concerns=frozenset({Concern.SEXUAL_ABUSE}),
    ),
    case(
        "DA service: professional judgement of high risk, no children",
        DA,
        dash(yes=(2, 3, 8, 12, 14), judged_high=True),
        {"marac"},
        "The assessor judges the victim at high risk: MARAC [DA].",
    ),
    case(
        "DA service: repeat within 12 months of the last MARAC, child at home",
        DA,
        dash(yes=(2, 3, 4, 6, 8, 10), children=(dash_child(9, resides_at_address=True),)),
        {"da-triage", "marac"},
        "A repeat incident within twelve months of a MARAC referral returns to MARAC; the "
        "child's needs to DA triage [DA].",
        history={"last_marac_referral_at": "2026-05-01T10:00:00+00:00"},
    ),
    case(
        "DA service: 17-year-old victim of a controlling partner, no sexual abuse",
        DA,
        dash(
            yes=(2, 3, 4, 8, 12),
            victim_age=17,
            consent={
                "status": "refused",
                "no_consent_reason": "cannot_reasonably_be_obtained",
                "statutory_gateway": S11,
            },
        ),
        {"mash", "da-triage"},
        "A 17-year-old victim of domestic abuse is a child: the MASH decides on her "
        "protection and DA triage supports her, whatever the consent [DA; CoN 4].",
    ),
    case(
        "DA service: pregnant victim, DASH 10, no other children",
        DA,
        dash(yes=(2, 3, 4, 6, 8, 9, 10, 11, 12, 20)),
        {"da-triage"},
        "The unborn baby is affected by the abuse: DA triage considers the pre-birth "
        "needs; medium risk without escalation [DA; Harrow].",
        concerns=frozenset({Concern.PREGNANCY}),
    ),
]


def decisions(c: Case) -> list[tuple[Envelope, set[str]]]:
    history = HistorySummary(**c.history)
    found = []
    for envelope in parse(c.partner, c.document):
        meta, _ = split_envelope(envelope)
        routed = decide(POLICY, meta, history).destinations
        found.append((envelope, {a.value for a in routed}))
    return found


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_case_goes_where_the_child_needs(c: Case) -> None:
    """The partner's own document, parsed and routed, reaches the areas the need says."""
    routed = decisions(c)
    assert [areas for _, areas in routed] == [set(e) for e in c.expected], c.need
    for envelope, _ in routed:
        assert c.concerns <= set(envelope.concerns)


class TestTable:
    def test_there_are_at_least_forty_cases_from_every_partner(self) -> None:
        """The table is big enough to mean something, and covers all four partners."""
        assert len(CASES) >= 40
        assert {c.partner for c in CASES} == set(Partner)
        assert all(sum(c.partner is p for c in CASES) >= 6 for p in Partner)

    def test_every_case_cites_the_guidance(self) -> None:
        """Each expectation is justified by a threshold source, not by a rule."""
        sources = ("CoN", "WT2023", "Missing", "DA", "HRA", "FM", "Harrow", "Care Act")
        for c in CASES:
            assert any(s in c.need for s in sources), c.name
            assert not re.search(r"\br\d+-", c.need), c.name  # no policy rule ids


SAME_FACTS = {
    "child_sexual_exploitation": Concern.CHILD_SEXUAL_EXPLOITATION,
    "female_genital_mutilation": Concern.FEMALE_GENITAL_MUTILATION,
    "forced_marriage": Concern.FORCED_MARRIAGE,
    "radicalisation": Concern.RADICALISATION,
    "modern_slavery": Concern.MODERN_SLAVERY,
}


def same_concern_everywhere(code: str) -> dict[Partner, dict[str, Any]]:
    """A 15-year-old with the concern, no consent asked, from each partner's format."""

    def health(b: Fhir) -> None:
        b.concern(b.patient(15), (code,))

    return {
        P: police(
            "child_concern", [police_person("child", 15)], concerns=(code,), consent=grounds()
        ),
        H: fhir(health),
        HO: housing(15, concerns=(code,), authority="social_services_authority"),
        DA: dash(
            yes=(2, 3),
            victim_age=15,
            concerns=(code,),
            consent={
                "status": "not_sought",
                "no_consent_reason": "cannot_reasonably_be_obtained",
                "statutory_gateway": S11,
            },
        ),
    }


@pytest.mark.parametrize("code", sorted(SAME_FACTS))
def test_the_same_concern_reaches_the_mash_from_every_partner(code: str) -> None:
    """Whichever partner sends it, the same significant-harm concern reaches the MASH."""
    for partner, document in same_concern_everywhere(code).items():
        (envelope,) = parse(partner, document)
        assert SAME_FACTS[code] in envelope.concerns, partner
        meta, _ = split_envelope(envelope)
        routed = {a.value for a in decide(POLICY, meta, HistorySummary()).destinations}
        assert "mash" in routed, (partner, routed)
        assert "returned" not in routed
