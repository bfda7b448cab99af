"""Concern resources (Flag, ServiceRequest, Communication): what each says, about whom.

Each yields its Patient, coded concern factors, priority, time, author and text.
Concern factors come from codes of the hub's concern code system
(:data:`~connectors.health.format.CONCERN_SYSTEM`), or SNOMED CT concepts mapped to
them (:data:`~connectors.health.format.SNOMED_CONCERNS`), in the resource's category,
code, reasonCode or topic. An *active* Flag with such a code is a **flag of harm**: a
warning placed on a health record that the patient is at risk of harm, which the
routing policy treats as significant harm (DESIGN.md section 8, rule 1). A Flag
without one (an allergy, a dog at the home) is still a concern, but not of harm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest

from connectors.health._fhir.issues import Ledger
from connectors.health._fhir.message import Located, Message
from connectors.health._fhir.values import concept_text, instant
from connectors.health.format import (
    CONCERN_SYSTEM,
    PRIORITY_RISK,
    SNOMED_CONCERNS,
    SNOMED_SYSTEM,
    STATUSES,
)
from schemas.common import Concern

_CONCERNS = {concern.value: concern for concern in Concern}
_PRIORITIES = ", ".join(PRIORITY_RISK)


@dataclass(frozen=True)
class ConcernFacts:
    """What one concern resource says."""

    located: Located
    patient: Located | None
    concerns: tuple[Concern, ...]
    harm_flag: bool
    priority: str | None
    time: datetime | None
    texts: tuple[str, ...]
    author: Reference | None


def read_concern(located: Located, message: Message, ledger: Ledger) -> ConcernFacts:
    """Read a Flag, ServiceRequest or Communication, recording what is wrong with it."""
    resource = located.resource
    assert isinstance(resource, Flag | ServiceRequest | Communication)
    _check_status(located, resource.status, ledger)
    if resource.modifierExtension:
        reason = "a modifier extension the hub does not understand: it cannot be read safely"
        ledger.not_supported(f"{located.path}.modifierExtension", reason)
    patient = message.link(resource.subject, located, "subject", ledger)
    concerns = _coded_concerns(located, ledger)
    harm_flag = _harm_flag(located, resource, coded=bool(concerns), ledger=ledger)
    if harm_flag:
        concerns.append(Concern.HARM_FLAG)
    time_element, time_value = _time(resource)
    return ConcernFacts(
        located=located,
        patient=patient,
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
        return resource.author
    if isinstance(resource, ServiceRequest):
        return resource.requester
    return resource.sender
