"""Housing and domestic-abuse services' side of a demo day, as drafts.

- Housing: duty-to-refer referrals from probation, prisons, Jobcentre Plus, hospitals
  and youth justice, some for 16- and 17-year-olds.
- Domestic abuse: DASH checklists from the county's DA service; about a quarter score
  14 or more (MARAC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.demo.day import OFFICE_HOURS, Day, Draft
from hub.demo.documents import (
    DashCase,
    DashChild,
    HousingCase,
    ReferringBody,
    dash_answers,
    dash_assessment,
    duty_to_refer,
)
from hub.demo.notices import MARAC_SCORE, S11, S115
from hub.demo.people import Household, Person
from schemas.common import Partner

SURREY_HOUSING = (
    ("Elmbridge Borough Council", "E07000207"),
    ("Epsom and Ewell Borough Council", "E07000208"),
    ("Guildford Borough Council", "E07000209"),
    ("Mole Valley District Council", "E07000210"),
    ("Reigate and Banstead Borough Council", "E07000211"),
    ("Runnymede Borough Council", "E07000212"),
    ("Spelthorne Borough Council", "E07000213"),
    ("Surrey Heath Borough Council", "E07000214"),
    ("Tandridge District Council", "E07000215"),
    ("Waverley Borough Council", "E07000216"),
    ("Woking Borough Council", "E07000217"),
)
"""Surrey's housing authorities (districts and boroughs) and their GSS codes."""

ADULT_REFERRERS = (
    ReferringBody(
        "Example Surrey Probation Delivery Unit",
        "PDU-SY1",
        "probation_service",
        "Morgan Officer",
        "Probation practitioner",
        "morgan.officer@example.org",
    ),
    ReferringBody(
        "HMP Example",
        "HMP-EX1",
        "prison",
        "Robin Resettle",
        "Resettlement worker",
        "resettlement@example.org",
    ),
    ReferringBody(
        "Jobcentre Plus Testford",
        "JCP-TF1",
        "jobcentre_plus",
        "Kim Adviser",
        "Work coach",
        "kim.adviser@example.org",
    ),
    ReferringBody(
        "Example Surrey Hospitals NHS Trust",
        "RX9ED",
        "emergency_department",
        "Avery Nurse",
        "Discharge coordinator",
        "discharge@example.org",
    ),
)
YOUNG_REFERRERS = (
    ReferringBody(
        "Example Surrey Youth Justice Service",
        "YJS-SY",
        "youth_offending_team",
        "Jamie Worker",
        "Case manager",
        "jamie.worker@example.org",
    ),
    ReferringBody(
        "Example County Council Children's Services",
        "CSC-SY",
        "social_services_authority",
        "Charlie Social",
        "Social worker",
        "charlie.social@example.org",
    ),
)
DA_SERVICE = "DAS-SY"
MEDIUM_SCORE = 10
"""SafeLives: a DASH score of 10 to 13 is medium risk, 14 or more high."""


class HousingDesk:
    """Writes a day's duty-to-refer referrals."""

    def __init__(self, day: Day) -> None:
        self.day = day

    def referral(self, who: str) -> Draft:
        """A referral; ``who`` is ``single``, ``family`` or ``young-person`` (16 or 17)."""
        day = self.day
        household: tuple[tuple[Person, str], ...] = ()
        if who == "young-person":
            applicant = day.people.person(day.rng.choice((16, 17)), school=False)
            body = day.rng.choice(YOUNG_REFERRERS)
        elif who == "family":
            home = day.people.household(day.rng.randint(1, 3), nhs_share=0.6)
            applicant, body = home.carer, day.rng.choice(ADULT_REFERRERS)
            household = tuple((child, "child") for child in home.children)
        else:
            applicant, body = day.people.adult(18, 70), day.rng.choice(ADULT_REFERRERS)
        sent = day.at(OFFICE_HOURS)
        threatened = day.chance(0.5)
        case = HousingCase(
            authority=day.rng.choice(SURREY_HOUSING),
            reason="threatened_with_homelessness" if threatened else "homeless",
            phone=f"07700 900{day.rng.randrange(1000):03d}",
            expected_homeless_on=(
                day.day + timedelta(days=day.rng.randint(7, 50)) if threatened else None
            ),
            household=household,
            concerns=("child_criminal_exploitation",)
            if who == "young-person" and day.chance(0.3)
            else (),
            notes="Asked to leave by family; sofa-surfing." if who == "young-person" else None,
        )
        reference = f"DTR-{day.day:%Y}-{day.reference(body.org_code):05d}"
        document = duty_to_refer(
            reference=reference, referred_at=sent, body=body, applicant=applicant, case=case
        )
        expect = "mash" if who == "young-person" else "housing"
        return Draft(
            Partner.HOUSING,
            document,
            f"housing duty to refer, {who.replace('-', ' ')}",
            who,
            sent,
            expect,
        )


