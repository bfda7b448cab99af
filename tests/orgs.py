"""The organisation codes test credentials are bound to: every code the tests send as.

A partner credential lists the organisations it may send as (DESIGN.md section 14).
Test helpers bind each partner's credential to the demo county's organisations and to
the codes of the test documents (tests/data, docs/formats/examples, the factories).
"""

from __future__ import annotations

from hub.demo.orgs import PARTNER_ORGS
from schemas.common import Partner

_TEST_DOCUMENTS: dict[Partner, tuple[str, ...]] = {
    Partner.POLICE: ("47",),
    # UNKNOWN: what the health connector records when a document names no sender.
    Partner.HEALTH: ("RND", "X99ZZ", "A3E5I7", "UNKNOWN"),
    Partner.HOUSING: ("PDU-TS1", "YOT-TS", "RB-TS1"),
    Partner.DOMESTIC_ABUSE: ("DAS-TS",),
}

TEST_ORGS: dict[Partner, tuple[str, ...]] = {
    p: tuple(dict.fromkeys((*PARTNER_ORGS[p], *_TEST_DOCUMENTS[p]))) for p in Partner
}
"""Per partner, every organisation code the tests send as."""


def org_args(partner: Partner) -> list[str]:
    """``--org CODE`` for each of ``partner``'s test organisations (``hub partners add``)."""
    return [arg for code in TEST_ORGS[partner] for arg in ("--org", code)]
