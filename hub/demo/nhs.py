"""NHS England's national shapes in the demo's health traffic: CP-IS and BaRS.

- a **CP-IS flag**: a collection of an ``England-Flag-PatientFlag`` Flag (the England
  code, or SNOMED CT 224353004), its CarePlan (child protection plan, looked-after
  child, unborn child protection plan) and the CareTeam naming the local authority,
  with the Patient;
- a **CP-IS access notification**: one AuditEvent saying the child's record was opened
  in unscheduled care, the child by NHS number, the setting and the role of who looked
  (never their name) contained;
- a **BaRS referral** from NHS 111: a message Bundle whose safeguarding Flag (category
  ``SG``) is what the hub reads, beside a reasonable-adjustment flag it ignores, with a
  UK Core Consent of implied consent for direct care.

Shapes as ``docs/formats/health.md`` documents them; people from :mod:`hub.demo.people`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.demo.fhir import NHS_NUMBER_SYSTEM, ODS_SYSTEM, Sender, patient_resource
from hub.demo.people import Person
from hub.demo.police import local_time

SNOMED = "http://snomed.info/sct"
ENGLAND = "https://fhir.nhs.uk/England/StructureDefinition/"
FLAG_CATEGORY = "https://fhir.nhs.uk/England/CodeSystem/England-FlagCategoryPatient"
ODS_LOWER_CASE = "https://fhir.nhs.uk/id/ods-organization-code"
"""The ODS system as BaRS senders spell it."""
BARS = "https://fhir.nhs.uk/CodeSystem/"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"

PLANS = {
    "child_protection_plan": ("342191000000101", "Subject to child protection plan"),
    "looked_after_child": ("764841000000100", "Looked after child"),
    "unborn_child_protection_plan": (
        "818901000000100",
        "Unborn child subject to child protection plan",
    ),
}
"""England-ChildProtectionPlan codes, by the hub's plan type."""


@dataclass(frozen=True)
class PlanSpec:
    """A child's plan as CP-IS holds it: the type, the local authority, since when."""

    plan: str
    """A key of :data:`PLANS`."""
    local_authority: str
    start: date
    snomed_flag: bool = False
    """Code the flag SNOMED CT 224353004 rather than with the England code."""


def cpis_flag_bundle(
    *,
    reference: str,
    sent: datetime,
    sender: Sender,
    patient: Person,
    plan: PlanSpec,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """A CP-IS flag with its plan and team, and the Patient, as a collection."""
    ids = {name: new_id() for name in ("flag", "plan", "team", "patient")}
    subject = {"reference": f"Patient/{ids['patient']}"}
    code, display = PLANS[plan.plan]
    flag_code = (
        {"system": SNOMED, "code": "224353004", "display": "Child protection finding"}
        if plan.snomed_flag
        else {"system": FLAG_CATEGORY, "code": "child-protection-information-system-flag"}
    )
    flag = {
        "resourceType": "Flag",
        "id": ids["flag"],
        "meta": {"profile": [ENGLAND + "England-Flag-PatientFlag"]},
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/flag-detail",
                "valueReference": {"reference": f"CarePlan/{ids['plan']}"},
            }
        ],
        "status": "active",
        "code": {"coding": [flag_code]},
        "subject": subject,
        "period": {"start": local_time(sent)},
        "author": {"identifier": {"system": ODS_SYSTEM, "value": sender.ods_code}},
    }
    care_plan = {
        "resourceType": "CarePlan",
        "id": ids["plan"],
        "meta": {"profile": [ENGLAND + "England-CarePlan-Flag"]},
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": SNOMED, "code": code, "display": display}]}],
        "subject": subject,
        "period": {"start": plan.start.isoformat()},
        "careTeam": [{"reference": f"CareTeam/{ids['team']}"}],
    }
    team = {
        "resourceType": "CareTeam",
        "id": ids["team"],
        "meta": {"profile": [ENGLAND + "England-CareTeam-Flag"]},
        "status": "active",
        "name": plan.local_authority,
    }
    person = {"resourceType": "Patient", "id": ids["patient"], **patient_resource(patient)}
    base = f"https://fhir.{sender.ods_code.lower()}.example.nhs.uk/fhir"
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "identifier": {"system": f"{base}/Id/cpis-flag", "value": reference},
        "type": "collection",
        "timestamp": local_time(sent),
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in (flag, care_plan, team, person)
        ],
    }


