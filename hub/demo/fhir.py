"""Health safeguarding concerns as an NHS body sends them: FHIR R4 message Bundles.

The shape follows ``docs/formats/health.md``: a message Bundle whose first entry is
its MessageHeader, then the Patient (and any siblings), RelatedPersons, the concern
(a ServiceRequest, a Communication or a Flag) and, when the clinician recorded one,
a Consent. :func:`xml_body` writes the same resource as FHIR XML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import quoteattr

from hub.demo.people import Person
from hub.demo.police import local_time

FHIR_NS = "http://hl7.org/fhir"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
HUB = "https://fhir.safeguarding-hub.example/"
CONCERN_SYSTEM = HUB + "CodeSystem/concern"
NO_CONSENT_REASON_URL = HUB + "StructureDefinition/no-consent-reason"
STATUTORY_GATEWAY_URL = HUB + "StructureDefinition/statutory-gateway"
ROLE_CODES = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODES = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"


@dataclass(frozen=True)
class Sender:
    """The NHS organisation and the professional sending the concern."""

    ods_code: str
    name: str
    author: str
    software: str


@dataclass(frozen=True)
class ConcernSpec:
    """What the clinician raises: which resource, coded concerns, priority, text, time."""

    resource: str
    """``ServiceRequest``, ``Communication`` or ``Flag``."""
    codes: tuple[str, ...]
    text: str
    at: datetime
    priority: str | None = None
    """A FHIR request priority; a Flag has none."""


@dataclass(frozen=True)
class ConsentSpec:
    """The patient's (or parent's) answer to sharing, and the grounds without consent."""

    answer: str
    """``permit``, ``deny``, ``rejected`` (the Consent's status) or ``draft``."""
    at: datetime
    no_consent_reason: str | None = None
    statutory_gateway: str | None = None


@dataclass(frozen=True)
class Related:
    """A RelatedPerson of the patient, with a v3-RoleCode (``MTH``, ``FTH``, ``PRN``)."""

    person: Person
    role_code: str


def concern_bundle(
    *,
    reference: str,
    sent: datetime,
    sender: Sender,
    patient: Person,
    concern: ConcernSpec,
    new_id: Callable[[], str],
    related: tuple[Related, ...] = (),
    siblings: tuple[Person, ...] = (),
    consent: ConsentSpec | None = None,
) -> dict[str, Any]:
    """A message Bundle about ``patient``; ``new_id`` makes each resource's UUID."""
    patient_url = f"urn:uuid:{new_id()}"
    concern_url = f"urn:uuid:{new_id()}"
    entries = [
        _entry(f"urn:uuid:{new_id()}", _header(sender, concern_url)),
        _entry(patient_url, patient_resource(patient)),
        *(_entry(f"urn:uuid:{new_id()}", patient_resource(sibling)) for sibling in siblings),
        *(_entry(f"urn:uuid:{new_id()}", _related(r, patient_url)) for r in related),
        _entry(concern_url, _concern(concern, sender, patient_url)),
    ]
    if consent is not None:
        entries.append(_entry(f"urn:uuid:{new_id()}", _consent(consent, sender, patient_url)))
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "identifier": {
            "system": f"https://fhir.{sender.ods_code.lower()}.example.nhs.uk/Id/referral",
            "value": reference,
        },
        "type": "message",
        "timestamp": local_time(sent),
        "entry": entries,
    }


def xml_body(resource: dict[str, Any]) -> bytes:
    """The resource as FHIR XML: primitives as ``value`` attributes, extension URLs too."""
    name = resource["resourceType"]
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{name} xmlns="{FHIR_NS}">']
    _xml_children(resource, out)
    out.append(f"</{name}>")
    return "\n".join(out).encode()


# ---------------------------------------------------------------------- resources


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    """An entry whose resource has its id first and no empty elements."""
    body = {name: value for name, value in resource.items() if value is not None}
    kind = body.pop("resourceType")
    identified = {"resourceType": kind, "id": full_url.removeprefix("urn:uuid:"), **body}
    return {"fullUrl": full_url, "resource": identified}


def _header(sender: Sender, focus: str) -> dict[str, Any]:
    return {
        "resourceType": "MessageHeader",
        "eventCoding": {"system": HUB + "CodeSystem/message-event", "code": "safeguarding-concern"},
        "sender": {
            "identifier": {"system": ODS_SYSTEM, "value": sender.ods_code},
            "display": sender.name,
        },
        "author": {"display": sender.author},
        "source": {
            "name": f"{sender.name} EPR",
            "software": sender.software,
            "endpoint": f"https://fhir.{sender.ods_code.lower()}.example.nhs.uk/messaging",
        },
        "focus": [{"reference": focus}],
    }


