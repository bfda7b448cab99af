"""How much partner traffic a county-sized day carries, and where each figure comes from.

**Referrals.** The Department for Education's "Children in need" statistics (table c1,
``c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv``, OGL v3; see
``shared/data/dfe-childrens-social-care/SOURCES.md``) give **Surrey** (new LA code
``E10000030``, old code 936) **10,284 referrals** in its latest reporting year, **2025**
(1 April 2024 to 31 March 2025): 28.2 referrals a day. Surrey is the county whose MASH
police triage (SCARF; Red, Amber, Green, Blue) ``reference/domain.md`` section 1.3
describes, and its force (code 45) grades that way.

**Contacts.** A MASH receives several times more *contacts* (calls, emails, police
notifications) than it accepts as referrals. The one published pair of figures for one
county in the same year is West Sussex, Surrey's neighbour: about **10,000 contacts a
month** in 2019 (``reference/domain.md`` section 1.4, a councillor's blog, May 2019)
against **9,490 referrals** in the 2019 reporting year (the same DfE table, ``E10000032``):
12.6 contacts per referral. Applied to Surrey's referrals that is **356 contacts a day**,
the volume of ``scale=1.0``. Surrey's referrals vary a lot between years (7,682 in 2024),
so the day is a plausible order of magnitude, not a forecast.

**Police.** Police are the largest source of referrals (28% in England,
``reference/domain.md`` section 0), and of contacts far more: every notification counts,
and many are about incidents with no child, or at low risk (DESIGN.md section 1,
problem 1). The day gives police 56% of contacts; the other shares are this module's
assumptions, not sourced figures.

:func:`read_referrals` recomputes the DfE figures from the CSV (a test does, when the
shared data is present); at run time the hub only uses the constants.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DFE_FILE = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
"""The DfE table the figures come from, in ``shared/data/dfe-childrens-social-care/``."""

DAYS_PER_YEAR = 365
"""Days in a DfE reporting year (1 April to 31 March; neither 2019 nor 2025 had 29 February)."""

COUNTY = "Surrey"
COUNTY_CODE = "E10000030"
COUNTY_YEAR = 2025
COUNTY_REFERRALS = 10_284
"""Surrey's referrals in the 2025 reporting year (DfE c1, ``referral_count``)."""

RATIO_COUNTY = "West Sussex"
RATIO_CODE = "E10000032"
RATIO_YEAR = 2019
RATIO_REFERRALS = 9_490
"""West Sussex's referrals in the 2019 reporting year (DfE c1, ``referral_count``)."""
RATIO_CONTACTS_PER_MONTH = 10_000
"""West Sussex MASH contacts a month in 2019 (``reference/domain.md`` section 1.4)."""

MONTHS_PER_YEAR = 12
CONTACTS_PER_REFERRAL = RATIO_CONTACTS_PER_MONTH * MONTHS_PER_YEAR / RATIO_REFERRALS
"""12.6: MASH contacts for every referral (West Sussex, 2019)."""

REFERRALS_PER_DAY = COUNTY_REFERRALS / DAYS_PER_YEAR
"""28.2 referrals a day in Surrey (2025)."""

CONTACTS_PER_DAY = round(REFERRALS_PER_DAY * CONTACTS_PER_REFERRAL)
"""356 contacts a day: the volume of a county-sized day (``scale=1.0``)."""

PARTNER_SHARES: dict[str, float] = {
    "police": 0.56,
    "health": 0.26,
    "domestic-abuse": 0.12,
    "housing": 0.06,
}
"""Each partner's share of contacts. Police: the largest source (see the module
docstring). The others are assumptions, not sourced: health about half the police's
share, then DA services' DASH checklists, then housing duty-to-refer referrals."""

SUPPRESSION_SYMBOLS = frozenset({"c", "x", "u", "z", "low", ":", "-", ""})
"""DfE cells that are not numbers: c confidential, x not available, u low reliability,
z not applicable, and blanks."""


@dataclass(frozen=True)
class Referrals:
    """One local authority's referrals in one reporting year, as the DfE published them."""

    la_code: str
    la_name: str
    year: int
    referrals: int | None
    """None when the cell is suppressed (c, x, u, ...)."""


def count_cell(cell: str) -> int | None:
    """A DfE count cell as a number, or None for a suppression symbol.

    Raises:
        ValueError: the cell is neither a whole number nor a known symbol.
    """
    text = cell.strip().replace(",", "")
    if text.lower() in SUPPRESSION_SYMBOLS:
        return None
    if not text.isdigit():
        raise ValueError(f"not a count or a DfE suppression symbol: {cell!r}")
    return int(text)


def read_referrals(path: Path, la_code: str) -> list[Referrals]:
    """Every reporting year of one local authority in the DfE c1 table, latest first."""
    found: list[Referrals] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["geographic_level"] != "Local authority" or row["new_la_code"] != la_code:
                continue
            found.append(
                Referrals(
                    la_code=la_code,
                    la_name=row["la_name"],
                    year=int(row["time_period"]),
                    referrals=count_cell(row["referral_count"]),
                )
            )
    return sorted(found, key=lambda r: r.year, reverse=True)


def latest_referrals(path: Path, la_code: str) -> Referrals:
    """The latest reporting year of one local authority with a published count.

    Raises:
        LookupError: the table has no published count for the authority.
    """
    for referrals in read_referrals(path, la_code):
        if referrals.referrals is not None:
            return referrals
    raise LookupError(f"no published referral count for {la_code} in {path.name}")