class DomesticAbuseService:
    """Writes a day's DASH checklists from the county's domestic-abuse service."""

    def __init__(self, day: Day) -> None:
        self.day = day

    def assessment(
        self,
        *,
        household: Household | None = None,
        harm: Person | None = None,
        score: int | None = None,
        incident_at: datetime | None = None,
        after: datetime | None = None,
        present: bool | None = None,
    ) -> Draft:
        """A checklist; a household and incident given make it the police's incident too."""
        day = self.day
        home = household or day.people.household(
            day.rng.choice((1, 1, 2, 3)) if day.chance(0.55) else 0, nhs_share=0.5
        )
        score = score if score is not None else _dash_score(day)
        judged = score < MARAC_SCORE and day.chance(0.05)
        sent = day.later(after, 60, 5 * 60) if after else day.at(OFFICE_HOURS)
        present = day.chance(0.5) if present is None else present
        consent = _dash_consent(day, has_children=bool(home.children), high=score >= MARAC_SCORE)
        case = DashCase(
            victim=home.carer,
            harm=harm or day.people.adult(19, 60, nhs=False),
            children=tuple(
                DashChild(child, present, present and day.chance(0.5)) for child in home.children
            ),
            consent=consent,
            judgement="Escalating stalking and recent separation." if judged else None,
        )
        document = dash_assessment(
            reference=f"IDVA-{day.day:%Y}-{day.reference(DA_SERVICE):04d}",
            org_code=DA_SERVICE,
            assessed_at=sent,
            incident_at=incident_at or day.earlier(sent, 120, 72 * 60),
            assessor=day.rng.choice(("IDVA 07", "IDVA 11", "Outreach 03")),
            answers=dash_answers(day.rng, score, children=bool(home.children), pregnancy=False),
            case=case,
            service_grade=_dash_grade(score, judged=judged) if day.chance(0.7) else None,
            narrative="Risk assessed with the victim; safety plan agreed.",
        )
        if score >= MARAC_SCORE or judged:
            expect = "marac"
        else:
            expect = "da-triage" if home.children else "record-only"
        label = f"DASH assessment, score {score}" + (", judged high" if judged else "")
        return Draft(
            Partner.DOMESTIC_ABUSE,
            document,
            label,
            "dash",
            sent,
            expect,
            spare=household is None,
        )


def _dash_score(day: Day) -> int:
    band = day.pick({"high": 0.25, "medium": 0.25, "standard": 0.5})
    low, high = {"high": (14, 20), "medium": (10, 13), "standard": (1, 9)}[band]
    return day.rng.randint(low, high)


def _dash_grade(score: int, *, judged: bool) -> str:
    """The service's own grade, which follows the score and the assessor's judgement."""
    if score >= MARAC_SCORE or judged:
        return "High"
    return "Medium" if score >= MEDIUM_SCORE else "Standard"


def _dash_consent(day: Day, *, has_children: bool, high: bool) -> dict[str, str]:
    """Shared against a refusal only at high risk, when asking again would endanger her."""
    status = day.pick({"given": 0.7, "refused": 0.15, "not_sought": 0.15})
    if status == "given":
        return {"status": status}
    reason = (
        "would_prejudice_protection"
        if status == "refused" and high
        else "cannot_reasonably_be_obtained"
    )
    return {
        "status": status,
        "no_consent_reason": reason,
        "statutory_gateway": S11 if has_children else S115,
    }
