"""A realistic day of synthetic partner traffic, as the partners' native request bodies.

:func:`generate_day` writes what the four partners would post to the hub in one day of
a county's life, for the demo command and benchmarks: police notifications (JSON, and
a CSV batch export), health concerns (FHIR R4 message Bundles, mostly JSON, some XML),
housing duty-to-refer referrals and DASH checklists. Requests come in the order they
are sent, across the day from 00:00 to 24:00 Europe/London; an incident may have
happened the evening before its notification.

**How much.** ``scale=1.0`` is a county-sized day: 356 contacts (derived in
:mod:`hub.demo.volume` from the DfE referral count for Surrey, 2025, and West Sussex's
ratio of MASH contacts to referrals), 56% of them police. At that scale:

- police: 199 notifications; about 56% involve no child (incidents between adults,
  adults at risk, missing adults, information about offenders) and most of the rest
  are standard risk; 30% are domestic abuse, half of those with a child present;
  a few missing children, two allegations for the LADO; six low-level notifications
  arrive together in the force's CSV export early in the morning;
- health: 93 concerns from GPs, health visitors, school nurses and the emergency
  department, some as active flags of harm; the GP practice's system sends FHIR XML;
  among them NHS England's national shapes: CP-IS flags with their plans, CP-IS
  notifications that a child with a plan was seen in unscheduled care, and NHS 111's
  BaRS referrals carrying a safeguarding flag;
- domestic abuse: 43 DASH checklists, about a quarter scoring 14 or more;
- housing: 21 duty-to-refer referrals, some for 16- and 17-year-olds.

**History.** Three children appear two or three times in the day (a teenager missing
overnight, then at the emergency department, then in a police concern; a young child
known to police and health; a household with two DA incidents), and the police and
the DA service both report one incident, so the hub's per-subject history matters.

**Quality.** Five requests must be refused with 422 (a police notification shared
without consent that gives no reason or gateway, an unknown risk grade, a health
Consent refused with no reason recorded, a housing referral without consent to share
contact details, a DASH refused without a gateway); four carry findings but are
accepted (two children without a date of birth, two NHS numbers failing modulus 11);
two requests are exact resends of an earlier one. Counts scale with ``scale`` and
round, so a small day may have none of a rare kind.

Everyone is synthetic (:mod:`hub.demo.people`). The same day, seed and scale always
give the same bytes.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import date, datetime
from functools import partial
from typing import TypeVar

from connectors.registry import connector_for
from hub.demo.concerns import HealthDesk
from hub.demo.day import Day, Draft
from hub.demo.fhir import xml_body
from hub.demo.notices import PoliceDesk
from hub.demo.police import csv_batch
from hub.demo.quality import INVALID, RESEND, spoil
from hub.demo.referrals import DomesticAbuseService, HousingDesk
from hub.demo.stories import pairs, siblings, stories
from hub.demo.volume import CONTACTS_PER_DAY, PARTNER_SHARES
from schemas.common import Partner


@dataclass(frozen=True)
class PartnerRequest:
    """One HTTP request a partner makes: where, what, and what the hub should do with it."""

    partner: Partner
    path: str
    """The connector's endpoint (its ``http_path``)."""
    content_type: str
    body: bytes
    label: str
    """What it is, for people: ``police DA notification, child present, medium``."""
    expect: str | None = None
    """An area the default policy routes it to with no prior history, when certain."""
    _: KW_ONLY
    kind: str
    """What it is, for counting: ``da-present``, ``csv-batch``, ``invalid``, ``resend``."""
    sent_at: datetime
    """When the partner sends it (UTC), within the day."""


POLICE_MIX = {
    "no-child": 0.36,
    "da-present": 0.15,
    "da-not-present": 0.045,
    "da-no-child": 0.105,
    "child-concern": 0.20,
    "missing-child": 0.04,
    "missing-adult": 0.015,
    "adult-at-risk": 0.05,
    "person-posing-risk": 0.025,
    "lado": 0.01,
}
HEALTH_MIX = {
    "child-concern": 0.48,
    "ed-concern": 0.20,
    "flag-of-harm": 0.10,
    "adult-concern": 0.07,
    "cpis-flag": 0.04,
    "cpis-access": 0.06,
    "bars": 0.05,
}
HOUSING_MIX = {"single": 0.55, "family": 0.30, "young-person": 0.15}
MIXES: dict[Partner, dict[str, float]] = {
    Partner.POLICE: POLICE_MIX,
    Partner.HEALTH: HEALTH_MIX,
    Partner.HOUSING: HOUSING_MIX,
    Partner.DOMESTIC_ABUSE: {"dash": 1.0},
}
"""Each partner's contacts by kind (assumptions; see the module docstring)."""

PER_COUNTY_DAY = {
    "stories": 3,
    "siblings": 1,
    "pairs": 1,
    INVALID: 5,
    "undated": 2,
    "bad_nhs": 2,
    RESEND: 2,
    "batches": 1,
}
"""The special cases of a county-sized day; they scale with ``scale`` too."""

BATCH = "csv-batch"
BATCH_SIZE = 6
BATCHABLE = frozenset({"no-child", "da-no-child", "adult-at-risk", "missing-adult"})
"""Police kinds a force exports in its CSV batch: notifications about adults only."""
EXPORT_HOURS = (*(0,) * 6, 1, 1, 1, *(0,) * 15)
"""The force's export of the night's notifications runs between 06:00 and 08:59."""

K = TypeVar("K")


