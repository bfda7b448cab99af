"""Native partner documents for tests: police JSON, FHIR R4, duty-to-refer, DASH.

Each builder writes a document in the partner's own documented format
(``docs/formats/``), so that tests can put it through the real connector's parse
and exercise the mapping as a partner's message would. Synthetic people only: no real
names, NHS numbers from the unissued 999 range with valid check digits.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.health.format import (
    CONCERN_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    EXPECTED_DELIVERY_URL,
    NO_CONSENT_REASON_URL,
    ROLE_SYSTEM,
    SHARING_SCOPE,
    SNOMED_SYSTEM,
    STATUTORY_GATEWAY_URL,
)
from connectors.protocol import ParseContext
from connectors.registry import connector_for
from schemas.common import Partner, nhs_number_is_valid
from schemas.envelope import Envelope
from tests.factories import NOW

INCIDENT = "2026-11-24T20:00:00+00:00"
INCIDENT_DAY = date(2026, 11, 24)
CONTEXT = ParseContext(received_at=NOW, subject_key_secret=b"synthetic-case-secret-0123456789")
CONTENT_TYPES = {
    Partner.POLICE: "application/json",
    Partner.HEALTH: "application/fhir+json",
    Partner.HOUSING: "application/json",
    Partner.DOMESTIC_ABUSE: "application/json",
}
S47 = "Children Act 1989 s47"
S11 = "Children Act 2004 s11"
S115 = "Crime and Disorder Act 1998 s115"
FHIR_BASE = "https://fhir.example.nhs.uk"
HEADER_UUID = "5a1c0e1e-0000-4000-8000-000000000001"

_NHS = (
    f"999{n:06d}{d}"
    for n in itertools.count(1)
    for d in range(10)
    if nhs_number_is_valid(f"999{n:06d}{d}")
)
_REFS = itertools.count(1)


def nhs() -> str:
    """A fresh NHS number from the unissued 999 range, with a valid check digit."""
    return next(_NHS)


def born(age: int, *, on: date = INCIDENT_DAY) -> str:
    """A date of birth that makes someone ``age`` on ``on`` (birthday in March)."""
    return date(on.year - age, 3, 1).isoformat()


def reference(prefix: str) -> str:
    return f"{prefix}-{next(_REFS):05d}"


def parse(partner: Partner, document: dict[str, Any]) -> list[Envelope]:
    """The envelopes the partner's real connector makes of the document."""
    raw = json.dumps(document).encode()
    return connector_for(partner).parse(raw, CONTENT_TYPES[partner], CONTEXT)


# ------------------------------------------------------------------ police


def police_person(role: str, age: int | None = None, **extra: Any) -> dict[str, Any]:
    """A person of a police notification (``age`` None: no date of birth)."""
    person: dict[str, Any] = {"role": role}
    if role != "unborn_child":
        person |= {"given_name": "Sam", "family_name": "Testcase", "nhs_number": nhs()}
        person["postcode"] = "ZZ99 3AA"
    if age is not None:
        person["date_of_birth"] = born(age)
    return person | extra


def police(
    notification_type: str,
    persons: list[dict[str, Any]],
    *,
    grade: str = "Standard",
    concerns: tuple[str, ...] = (),
    consent: dict[str, str] | None = None,
    occurred_at: str = INCIDENT,
    **extra: Any,
) -> dict[str, Any]:
    """A police notification; without a consenting person, ``consent`` gives the grounds."""
    document: dict[str, Any] = {
        "force_code": "47",
        "reference": reference("47/2026"),
        "notification_type": notification_type,
        "occurred_at": occurred_at,
        "risk_grade": grade,
        "persons": persons,
        "summary": "Synthetic police notification for the routing case table.",
        "submitted_by": "PC 0001",
        "concerns": list(concerns),
    }
    if consent is not None:
        document["consent"] = consent
    return document | extra


def grounds(gateway: str = S11, reason: str = "cannot_reasonably_be_obtained") -> dict[str, str]:
    """Why a police notification is shared without consent."""
    return {"no_consent_reason": reason, "statutory_gateway": gateway}