def access_event(
    *, recorded: datetime, child: Person, setting: Sender, role: str, new_id: Callable[[], str]
) -> dict[str, Any]:
    """A CP-IS access notification: the child, by NHS number, seen at ``setting``."""
    return {
        "resourceType": "AuditEvent",
        "id": new_id(),
        "contained": [
            {
                "resourceType": "Organization",
                "id": "setting",
                "identifier": [{"system": ODS_SYSTEM, "value": setting.ods_code}],
                "name": setting.name,
            },
            {
                "resourceType": "PractitionerRole",
                "id": "looked",
                "organization": {"reference": "#setting"},
                "code": [{"text": role}],
            },
        ],
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle",
            "code": "access",
            "display": "Access/View Record Lifecycle Event",
        },
        "recorded": local_time(recorded),
        "agent": [
            {
                "type": {"coding": [{"system": ROLE_CLASS, "code": "PAT"}]},
                "who": {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": child.nhs_number}},
                "requestor": False,
            },
            {
                "type": {"coding": [{"system": ROLE_CLASS, "code": "ASSIGNED"}]},
                "who": {"reference": "#looked"},
                "requestor": True,
            },
        ],
        "source": {"observer": {"reference": "#looked"}},
    }


@dataclass(frozen=True)
class SafeguardingFlag:
    """The SG flag of a BaRS referral: its safeguarding code and the clinician's words."""

    code: str
    display: str
    text: str


def bars_referral(
    *,
    reference: str,
    sent: datetime,
    sender: Sender,
    receiver: Sender,
    patient: Person,
    concern: SafeguardingFlag,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """A BaRS referral (servicerequest-request) carrying a safeguarding flag."""
    url = {name: f"urn:uuid:{new_id()}" for name in ("header", "request", "patient", "from", "to")}
    about = {"reference": url["patient"]}
    flags: list[tuple[str, str, dict[str, Any]]] = [
        ("SG", "Safeguarding Concern", {
            "coding": [{"system": BARS + "safeguarding-codes-bars", "code": concern.code,
                        "display": concern.display}],
            "text": concern.text,
        }),
        ("RA", "Reasonable Adjustment", {
            "coding": [{"system": BARS + "reasonable-adjustment-codes-bars",
                        "code": "adjustforneedlephobia"}],
        }),
    ]  # fmt: skip
    entries = [
        (url["header"], _bars_header(url, sender)),
        (url["request"], _bars_request(url, sent)),
        (url["patient"], {"resourceType": "Patient", **patient_resource(patient)}),
        (url["from"], _organisation(sender)),
        (url["to"], _organisation(receiver)),
        *(
            (f"urn:uuid:{new_id()}", _bars_flag(category, display, code, about, sent))
            for category, display, code in flags
        ),
        (f"urn:uuid:{new_id()}", _implied_consent(about, sent)),
    ]
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "meta": {"profile": ["https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage"]},
        "identifier": {"system": "https://fhir.example.nhs.uk/Id/bars-message", "value": reference},
        "type": "message",
        "timestamp": local_time(sent),
        "entry": [{"fullUrl": full_url, "resource": r} for full_url, r in entries],
    }


def _bars_header(url: dict[str, str], sender: Sender) -> dict[str, Any]:
    return {
        "resourceType": "MessageHeader",
        "eventCoding": {"system": BARS + "message-events-bars", "code": "servicerequest-request"},
        "destination": [
            {"endpoint": "https://fhir.example.nhs.uk/Id/dos-service-id|900000001",
             "receiver": {"reference": url["to"]}}
        ],
        "sender": {"reference": url["from"]},
        "source": {"name": sender.name, "software": sender.software,
                   "endpoint": "https://fhir.example.nhs.uk/Id/dos-service-id|900000002"},
        "reason": {"coding": [{"system": BARS + "message-reason-bars", "code": "new"}]},
        "focus": [{"reference": url["request"]}],
    }  # fmt: skip


def _bars_request(url: dict[str, str], sent: datetime) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "plan",
        "category": [
            {"coding": [{"system": BARS + "message-category-servicerequest", "code": "referral"}]}
        ],
        "subject": {"reference": url["patient"]},
        "authoredOn": local_time(sent),
        "requester": {"reference": url["from"]},
        "performer": [{"reference": url["to"]}],
    }


def _organisation(who: Sender) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": ODS_LOWER_CASE, "value": who.ods_code}],
        "name": who.name,
    }


def _bars_flag(
    category: str, display: str, code: dict[str, Any], about: dict[str, str], sent: datetime
) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": "active",
        "category": [
            {"coding": [{"system": BARS + "flag-categories-bars", "code": category,
                         "display": display}]}
        ],
        "code": code,
        "subject": about,
        "period": {"start": local_time(sent)},
    }  # fmt: skip


def _implied_consent(about: dict[str, str], sent: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Consent"]},
        "status": "active",
        "scope": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                 "code": "patient-privacy"}
            ]
        },
        "category": [{"coding": [{"system": BARS + "consent-categories-bars", "code": "DRC"}]}],
        "patient": about,
        "dateTime": local_time(sent),
        "policyRule": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "IMPLIED"}]
        },
    }  # fmt: skip
