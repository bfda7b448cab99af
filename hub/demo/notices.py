"""The police side of a demo day: each kind of notification a force sends, as a draft.

Surrey Police (force 45) grades in the colours of Surrey's MASH police triage (Red,
Amber, Green, Blue; ``reference/domain.md`` section 1.3); a neighbouring force
(Sussex, 47) sends some notifications about Surrey residents and grades High, Medium,
Low. Domestic-abuse incidents carry the officer's
DASH score and its grade (Standard, Medium, High) whichever force sends them.

Each method returns a :class:`~hub.demo.day.Draft` with the area the default policy
should route it to (with no history), where that is certain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.demo.day import POLICE_HOURS, Day, Draft
from hub.demo.people import Household, Person
from hub.demo.police import notification, person_entry
from schemas.common import Partner

FORCES = {"45": 0.9, "47": 0.1}
_GRADES = {
    "45": {"high": "Red", "medium": "Amber", "standard": "Green", "minimal": "Blue"},
    "47": {"high": "High", "medium": "Medium", "standard": "Low", "minimal": "Low"},
}
_DASH_GRADES = {"high": "High", "medium": "Medium", "standard": "Standard"}
_DASH_SCORES = {"standard": (2, 9), "medium": (10, 13), "high": (14, 19)}
MARAC_SCORE = 14
_RANKS = ("PC", "PC", "DC", "PS")

S11 = "Children Act 2004 s11"
S47 = "Children Act 1989 s47"
S115 = "Crime and Disorder Act 1998 s115"
S42 = "Care Act 2014 s42"

_NO_CHILD = (
    "Shoplifting by an adult; no safeguarding concerns identified.",
    "Dispute between neighbours over parking; words exchanged, no offences.",
    "Adult found asleep in a car park; checked, well, and taken home.",
    "Criminal damage to a vehicle; suspect an adult not known to the victim.",
    "Noise complaint at a shared house; occupants all adults, advised.",
    "Theft of a bicycle from a garden; no persons at risk identified.",
)
_CHILD_CONCERNS = {
    "neglect": "House in a poor state, little food, and the child not at school for a week.",
    "emotional_abuse": "Child heard being shouted at and belittled for a long period.",
    "mental_health": "Parent in mental-health crisis at home with the child present.",
    "substance_misuse": "Parent found intoxicated while in sole care of the child.",
    "self_harm": "Child disclosed self-harm to a friend's parent, who called police.",
}

_ADULT_CONCERNS = {
    "neglect": "Adult living alone found confused and without heating or food.",
    "mental_health": "Adult in mental-health crisis at home; no one else lives there.",
    "self_harm": "Adult threatening self-harm on a bridge; talked down and taken to hospital.",
    "substance_misuse": "Adult found heavily intoxicated in the street at night.",
}


@dataclass(frozen=True)
class _Notice:
    """What one notification is about, before the force's details are added."""

    notification_type: str
    level: str
    persons: list[dict[str, Any]]
    summary: str
    consent: dict[str, str] | None
    concerns: tuple[str, ...] = ()
    dash_score: int | None = None
    incident_location: str | None = None


_VOICE = "Said they heard the shouting and were frightened for their mum."
"""A witnessing child's voice, as an officer records it (synthetic)."""