# ------------------------------------------------------------------ health


@dataclass
class Fhir:
    """A FHIR message Bundle under construction."""

    kind: str = "message"
    resources: list[dict[str, Any]] = field(default_factory=list)
    patients: int = 0

    def patient(self, age: int | None, *, contact_parent: bool = False) -> str:
        """Add a Patient; return its id."""
        self.patients += 1
        pid = f"patient-{self.patients}"
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs()}],
            "name": [{"use": "official", "family": "Testcase", "given": ["Robin"]}],
            "address": [{"use": "home", "line": ["1 Example Street"], "postalCode": "ZZ99 3AA"}],
        }
        if age is not None:
            resource["birthDate"] = born(age)
        if contact_parent:
            resource["contact"] = [{"relationship": [{"coding": [_role_code("MTH")]}]}]
        self.resources.append(resource)
        return pid

    def related(self, patient: str, role: str, age: int | None = None, **extra: Any) -> None:
        """A RelatedPerson of a Patient, in a hub role (parent_carer, unborn_child, ...)."""
        resource: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": f"related-{len(self.resources)}",
            "patient": {"reference": f"Patient/{patient}"},
            "relationship": [{"coding": [{"system": ROLE_SYSTEM, "code": role}]}],
        }
        if role != "unborn_child":
            resource["name"] = [{"family": "Testcase", "given": ["Kit"]}]
        if age is not None:
            resource["birthDate"] = born(age)
        self.resources.append(resource | extra)

    def unborn(self, mother: str, due: str = "2027-03-01") -> None:
        """An unborn child of a Patient, with its expected date of delivery."""
        self.related(
            mother, "unborn_child", extension=[{"url": EXPECTED_DELIVERY_URL, "valueDate": due}]
        )

    def concern(
        self,
        patient: str,
        codes: tuple[str, ...] = (),
        *,
        snomed: tuple[str, ...] = (),
        resource: str = "ServiceRequest",
        priority: str | None = "routine",
    ) -> None:
        """A concern about a Patient: hub concern codes and SNOMED CT concepts."""
        coding = [{"system": CONCERN_SYSTEM, "code": c} for c in codes]
        coding += [{"system": SNOMED_SYSTEM, "code": c} for c in snomed]
        number = len(self.resources)
        base: dict[str, Any] = {
            "id": f"concern-{number}",
            "subject": {"reference": f"Patient/{patient}"},
        }
        if resource == "Flag":
            base |= {
                "resourceType": "Flag",
                "status": "active",
                "code": {"coding": coding, "text": "Synthetic flag."},
                "period": {"start": INCIDENT},
            }
        else:
            base |= {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "code": {"text": "Synthetic safeguarding referral."},
                "reasonCode": [{"coding": coding}],
                "authoredOn": INCIDENT,
                "requester": {"display": "GP 0007"},
            }
            if priority is not None:
                base["priority"] = priority
        self.resources.append(base)

    def consent(
        self,
        patient: str,
        provision: str = "permit",
        *,
        reason: str | None = None,
        gateway: str | None = None,
    ) -> None:
        """The patient's consent to share (permit or deny), with any grounds."""
        resource: dict[str, Any] = {
            "resourceType": "Consent",
            "id": f"consent-{len(self.resources)}",
            "status": "active",
            "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": SHARING_SCOPE}]},
            "category": [{"text": "information sharing"}],
            "patient": {"reference": f"Patient/{patient}"},
            "dateTime": INCIDENT,
            "provision": {"type": provision},
        }
        extensions = []
        if reason is not None:
            extensions.append({"url": NO_CONSENT_REASON_URL, "valueCode": reason})
        if gateway is not None:
            extensions.append({"url": STATUTORY_GATEWAY_URL, "valueString": gateway})
        if extensions:
            resource["extension"] = extensions
        self.resources.append(resource)

    def document(self) -> dict[str, Any]:
        """The Bundle."""
        entries: list[dict[str, Any]] = []
        if self.kind == "message":
            header = {
                "resourceType": "MessageHeader",
                "id": "header-1",
                "eventCoding": {"system": "https://example.org/event", "code": "safeguarding"},
                "sender": {
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": "H99001",
                    }
                },
                "source": {"software": "ExampleGP", "endpoint": "https://example.org"},
                "author": {"display": "GP Partner 3"},
            }
            entries.append({"fullUrl": f"urn:uuid:{HEADER_UUID}", "resource": header})
        for resource in self.resources:
            url = f"{FHIR_BASE}/{resource['resourceType']}/{resource['id']}"
            entry: dict[str, Any] = {"fullUrl": url, "resource": resource}
            if self.kind == "batch":
                entry["request"] = {"method": "POST", "url": resource["resourceType"]}
            entries.append(entry)
        return {
            "resourceType": "Bundle",
            "type": self.kind,
            "identifier": {"system": f"{FHIR_BASE}/Id/referral", "value": reference("SGR")},
            "timestamp": "2026-11-24T21:00:00+00:00",
            "entry": entries,
        }


