"""Realistic quality problems at a low rate: refused requests, findings and resends.

Each problem takes an ordinary request of the day (never one of a story or pair) and
changes it the way partners' systems get it wrong:

- **Refused (422)**, in turn: a police notification shared without consent that
  gives no reason or gateway; a police notification with an unknown risk grade
  (``Moderate``); a health Consent rejected with no reason recorded (a clinician who
  shares against a refusal must say why); a housing referral where the person did
  not agree to share their contact details; a DASH checklist refused without a
  statutory gateway.
- **Accepted with findings**: a police concern about a child without a date of birth;
  an NHS number whose check digit fails (in the 999 range), alternately in a health
  Patient and a DASH victim.
- **Resends**: the same request again, byte for byte, minutes later.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from hub.demo.day import Day, Draft
from hub.demo.fhir import NHS_NUMBER_SYSTEM
from schemas.common import Partner

INVALID = "invalid"
RESEND = "resend"

Change = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Defect:
    """A mistake that makes the connector refuse the request."""

    partner: Partner
    kinds: frozenset[str]
    """The kinds of request it can happen to; empty for any."""
    description: str
    change: Change


def _no_consent_grounds(document: dict[str, Any]) -> None:
    document.pop("consent", None)
    for person in document["persons"]:
        person["consent_to_share"] = "not_asked"


def _unknown_grade(document: dict[str, Any]) -> None:
    document["risk_grade"] = "Moderate"


def _refused_without_reason(bundle: dict[str, Any]) -> None:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Consent":
            resource.pop("extension", None)
            resource.pop("provision", None)
            resource["status"] = "rejected"


def _no_contact_consent(document: dict[str, Any]) -> None:
    document["consent_to_share_contact_details"] = False


def _refused_without_gateway(document: dict[str, Any]) -> None:
    document["consent"] = {"status": "refused", "no_consent_reason": "would_prejudice_protection"}


DEFECTS = (
    Defect(
        Partner.POLICE,
        frozenset({"no-child"}),
        "police notification shared without consent, with no reason or gateway",
        _no_consent_grounds,
    ),
    Defect(
        Partner.POLICE,
        frozenset({"child-concern"}),
        "police notification with an unknown risk grade",
        _unknown_grade,
    ),
    Defect(
        Partner.HEALTH,
        frozenset({"child-concern"}),
        "health Consent rejected with no reason for sharing",
        _refused_without_reason,
    ),
    Defect(
        Partner.HOUSING,
        frozenset(),
        "housing referral without consent to share contact details",
        _no_contact_consent,
    ),
    Defect(
        Partner.DOMESTIC_ABUSE,
        frozenset(),
        "DASH refused without a statutory gateway",
        _refused_without_gateway,
    ),
)


BAD_NHS_TARGETS = ((Partner.HEALTH, "child-concern"), (Partner.DOMESTIC_ABUSE, "dash"))
"""Where mistyped NHS numbers turn up, in turn: a health Patient, a DASH victim."""


def spoil(day: Day, drafts: list[Draft], counts: Mapping[str, int]) -> list[Draft]:
    """The day's drafts with ``counts`` of each problem (``invalid``, ``undated``, ...)."""
    drafts = list(drafts)
    for index in range(counts[INVALID]):
        defect = DEFECTS[index % len(DEFECTS)]
        _change_one(day, drafts, partial(_fits, defect), _refused(defect))
    undated = _finding("child without date of birth", _undated)
    for _ in range(counts["undated"]):
        _change_one(day, drafts, _is(Partner.POLICE, "child-concern"), undated)
    for index in range(counts["bad_nhs"]):
        partner, kind = BAD_NHS_TARGETS[index % len(BAD_NHS_TARGETS)]
        mistyped = partial(_bad_nhs, number=day.people.bad_nhs_number())
        flawed = _finding("NHS number fails modulus 11", mistyped)
        _change_one(day, drafts, _is(partner, kind), flawed)
    for _ in range(counts[RESEND]):
        _resend_one(day, drafts)
    return drafts


def _is(partner: Partner, kind: str) -> Callable[[Draft], bool]:
    def test(draft: Draft) -> bool:
        return draft.partner is partner and draft.kind == kind

    return test


def _fits(defect: Defect, draft: Draft) -> bool:
    if draft.partner is not defect.partner:
        return False
    if defect.kinds and draft.kind not in defect.kinds:
        return False
    if defect.change is _refused_without_reason:
        return _has_consent(draft.document, "permit")
    return True


def _has_consent(bundle: dict[str, Any], answer: str) -> bool:
    return any(
        entry["resource"]["resourceType"] == "Consent"
        and entry["resource"].get("provision", {}).get("type") == answer
        for entry in bundle["entry"]
    )


def _change_one(
    day: Day,
    drafts: list[Draft],
    eligible: Callable[[Draft], bool],
    change: Callable[[Draft], Draft],
) -> None:
    candidates = [i for i, draft in enumerate(drafts) if draft.spare and eligible(draft)]
    if candidates:
        index = day.rng.choice(candidates)
        drafts[index] = change(drafts[index])


def _changed(draft: Draft, change: Change) -> dict[str, Any]:
    document = copy.deepcopy(draft.document)
    change(document)
    return document


def _refused(defect: Defect) -> Callable[[Draft], Draft]:
    def refuse(draft: Draft) -> Draft:
        return replace(
            draft,
            document=_changed(draft, defect.change),
            label=f"invalid (422): {defect.description}",
            kind=INVALID,
            expect=None,
            spare=False,
        )

    return refuse


def _finding(what: str, change: Change) -> Callable[[Draft], Draft]:
    def flawed(draft: Draft) -> Draft:
        return replace(
            draft,
            document=_changed(draft, change),
            label=f"{draft.label} (finding: {what})",
            spare=False,
        )

    return flawed


def _undated(document: dict[str, Any]) -> None:
    for person in document["persons"]:
        if person["role"] == "child":
            person.pop("date_of_birth", None)


def _bad_nhs(document: dict[str, Any], number: str) -> None:
    if "victim" in document:  # a DASH checklist
        document["victim"]["nhs_number"] = number
        return
    patient = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    patient["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": number}]


def _resend_one(day: Day, drafts: list[Draft]) -> None:
    candidates = [i for i, draft in enumerate(drafts) if draft.spare]
    if not candidates:
        return
    index = day.rng.choice(candidates)
    original = replace(drafts[index], spare=False)
    drafts[index] = original
    drafts.append(
        replace(
            original,
            label=f"resend of: {original.label}",
            kind=RESEND,
            sent_at=day.later(original.sent_at, 5, 90),
        )
    )