class PoliceDesk:
    """Writes a day's police notifications."""

    def __init__(self, day: Day) -> None:
        self.day = day

    # ------------------------------------------------------------------ shared parts

    def _draft(
        self,
        notice: _Notice,
        *,
        label: str,
        kind: str,
        expect: str | None,
        sent_at: datetime | None = None,
        spare: bool = True,
    ) -> Draft:
        day = self.day
        force = day.pick(FORCES)
        reported = sent_at or day.at(POLICE_HOURS)
        occurred = day.earlier(reported, 10, 8 * 60)
        dash = notice.dash_score is not None
        document = notification(
            force_code=force,
            reference=f"{force}/{day.day:%y%j}/{day.reference(force):05d}",
            notification_type=notice.notification_type,
            occurred_at=occurred,
            reported_at=reported,
            risk_grade=(_DASH_GRADES if dash else _GRADES[force])[notice.level],
            risk_tool="DASH" if dash else None,
            risk_score=notice.dash_score,
            persons=notice.persons,
            summary=notice.summary,
            submitted_by=f"{day.rng.choice(_RANKS)} {day.rng.randint(1000, 9999)}",
            system="Niche RMS",
            concerns=notice.concerns,
            consent=notice.consent,
            incident_location=notice.incident_location,
        )
        return Draft(Partner.POLICE, document, label, kind, reported, expect, spare=spare)

    def _answer(self, yes: float, no: float) -> str:
        return self.day.pick({"yes": yes, "no": no, "not_asked": 1 - yes - no})

    @staticmethod
    def _grounds(answer: str, gateway: str, reason: str | None = None) -> dict[str, str] | None:
        """The consent block: none needed when a consenting person said yes.

        "Would prejudice protection", like the s47 gateway, is the officer's statement of
        significant harm, which takes a child's notification to the MASH; below that the
        officer shares because consent cannot reasonably be obtained.
        """
        if answer == "yes":
            return None
        default = (
            "would_prejudice_protection" if gateway == S47 else "cannot_reasonably_be_obtained"
        )
        return {"no_consent_reason": reason or default, "statutory_gateway": gateway}

    # ------------------------------------------------------------------ kinds

    def no_child(self) -> Draft:
        """An incident between adults at low risk: kept for history only."""
        day = self.day
        level = day.pick({"minimal": 0.45, "standard": 0.4, "medium": 0.15})
        people = [day.people.adult(18, 80, nhs=False) for _ in range(day.rng.randint(1, 2))]
        answer = self._answer(0.2, 0.1)
        persons = [person_entry(people[0], "victim", consent_to_share=answer)]
        persons += [person_entry(p, "household_member") for p in people[1:]]
        notice = _Notice(
            "other", level, persons, day.rng.choice(_NO_CHILD), self._grounds(answer, S115)
        )
        return self._draft(
            notice,
            label=f"police notification, no child, {level}",
            kind="no-child",
            expect="record-only",
        )

    def domestic_abuse(
        self,
        children: str,
        *,
        household: Household | None = None,
        harm: Person | None = None,
        level: str | None = None,
        sent_at: datetime | None = None,
    ) -> Draft:
        """A DA incident; ``children`` is ``present``, ``not present`` or ``none``."""
        day = self.day
        level = level or day.pick({"standard": 0.55, "medium": 0.32, "high": 0.13})
        low, high = _DASH_SCORES[level]
        score = day.rng.randint(low, high)
        home = household or day.people.household(
            0 if children == "none" else day.rng.choice((1, 1, 2, 2, 3)), nhs_share=0.35
        )
        answer = self._answer(0.55, 0.15)
        persons = [
            person_entry(
                home.carer,
                "victim",
                consent_to_share=answer,
                injured=level != "standard" and day.chance(0.6),
            ),
            person_entry(harm or day.people.adult(19, 60, nhs=False), "person_causing_harm"),
        ]
        present = children == "present"
        for child in home.children:
            witnessed = present and day.chance(0.6)
            persons.append(
                person_entry(
                    child,
                    "child",
                    present=present,
                    witnessed=witnessed,
                    injured=present and day.chance(0.03),
                    resides_at_address=True,
                    # What Operation Encompass tells the school (no random draw: the
                    # day's other traffic stays as it was).
                    location_during_incident="in the house" if present else None,
                    child_voice=_VOICE if witnessed else None,
                )
            )
        gateway = S11 if home.children else S115
        summary = _da_summary(children, len(home.children), level)
        notice = _Notice(
            "domestic_abuse",
            level,
            persons,
            summary,
            self._grounds(answer, gateway),
            ("emotional_abuse",) if present and day.chance(0.3) else (),
            score,
            home.carer.address,
        )
        shown = {"present": "child present", "not present": "children not present"}
        expect = "da-triage" if home.children else ("marac" if score >= MARAC_SCORE else None)
        return self._draft(
            notice,
            label=f"police DA notification, {shown.get(children, 'adults only')}, {level}",
            kind=f"da-{children.replace(' ', '-')}" if home.children else "da-no-child",
            expect=expect or "record-only",
            sent_at=sent_at,
            spare=household is None,
        )

    def child_concern(
        self,
        *,
        household: Household | None = None,
        concern: str | None = None,
        sent_at: datetime | None = None,
    ) -> Draft:
        """A concern about a child below a crime: early help with consent, else returned."""
        day = self.day
        home = household or day.people.household(day.rng.choice((1, 1, 2)), nhs_share=0.4)
        level = day.pick({"standard": 0.65, "medium": 0.27, "high": 0.08})
        concern = concern or day.rng.choice(list(_CHILD_CONCERNS))
        answer = self._answer(0.5, 0.15)
        persons = [person_entry(child, "child") for child in home.children[:1]]
        persons.append(person_entry(home.carer, "parent_carer", consent_to_share=answer))
        concerns = ("child_protection",) if level == "high" else (concern,)
        gateway = S47 if level == "high" else S11
        notice = _Notice(
            "child_concern",
            level,
            persons,
            _CHILD_CONCERNS.get(concern, concern),
            self._grounds(answer, gateway),
            concerns,
        )
        expect = below_harm(significant=level == "high", consent=answer == "yes")
        consent = {"yes": "consent given", "no": "consent refused"}.get(answer, "consent not asked")
        return self._draft(
            notice,
            label=f"police child concern, {level}, {consent}",
            kind="child-concern",
            expect=expect,
            sent_at=sent_at,
            spare=household is None,
        )

    def missing(
        self, *, child: bool, household: Household | None = None, sent_at: datetime | None = None
    ) -> Draft:
        """A missing person: a teenager (often with exploitation concerns) or an adult."""
        day = self.day
        level = day.pick({"standard": 0.15, "medium": 0.6, "high": 0.25})
        if not child:
            person = day.people.adult(18, 85, nhs=False)
            notice = _Notice(
                "missing_person",
                level,
                [person_entry(person, "household_member")],
                "Adult reported missing by family; not seen since the morning.",
                self._grounds("not_asked", S115, "cannot_be_given"),
            )
            return self._draft(
                notice,
                label=f"police missing adult, {level}",
                kind="missing-adult",
                expect="record-only",
            )
        home = household or day.people.household(1, youngest=12, eldest=17, nhs_share=0.5)
        answer = self._answer(0.4, 0.0)
        exploited = day.chance(0.4)
        persons = [
            person_entry(home.children[0], "child"),
            person_entry(home.carer, "parent_carer", consent_to_share=answer),
        ]
        notice = _Notice(
            "missing_person",
            level,
            persons,
            "Child missing overnight; returned in the morning, would not say where."
            if exploited
            else "Child missing from home after an argument; found by officers.",
            self._grounds(answer, S11),
            ("child_criminal_exploitation",) if exploited else (),
        )
        # A return home interview is offered whatever the consent (early help); the MASH
        # screens a child missing at medium or high risk, or with signs of exploitation.
        expect = "mash" if exploited or level != "standard" else "early-help"
        return self._draft(
            notice,
            label=f"police missing child, {level}",
            kind="missing-child",
            expect=expect,
            sent_at=sent_at,
            spare=household is None,
        )

    def adult_at_risk(self) -> Draft:
        """An adult at risk with no child involved: adult services decide (Care Act s42)."""
        day = self.day
        person = day.people.adult(65, 95) if day.chance(0.6) else day.people.adult(25, 60)
        concern = day.rng.choice(list(_ADULT_CONCERNS))
        notice = _Notice(
            "adult_at_risk",
            day.pick({"standard": 0.5, "medium": 0.5}),
            [person_entry(person, "victim")],
            _ADULT_CONCERNS[concern],
            self._grounds("not_asked", S42, "cannot_be_given"),
            (concern,),
        )
        return self._draft(
            notice, label="police adult at risk", kind="adult-at-risk", expect="adult-services"
        )

    def person_posing_risk(self) -> Draft:
        """A person posing risk to children, with no child identified: information only."""
        day = self.day
        notice = _Notice(
            "person_posing_risk",
            day.pick({"standard": 0.6, "medium": 0.4}),
            [person_entry(day.people.adult(25, 70, nhs=False), "person_causing_harm")],
            "Registered offender seen near a play area; no child identified, information only.",
            self._grounds("not_asked", S11),
        )
        return self._draft(
            notice,
            label="police person posing risk, no child identified",
            kind="person-posing-risk",
            expect="record-only",
        )

    def lado(self, *, with_child: bool) -> Draft:
        """An allegation against a person who works with children: to the LADO."""
        day = self.day
        worker = day.people.adult(24, 60, nhs=False)
        persons = [person_entry(worker, "professional_subject", works_with_children=True)]
        concerns: tuple[str, ...] = ("allegation_against_professional",)
        answer = "not_asked"
        if with_child:
            home = day.people.household(1, youngest=6, eldest=15)
            answer = self._answer(0.7, 0.0)
            persons.insert(0, person_entry(home.children[0], "child"))
            persons.append(person_entry(home.carer, "parent_carer", consent_to_share=answer))
            concerns += ("physical_abuse",)
        summary = (
            "Parent reports a sports coach grabbed their child by the arm, leaving a mark."
            if with_child
            else "Youth worker arrested for an offence unrelated to work; no child identified."
        )
        notice = _Notice("other", "medium", persons, summary, self._grounds(answer, S11), concerns)
        return self._draft(
            notice,
            label="police LADO allegation, " + ("child named" if with_child else "no child named"),
            kind="lado",
            expect="lado",
        )


def below_harm(*, significant: bool, consent: bool) -> str:
    """Where a concern about a child goes with no history (DESIGN.md section 8, r1, r6).

    The MASH on significant harm; else early help with consent; else back to the sender.
    """
    if significant:
        return "mash"
    return "early-help" if consent else "returned"


def _da_summary(children: str, count: int, level: str) -> str:
    them = "The child was" if count == 1 else "The children were"
    who = {
        "present": f"{them} in the house at the time.",
        "not present": f"{them} staying with a grandparent at the time.",
    }.get(children, "No children live at or were at the address.")
    what = {
        "standard": "Verbal argument between partners; no injuries or offences disclosed.",
        "medium": "Argument became physical; the victim was pushed and has a bruised arm.",
        "high": "Victim reports being held by the throat and threatened with a knife.",
    }[level]
    return f"{what} {who}"
