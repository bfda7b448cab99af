"""The organisation codes each demo partner sends as: its credentials are bound to them.

A partner credential lists the organisations it may send as (DESIGN.md section 14);
the demo issues one per partner, bound to every organisation of that partner in its
synthetic county.
"""

from __future__ import annotations

from hub.demo.concerns import (
    GP,
    HEALTH_VISITING,
    HOSPITAL,
    MATERNITY,
    NHS_111,
    SCHOOL_NURSING,
    URGENT_CARE,
)
from hub.demo.notices import FORCES
from hub.demo.referrals import ADULT_REFERRERS, DA_SERVICE, YOUNG_REFERRERS
from schemas.common import Partner

HEALTH_SENDERS = (GP, HEALTH_VISITING, SCHOOL_NURSING, HOSPITAL, MATERNITY, URGENT_CARE, NHS_111)

PARTNER_ORGS: dict[Partner, tuple[str, ...]] = {
    Partner.POLICE: tuple(FORCES),
    Partner.HEALTH: tuple(s.ods_code for s in HEALTH_SENDERS),
    Partner.HOUSING: tuple(b.org_code for b in (*ADULT_REFERRERS, *YOUNG_REFERRERS)),
    Partner.DOMESTIC_ABUSE: (DA_SERVICE,),
}
"""Every organisation code the demo's traffic is sent as, per partner."""
