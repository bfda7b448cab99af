"""Concern resources (Flag, ServiceRequest, Communication): what each says, about whom.

Each yields its person, coded concern factors, priority, time, author and text.
Concern factors come from codes of the hub's concern code system
(:data:`~connectors.health.format.CONCERN_SYSTEM`), or SNOMED CT concepts mapped to
them (:data:`~connectors.health.format.SNOMED_CONCERNS`), in the resource's category,
code, reasonCode or topic, and from NHS England's national flags (:mod:`.national`).
An *active* Flag with such a code, and every active national safeguarding flag (CP-IS,
BaRS SG, FGM-IS), is a **flag of harm**: a warning placed on a health record that the
patient is at risk of harm, which the routing policy treats as significant harm
(DESIGN.md section 8, rule 1). A Flag without one (an allergy, a dog at the home) is
still a concern, but not of harm.

A coded concern is safeguarding content, so its subject may be a Patient that is not in
the message (an :class:`~.message.Absent` person); an uncoded one must carry its Patient,
or the hub could not tell a safeguarding concern from any other record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest

from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located, Message, Person
from connectors.health._fhir.national import FlagRole, flag_role, national_concerns
from connectors.health._fhir.values import concept_text, instant
from connectors.health.format import (
    CONCERN_SYSTEM,
    PRIORITY_RISK,
    SNOMED_CONCERNS,
    SNOMED_SYSTEM,
    STATUSES,
)
from schemas.common import Concern
from schemas.envelope import Plan, UnscheduledCareAccess

_CONCERNS = {concern.value: concern for concern in Concern}
_PRIORITIES = ", ".join(PRIORITY_RISK)


@dataclass(frozen=True)
class ConcernFacts:
    """What one item of safeguarding content says (a concern, a CP-IS plan or access)."""

    located: Located
    person: Person | None
    concerns: tuple[Concern, ...]
    harm_flag: bool
    priority: str | None
    time: datetime | None
    texts: tuple[str, ...]
    author: Reference | None
    plans: tuple[Plan, ...] = ()
    """CP-IS: the plans this item reports (a CP-IS flag reports one, perhaps untyped)."""
    access: UnscheduledCareAccess | None = None
    """CP-IS: the access this AuditEvent notifies."""

    @property
    def cpis(self) -> bool:
        """The item is CP-IS information: a plan, a CP-IS flag or an access notification."""
        return bool(self.plans) or self.access is not None


def read_concern(located: Located, message: Message, ledger: Ledger) -> ConcernFacts:
    """Read a Flag, ServiceRequest or Communication, recording what is wrong with it."""
    resource = located.resource
    assert isinstance(resource, Flag | ServiceRequest | Communication)
    _check_status(located, resource.status, ledger)
    if resource.modifierExtension:
        reason = "a modifier extension the hub does not understand: it cannot be read safely"
        ledger.not_supported(f"{located.path}.modifierExtension", reason)
    role = flag_role(resource) if isinstance(resource, Flag) else FlagRole.OWN
    concerns = _coded_concerns(located, ledger)
    national = role is not FlagRole.OWN
    concerns.extend(national_concerns(resource, role) if isinstance(resource, Flag) else ())
    person = message.person(
        resource.subject, located, "subject", ledger, lenient=national or bool(concerns)
    )
    harm_flag = _harm_flag(located, resource, coded=national or bool(concerns), ledger=ledger)
    if harm_flag:
        concerns.append(Concern.HARM_FLAG)
    time_element, time_value = _time(resource)
    return ConcernFacts(
        located=located,
        person=person,
        concerns=tuple(dict.fromkeys(concerns)),
        harm_flag=harm_flag,
        priority=_priority(located, resource, ledger),
        time=instant(time_value, f"{located.path}.{time_element}", ledger),
        texts=_texts(resource),
        author=_author(resource),
    )


def _check_status(located: Located, status: str | None, ledger: Ledger) -> None:
    where = f"{located.path}.status"
    if not status:
        ledger.required(where, "missing")
    elif status not in STATUSES[located.type]:
        ledger.invalid(where, f"{status[:40]!r} is not a {located.type} status")
    elif status == "entered-in-error":
        ledger.invalid(where, "entered-in-error: a record made in error is not a concern")


def _priority(
    located: Located, resource: Flag | ServiceRequest | Communication, ledger: Ledger
) -> str | None:
    if isinstance(resource, Flag) or not resource.priority:
        return None
    if resource.priority not in PRIORITY_RISK:
        message = f"{resource.priority[:40]!r} is not a FHIR request priority ({_PRIORITIES})"
        ledger.invalid(f"{located.path}.priority", message)
        return None
    return resource.priority


def _concepts(located: Located) -> list[tuple[str, CodeableConcept]]:
    """The coded elements that may carry concern codes, by FHIRPath."""
    resource, path = located.resource, located.path
    found = [
        (f"{path}.category[{index}]", concept)
        for index, concept in enumerate(getattr(resource, "category", None) or [])
    ]
    if isinstance(resource, Flag | ServiceRequest) and resource.code:
        found.append((f"{path}.code", resource.code))
    if isinstance(resource, ServiceRequest | Communication):
        found.extend(
            (f"{path}.reasonCode[{index}]", concept)
            for index, concept in enumerate(resource.reasonCode or [])
        )
    if isinstance(resource, Communication) and resource.topic:
        found.append((f"{path}.topic", resource.topic))
    return found


def _coded_concerns(located: Located, ledger: Ledger) -> list[Concern]:
    concerns: list[Concern] = []
    for where, concept in _concepts(located):
        for index, coding in enumerate(concept.coding or []):
            if coding.system == SNOMED_SYSTEM and coding.code in SNOMED_CONCERNS:
                concerns.append(SNOMED_CONCERNS[coding.code])
                continue
            if coding.system != CONCERN_SYSTEM:
                continue
            concern = _CONCERNS.get(coding.code or "")
            if concern is None:
                message = f"{(coding.code or '')[:40]!r} is not a code of {CONCERN_SYSTEM}"
                ledger.warn("concern_code_unknown", f"{where}.coding[{index}].code", message)
            else:
                concerns.append(concern)
    return concerns


def _harm_flag(
    located: Located,
    resource: Flag | ServiceRequest | Communication,
    *,
    coded: bool,
    ledger: Ledger,
) -> bool:
    if not isinstance(resource, Flag):
        return False
    if resource.status != "active":
        if resource.status == "inactive":
            message = "an inactive Flag: read as history, not as a current flag of harm"
            ledger.note("flag_inactive", f"{located.path}.status", message)
        return False
    if not coded:
        message = f"an active Flag without a code from {CONCERN_SYSTEM}: not a flag of harm"
        ledger.note("flag_not_coded", f"{located.path}.code", message)
    return coded


def _time(resource: Flag | ServiceRequest | Communication) -> tuple[str, object]:
    if isinstance(resource, Flag):
        return "period.start", resource.period.start if resource.period else None
    if isinstance(resource, ServiceRequest):
        return "authoredOn", resource.authoredOn
    return "sent", resource.sent


def _texts(resource: Flag | ServiceRequest | Communication) -> tuple[str, ...]:
    texts: list[str | None] = []
    if isinstance(resource, Flag | ServiceRequest):
        texts.append(concept_text(resource.code))
    if isinstance(resource, Communication):
        texts.extend(payload.contentString for payload in resource.payload or [])
    if isinstance(resource, ServiceRequest | Communication):
        texts.extend(concept_text(concept) for concept in resource.reasonCode or [])
        texts.extend(note.text for note in resource.note or [])
    return tuple(text.strip() for text in texts if text and text.strip())


def _author(resource: Flag | ServiceRequest | Communication) -> Reference | None:
    if isinstance(resource, Flag):
        return resource.author or _provenance_author(resource)
    if isinstance(resource, ServiceRequest):
        return resource.requester
    return resource.sender


def _provenance_author(flag: Flag) -> Reference | None:
    """Who recorded a national flag: its contained Provenance's agent (England-Provenance-Flag)."""
    agents = [
        agent
        for inner in flag.contained or []
        if isinstance(inner, Provenance)
        for agent in inner.agent or []
    ]
    return next((a.onBehalfOf or a.who for a in agents if a.onBehalfOf or a.who), None)