def _name(person: Person) -> list[dict[str, Any]]:
    return [{"use": "official", "family": person.family_name, "given": [person.given_name]}]


def patient_resource(person: Person) -> dict[str, Any]:
    """A UK Core-like Patient: NHS number, name, sex, date of birth, home address."""
    line, _, city = person.address.partition(", ")
    patient: dict[str, Any] = {"resourceType": "Patient"}
    if person.nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": person.nhs_number}]
    patient |= {"name": _name(person), "gender": person.sex}
    if person.date_of_birth:
        patient["birthDate"] = person.date_of_birth.isoformat()
    patient["address"] = [
        {"use": "home", "line": [line], "city": city, "postalCode": person.postcode}
    ]
    return patient


def _related(related: Related, patient_url: str) -> dict[str, Any]:
    person = related.person
    resource: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": patient_url},
        "relationship": [{"coding": [{"system": ROLE_CODES, "code": related.role_code}]}],
        "name": _name(person),
    }
    if person.date_of_birth:
        resource["birthDate"] = person.date_of_birth.isoformat()
    return resource


def _codes(spec: ConcernSpec) -> list[dict[str, Any]]:
    return [{"system": CONCERN_SYSTEM, "code": code} for code in spec.codes]


def _concern(spec: ConcernSpec, sender: Sender, patient_url: str) -> dict[str, Any]:
    subject = {"reference": patient_url}
    by = {"display": sender.author}
    if spec.resource == "Flag":
        return {
            "resourceType": "Flag",
            "status": "active",
            "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "safety"}]}],
            "code": {"coding": _codes(spec), "text": spec.text},
            "subject": subject,
            "period": {"start": local_time(spec.at)},
            "author": by,
        }
    category = [{"coding": _codes(spec)}]
    if spec.resource == "Communication":
        return {
            "resourceType": "Communication",
            "status": "completed",
            "category": category,
            "priority": spec.priority,
            "subject": subject,
            "sent": local_time(spec.at),
            "sender": by,
            "payload": [{"contentString": spec.text}],
        }
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": category,
        "priority": spec.priority,
        "code": {"text": "Referral to children's social care (safeguarding)"},
        "subject": subject,
        "authoredOn": local_time(spec.at),
        "requester": by,
        "note": [{"text": spec.text}],
    }


def _consent(spec: ConsentSpec, sender: Sender, patient_url: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Consent"}
    extensions = []
    if spec.no_consent_reason:
        extensions.append({"url": NO_CONSENT_REASON_URL, "valueCode": spec.no_consent_reason})
    if spec.statutory_gateway:
        extensions.append({"url": STATUTORY_GATEWAY_URL, "valueString": spec.statutory_gateway})
    if extensions:
        resource["extension"] = extensions
    resource |= {
        "status": "active" if spec.answer in {"permit", "deny"} else spec.answer,
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": ACT_CODES, "code": "INFA"}]}],
        "patient": {"reference": patient_url},
        "dateTime": local_time(spec.at),
        "performer": [{"display": sender.author}],
    }
    if spec.answer in {"permit", "deny"}:
        resource["provision"] = {"type": spec.answer}
    return resource


# ---------------------------------------------------------------------- XML


def _xml_children(node: dict[str, Any], out: list[str]) -> None:
    for name, value in node.items():
        if name in {"resourceType", "url"}:
            continue  # the element's name, and an extension's attribute
        for item in value if isinstance(value, list) else [value]:
            _xml_element(name, item, out)


def _xml_element(name: str, value: Any, out: list[str]) -> None:
    if not isinstance(value, dict):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        out.append(f"<{name} value={quoteattr(text)}/>")
        return
    if "resourceType" in value:  # Bundle.entry.resource holds a resource element
        inner = value["resourceType"]
        out.append(f"<{name}><{inner}>")
        _xml_children(value, out)
        out.append(f"</{inner}></{name}>")
        return
    url = f" url={quoteattr(value['url'])}" if "url" in value else ""
    out.append(f"<{name}{url}>")
    _xml_children(value, out)
    out.append(f"</{name}>")