def _role_code(code: str) -> dict[str, str]:
    return {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code}


# ------------------------------------------------------------------ housing


def housing(
    applicant_age: int,
    household: tuple[tuple[str, int | None], ...] = (),
    *,
    concerns: tuple[str, ...] = (),
    authority: str = "probation_service",
    notes: str | None = None,
) -> dict[str, Any]:
    """A duty-to-refer referral: the applicant's age and (relationship, age) members."""
    document: dict[str, Any] = {
        "reference": reference("DTR"),
        "referred_at": INCIDENT,
        "referring_body": {
            "name": "Testshire Referring Body",
            "org_code": "RB-TS1",
            "authority_type": authority,
            "contact": {"name": "Morgan Officer", "email": "morgan.officer@example.org"},
        },
        "applicant": {
            "given_name": "Taylor",
            "family_name": "Testcase",
            "date_of_birth": born(applicant_age),
            "nhs_number": nhs(),
            "postcode": "ZZ99 3AA",
            "contact": {"phone": "07700 900456"},
        },
        "consent_to_refer": True,
        "consent_to_share_contact_details": True,
        "chosen_authority": {"name": "Testtown Borough Council", "code": "E07000999"},
        "reason": "homeless",
        "household": [
            {
                "given_name": "Riley",
                "family_name": "Testcase",
                "relationship": relationship,
                **({"date_of_birth": born(age)} if age is not None else {}),
            }
            for relationship, age in household
        ],
        "safeguarding_concerns": list(concerns),
    }
    if notes is not None:
        document["notes"] = notes
    return document


# ------------------------------------------------------------------ domestic abuse


def dash(
    *,
    yes: tuple[int, ...] = (),
    victim_age: int = 30,
    children: tuple[dict[str, Any], ...] = (),
    consent: dict[str, str] | None = None,
    judged_high: bool = False,
    concerns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A DASH checklist: the questions answered yes (1-24), the victim, the children."""
    answers = {f"q{i}": "yes" if i in yes else "no" for i in range(1, 25)}
    judgement: dict[str, Any] = {"high": judged_high}
    if judged_high:
        judgement["rationale"] = "Escalating stalking since the separation."
    return {
        "reference": reference("IDVA"),
        "org_code": "DAS-TS",
        "assessed_at": "2026-11-25T10:00:00+00:00",
        "incident_at": INCIDENT,
        "assessor": "IDVA 07",
        "answers": answers,
        "professional_judgement": judgement,
        "victim": {
            "given_name": "Jo",
            "family_name": "Testcase",
            "date_of_birth": born(victim_age),
            "nhs_number": nhs(),
            "postcode": "ZZ99 3AA",
        },
        "person_causing_harm": {"given_name": "Lee", "family_name": "Testharm"},
        "children": list(children),
        "consent": consent or {"status": "given"},
        "concerns": list(concerns),
    }


def dash_child(age: int, **flags: Any) -> dict[str, Any]:
    """A child on a DASH checklist."""
    return {
        "given_name": "Noah",
        "family_name": "Testcase",
        "date_of_birth": born(age),
        "nhs_number": nhs(),
    } | flags
