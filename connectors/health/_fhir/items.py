"""The safeguarding content of a message: which resources the hub reads, and how.

================================  =============================================
resource                          read as
================================  =============================================
Flag                              a concern, unless a national flag without
                                  safeguarding content (:mod:`.national`); a CP-IS
                                  flag also reports its plan
ServiceRequest, Communication     a concern; in a BaRS message the ServiceRequest
                                  is the clinical referral, and is not
CarePlan, CareTeam                a CP-IS plan when its category says so
AuditEvent                        a CP-IS access notification
================================  =============================================
"""

from __future__ import annotations

import dataclasses

from fhir.resources.R4B.flag import Flag

from connectors.health._fhir.concern import ConcernFacts, read_concern
from connectors.health._fhir.cpis import flag_plans, plan_type, read_access, read_plan
from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located, Message
from connectors.health._fhir.national import FlagRole, flag_role, is_bars
from connectors.health.format import CONCERN_TYPES

ITEM_TYPES = (*CONCERN_TYPES, "CarePlan", "CareTeam", "AuditEvent")
"""Resources that may carry safeguarding content."""


def read_items(message: Message, ledger: Ledger) -> list[ConcernFacts]:
    """Every item of safeguarding content in the message, in document order."""
    bars = is_bars(message)
    items: list[ConcernFacts] = []
    for located in message.of_type(*ITEM_TYPES):
        item = _read(located, message, ledger, bars=bars)
        if item is not None:
            items.append(item)
    return items


def _read(located: Located, message: Message, ledger: Ledger, *, bars: bool) -> ConcernFacts | None:
    resource = located.resource
    if located.type in {"CarePlan", "CareTeam"}:
        return read_plan(located, message, ledger) if plan_type(located) else None
    if located.type == "AuditEvent":
        return read_access(located, message, ledger)
    if bars and located.type == "ServiceRequest":
        return None
    role = flag_role(resource) if isinstance(resource, Flag) else FlagRole.OWN
    if role is FlagRole.IGNORED:
        return None
    item = read_concern(located, message, ledger)
    if role is FlagRole.CPIS:
        item = dataclasses.replace(item, plans=flag_plans(located, message, ledger))
    return item
