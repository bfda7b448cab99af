"""Housing duty-to-refer referrals and DASH checklists, as their senders write them.

The shapes follow ``docs/formats/housing.md`` and ``docs/formats/domestic-abuse.md``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.demo.people import Person
from hub.demo.police import local_time

DASH_QUESTIONS = 24
CHILD_CONTACT, PREGNANCY = 7, 9
"""DASH questions that only apply with children (q7) or a pregnancy or baby (q9)."""


@dataclass(frozen=True)
class ReferringBody:
    """A public authority under the duty to refer, and its worker."""

    name: str
    org_code: str
    authority_type: str
    worker: str
    role: str
    email: str


@dataclass(frozen=True)
class HousingCase:
    """What the referrer agreed with the person: where, why, and who else is in the home."""

    authority: tuple[str, str]
    """The chosen housing authority's name and GSS code."""
    reason: str
    phone: str
    expected_homeless_on: date | None = None
    household: tuple[tuple[Person, str], ...] = ()
    """Other members of the household, with their relationship to the applicant."""
    concerns: tuple[str, ...] = ()
    notes: str | None = None
    shares_contact_details: bool = True


def duty_to_refer(
    *,
    reference: str,
    referred_at: datetime,
    body: ReferringBody,
    applicant: Person,
    case: HousingCase,
) -> dict[str, Any]:
    """A duty-to-refer referral document."""
    document: dict[str, Any] = {
        "reference": reference,
        "referred_at": local_time(referred_at),
        "system": "ALERT",
        "referring_body": {
            "name": body.name,
            "org_code": body.org_code,
            "authority_type": body.authority_type,
            "contact": {"name": body.worker, "role": body.role, "email": body.email},
        },
        "applicant": {
            "given_name": applicant.given_name,
            "family_name": applicant.family_name,
            "date_of_birth": _day(applicant.date_of_birth),
            "nhs_number": applicant.nhs_number,
            "address": applicant.address,
            "postcode": applicant.postcode,
            "contact": {"phone": case.phone, "safe_to_leave_message": True},
        },
        "consent_to_refer": True,
        "consent_to_share_contact_details": case.shares_contact_details,
        "chosen_authority": {"name": case.authority[0], "code": case.authority[1]},
        "reason": case.reason,
        "expected_homeless_on": _day(case.expected_homeless_on),
        "household": [_member(person, relation) for person, relation in case.household] or None,
        "safeguarding_concerns": list(case.concerns) or None,
        "notes": case.notes,
    }
    return _dropped_empty(document)


def _member(person: Person, relationship: str) -> dict[str, Any]:
    return _dropped_empty(
        {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "date_of_birth": _day(person.date_of_birth),
            "relationship": relationship,
            "nhs_number": person.nhs_number,
        }
    )


# ---------------------------------------------------------------------- DASH


def dash_answers(
    rng: random.Random, score: int, *, children: bool, pregnancy: bool
) -> dict[str, str]:
    """Answers to the 24 questions with exactly ``score`` yeses.

    Questions about child contact and pregnancy are only answered yes when they apply;
    some others are ``not_known``, as a victim often cannot say.
    """
    eligible = [
        q
        for q in range(1, DASH_QUESTIONS + 1)
        if (q != CHILD_CONTACT or children) and (q != PREGNANCY or pregnancy)
    ]
    yes = set(rng.sample(eligible, min(score, len(eligible))))
    unknown_share = 0.1
    return {
        f"q{q}": "yes" if q in yes else ("not_known" if rng.random() < unknown_share else "no")
        for q in range(1, DASH_QUESTIONS + 1)
    }


@dataclass(frozen=True)
class DashChild:
    """A child in the victim's or the abuser's household, and what they saw."""

    person: Person
    present: bool
    witnessed: bool


@dataclass(frozen=True)
class DashCase:
    """The people and the consent position of one checklist."""

    victim: Person
    harm: Person | None
    children: tuple[DashChild, ...]
    consent: dict[str, str]
    harm_works_with_children: bool = False
    judgement: str | None = None
    """The assessor's rationale when they judge the risk high whatever the score."""


def dash_assessment(
    *,
    reference: str,
    org_code: str,
    assessed_at: datetime,
    incident_at: datetime,
    assessor: str,
    answers: dict[str, str],
    case: DashCase,
    service_grade: str | None,
    narrative: str,
) -> dict[str, Any]:
    """A completed DASH risk checklist document."""
    harm = case.harm
    document: dict[str, Any] = {
        "reference": reference,
        "org_code": org_code,
        "system": "DA case system",
        "assessed_at": local_time(assessed_at),
        "incident_at": local_time(incident_at),
        "assessor": assessor,
        "answers": answers,
        "service_grade": service_grade,
        "professional_judgement": _dropped_empty(
            {"high": case.judgement is not None, "rationale": case.judgement}
        ),
        "victim": _adult(case.victim),
        "person_causing_harm": (
            _adult(harm) | {"works_with_children": case.harm_works_with_children} if harm else None
        ),
        "children": [_child(child) for child in case.children] or None,
        "consent": case.consent,
        "narrative": narrative,
    }
    return _dropped_empty(document)


def _adult(person: Person) -> dict[str, Any]:
    return _dropped_empty(
        {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "date_of_birth": _day(person.date_of_birth),
            "nhs_number": person.nhs_number,
            "address": person.address,
            "postcode": person.postcode,
        }
    )


def _child(child: DashChild) -> dict[str, Any]:
    person = child.person
    return _dropped_empty(
        {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "date_of_birth": _day(person.date_of_birth),
            "nhs_number": person.nhs_number,
            "school_urn": person.school_urn,
            "present": child.present,
            "witnessed": child.witnessed,
            "injured": False,
            "resides_at_address": True,
        }
    )


def _dropped_empty(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if value is not None}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None