def generate_day(day: date, *, seed: int = 7, scale: float = 1.0) -> list[PartnerRequest]:
    """Every request of one synthetic day, in the order they are sent.

    Raises:
        ValueError: ``scale`` is not a positive number.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    state = Day(day, seed)
    special = {name: round(count * scale) for name, count in PER_COUNTY_DAY.items()}
    drafts = (
        stories(state, special["stories"])
        + siblings(state, special["siblings"])
        + pairs(state, special["pairs"])
    )
    used = Counter((d.partner, d.kind) for d in drafts)
    make = _makers(state)
    for (partner, kind), count in plan(scale).items():
        drafts += [make[partner, kind]() for _ in range(count - used[partner, kind])]
    drafts = spoil(state, drafts, special)
    drafts, batches = _batched(state, drafts, special["batches"])
    requests = [_request(d) for d in drafts] + batches
    return sorted(requests, key=lambda r: r.sent_at)


def summarise(requests: Iterable[PartnerRequest]) -> dict[str, int]:
    """Counts for the demo's printout: ``requests``, each partner, and ``partner/kind``."""
    requests = list(requests)
    by_partner = Counter(r.partner for r in requests)
    by_kind = Counter(f"{r.partner.value}/{r.kind}" for r in requests)
    counts = {"requests": len(requests)}
    counts |= {p.value: by_partner[p] for p in Partner if by_partner[p]}
    counts |= dict(sorted(by_kind.items()))
    return counts


def plan(scale: float) -> dict[tuple[Partner, str], int]:
    """Contacts by partner and kind at ``scale``, rounded so the parts make the whole."""
    contacts = round(CONTACTS_PER_DAY * scale)
    shares = {Partner(name): share for name, share in PARTNER_SHARES.items()}
    counts: dict[tuple[Partner, str], int] = {}
    for partner, total in _allocate(contacts, shares).items():
        for kind, count in _allocate(total, MIXES[partner]).items():
            counts[partner, kind] = count
    return counts


def _allocate(total: int, weights: Mapping[K, float]) -> dict[K, int]:
    """Split ``total`` in proportion to ``weights``: largest remainders, ties in order."""
    whole = sum(weights.values())
    exact = {key: total * weight / whole for key, weight in weights.items()}
    counts = {key: math.floor(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: counts[key] - exact[key])
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def _makers(state: Day) -> dict[tuple[Partner, str], Callable[[], Draft]]:
    police, health, housing = PoliceDesk(state), HealthDesk(state), HousingDesk(state)
    makers: dict[tuple[Partner, str], Callable[[], Draft]] = {
        (Partner.POLICE, "no-child"): police.no_child,
        (Partner.POLICE, "da-present"): lambda: police.domestic_abuse("present"),
        (Partner.POLICE, "da-not-present"): lambda: police.domestic_abuse("not present"),
        (Partner.POLICE, "da-no-child"): lambda: police.domestic_abuse("none"),
        (Partner.POLICE, "child-concern"): police.child_concern,
        (Partner.POLICE, "missing-child"): lambda: police.missing(child=True),
        (Partner.POLICE, "missing-adult"): lambda: police.missing(child=False),
        (Partner.POLICE, "adult-at-risk"): police.adult_at_risk,
        (Partner.POLICE, "person-posing-risk"): police.person_posing_risk,
        (Partner.POLICE, "lado"): lambda: police.lado(with_child=state.chance(0.5)),
        (Partner.HEALTH, "child-concern"): health.child_concern,
        (Partner.HEALTH, "ed-concern"): health.hospital,
        (Partner.HEALTH, "flag-of-harm"): health.flag_of_harm,
        (Partner.HEALTH, "adult-concern"): health.adult,
        (Partner.HEALTH, "cpis-flag"): health.cpis_flag,
        (Partner.HEALTH, "cpis-access"): health.cpis_access,
        (Partner.HEALTH, "bars"): health.bars_referral,
        (Partner.DOMESTIC_ABUSE, "dash"): DomesticAbuseService(state).assessment,
    }
    for kind in HOUSING_MIX:
        makers[Partner.HOUSING, kind] = partial(housing.referral, kind)
    return makers


# ---------------------------------------------------------------------- bytes


def _batched(
    state: Day, drafts: list[Draft], count: int
) -> tuple[list[Draft], list[PartnerRequest]]:
    """Move notifications about adults into ``count`` early-morning CSV exports."""
    batches: list[PartnerRequest] = []
    for _ in range(count):
        export_at = state.at(EXPORT_HOURS)
        candidates = [
            d
            for d in drafts
            if d.partner is Partner.POLICE
            and d.spare
            and d.kind in BATCHABLE
            and d.sent_at < export_at
        ]
        chosen = state.rng.sample(candidates, min(BATCH_SIZE, len(candidates)))
        if not chosen:
            break
        chosen.sort(key=lambda d: d.sent_at)  # the export lists them as they were made
        drafts = [d for d in drafts if all(d is not c for c in chosen)]
        kinds = ", ".join(f"{n} {k}" for k, n in Counter(d.kind for d in chosen).items())
        batches.append(
            PartnerRequest(
                Partner.POLICE,
                connector_for(Partner.POLICE).http_path,
                "text/csv; charset=utf-8",
                csv_batch(d.document for d in chosen),
                f"police CSV batch, {len(chosen)} notifications ({kinds})",
                kind=BATCH,
                sent_at=export_at,
            )
        )
    return drafts, batches


def _request(draft: Draft) -> PartnerRequest:
    if draft.xml:
        content_type, body = "application/fhir+xml; fhirVersion=4.0", xml_body(draft.document)
    else:
        json_type = (
            "application/fhir+json" if draft.partner is Partner.HEALTH else "application/json"
        )
        content_type, body = json_type, json.dumps(draft.document, ensure_ascii=False).encode()
    return PartnerRequest(
        draft.partner,
        connector_for(draft.partner).http_path,
        content_type,
        body,
        draft.label,
        draft.expect,
        kind=draft.kind,
        sent_at=draft.sent_at,
    )
