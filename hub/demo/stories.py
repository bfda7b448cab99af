"""People who come back during the day, so the hub's per-subject history matters.

- **Repeat children**, in turn:
  1. a teenager reported missing overnight, seen at the emergency department in the
     day with signs of exploitation, then the subject of a police concern later on;
  2. a young child the police find neglected in the morning and a health visitor or GP
     refers in the afternoon;
  3. a household with two domestic-abuse incidents, the second worse, children present.
- **Siblings**: two children at one address: the police raise a concern about the
  elder, a health visitor or GP about the younger, then the police about the elder
  again: the elder's second message shows both earlier contacts in its chronology, the
  sibling's marked *household* (DESIGN.md section 16).
- **Pairs**: the police and the DA service report the same incident: the police
  notification first, then the DA service's DASH checklist later in the day for the
  same victim, children and person causing harm, with the same incident time.

Every person in a story has an NHS number, so each partner's message keys them alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hub.demo.concerns import HealthDesk
from hub.demo.day import OFFICE_HOURS, POLICE_HOURS, Day, Draft
from hub.demo.notices import PoliceDesk
from hub.demo.people import Household
from hub.demo.referrals import DomesticAbuseService

NIGHT_HOURS = (4, 4, 3, 3, 2, 1, *(0,) * 18)
"""Early hours only: 00:00 to 05:59."""
STORY_KINDS = 3
PAIR_SCORE = (14, 18)


def stories(day: Day, count: int) -> list[Draft]:
    """``count`` repeat children, cycling through the three stories."""
    drafts: list[Draft] = []
    for index in range(count):
        story = (_teenager, _young_child, _da_household)[index % STORY_KINDS]
        told = story(day)
        drafts += _numbered(told, f"repeat child R{index + 1}")
    return drafts


def siblings(day: Day, count: int) -> list[Draft]:
    """``count`` households whose two children are each reported: a chronology with siblings."""
    drafts: list[Draft] = []
    for index in range(count):
        home = day.people.household(2, youngest=1, eldest=12, nhs_share=1.0)
        elder = Household(home.adults, home.children[:1])
        younger = Household(home.adults, home.children[1:2])
        first_at = day.at(OFFICE_HOURS)
        second_at = day.later(first_at, 60, 3 * 60)
        police = PoliceDesk(day)
        told = [
            police.child_concern(household=elder, concern="neglect", sent_at=first_at),
            HealthDesk(day).child_concern(household=younger, concern="neglect", sent_at=second_at),
            police.child_concern(
                household=elder, concern="neglect", sent_at=day.later(second_at, 60, 3 * 60)
            ),
        ]
        drafts += _numbered(told, f"siblings S{index + 1}")
    return drafts


def pairs(day: Day, count: int) -> list[Draft]:
    """``count`` incidents reported by both the police and the DA service."""
    drafts: list[Draft] = []
    for index in range(count):
        home = day.people.household(day.rng.randint(1, 2), youngest=2, eldest=15, nhs_share=1.0)
        harm = day.people.adult(22, 55)
        police = PoliceDesk(day).domestic_abuse(
            "present", household=home, harm=harm, level="medium", sent_at=day.at(POLICE_HOURS)
        )
        occurred = datetime.fromisoformat(police.document["occurred_at"])
        dash = DomesticAbuseService(day).assessment(
            household=home,
            harm=harm,
            score=day.rng.randint(*PAIR_SCORE),
            incident_at=occurred,
            after=police.sent_at,
            present=True,
        )
        tag = f"same incident P{index + 1}, police and DA service"
        drafts += [_tagged(police, tag), _tagged(dash, tag)]
    return drafts


def _teenager(day: Day) -> list[Draft]:
    home = day.people.household(1, youngest=13, eldest=16, nhs_share=1.0)
    missing_at = day.at(NIGHT_HOURS)
    hospital_at = day.later(missing_at, 6 * 60, 10 * 60)
    concern_at = day.later(hospital_at, 2 * 60, 6 * 60)
    police = PoliceDesk(day)
    return [
        police.missing(child=True, household=home, sent_at=missing_at),
        HealthDesk(day).hospital(
            household=home, concern="child_sexual_exploitation", sent_at=hospital_at
        ),
        police.child_concern(household=home, concern="self_harm", sent_at=concern_at),
    ]


def _young_child(day: Day) -> list[Draft]:
    home = day.people.household(1, youngest=1, eldest=9, nhs_share=1.0)
    police_at = day.at(OFFICE_HOURS)
    return [
        PoliceDesk(day).child_concern(household=home, concern="neglect", sent_at=police_at),
        HealthDesk(day).child_concern(
            household=home, concern="neglect", sent_at=day.later(police_at, 2 * 60, 6 * 60)
        ),
    ]


def _da_household(day: Day) -> list[Draft]:
    home = day.people.household(day.rng.randint(1, 3), youngest=0, eldest=14, nhs_share=1.0)
    harm = day.people.adult(22, 55)
    first_at = day.at(NIGHT_HOURS)
    police = PoliceDesk(day)
    return [
        police.domestic_abuse(
            "present", household=home, harm=harm, level="standard", sent_at=first_at
        ),
        police.domestic_abuse(
            "present",
            household=home,
            harm=harm,
            level="medium",
            sent_at=day.later(first_at, 10 * 60, 16 * 60),
        ),
    ]


def _numbered(told: list[Draft], tag: str) -> list[Draft]:
    """One story's drafts, each tagged ``<tag>, <n> of <count>``."""
    return [_tagged(draft, f"{tag}, {n} of {len(told)}") for n, draft in enumerate(told, start=1)]


def _tagged(draft: Draft, tag: str) -> Draft:
    return replace(draft, label=f"{draft.label} [{tag}]", spare=False)
