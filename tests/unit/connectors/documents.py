"""Small valid partner documents for the connector tests, built in code.

Synthetic only: nobody real, NHS numbers from the unissued 999 range. The documented
examples in ``docs/formats/examples`` are the other source of valid documents.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from connectors.health.format import CONCERN_SYSTEM, CONSENT_SCOPE_SYSTEM, SHARING_SCOPE


def at(doc: Any, path: Sequence[Any]) -> Any:
    """The value at ``path`` (keys and indexes) in a JSON document."""
    for step in path:
        doc = doc[step]
    return doc


def replaced(doc: dict[str, Any], path: Sequence[Any], value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with the value at ``path`` replaced."""
    changed = copy.deepcopy(doc)
    at(changed, path[:-1])[path[-1]] = value
    return changed


# ---------------------------------------------------------------------- police


def notification(**changes: Any) -> dict[str, Any]:
    """A small valid notification: one child, consent given by a parent."""
    doc: dict[str, Any] = {
        "force_code": "47",
        "reference": "47/2026/000001",
        "notification_type": "child_concern",
        "occurred_at": "2026-11-20T10:00:00Z",
        "risk_grade": "Green",
        "persons": [
            {
                "role": "child",
                "given_name": "Test",
                "family_name": "Child",
                "date_of_birth": "2016-01-01",
            },
            {
                "role": "parent_carer",
                "given_name": "Test",
                "family_name": "Parent",
                "consent_to_share": "yes",
            },
        ],
        "summary": "Synthetic summary.",
        "submitted_by": "PC 1",
    }
    doc.update(changes)
    return doc


# ---------------------------------------------------------------------- domestic abuse


def answers(yes: int, not_known: int = 0) -> dict[str, str]:
    """The first ``yes`` questions answered yes, the next ``not_known`` not known."""
    return {
        f"q{i}": "yes" if i <= yes else "not_known" if i <= yes + not_known else "no"
        for i in range(1, 25)
    }


def assessment(yes: int = 5, *, judged_high: bool = False, **changes: Any) -> dict[str, Any]:
    """A small valid assessment: the victim only, consent given."""
    doc: dict[str, Any] = {
        "reference": "DA-1",
        "org_code": "DAS-TS",
        "assessed_at": "2026-11-20T10:00:00Z",
        "assessor": "IDVA 1",
        "answers": answers(yes),
        "professional_judgement": (
            {"high": True, "rationale": "Stalking and threats."} if judged_high else {"high": False}
        ),
        "victim": {"given_name": "Test", "family_name": "Victim", "date_of_birth": "1990-01-01"},
        "consent": {"status": "given"},
    }
    doc.update(changes)
    return doc


# ---------------------------------------------------------------------- health: FHIR R4

NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
BASE = "https://fhir.example-trust.nhs.uk/fhir"
VALID_NHS = "9990000026"
BAD_CHECK_DIGIT_NHS = "9990000027"


def patient(
    pid: str = "child", *, nhs: str | None = VALID_NHS, born: str | None = "2016-04-03"
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"use": "official", "family": "Sample", "given": ["Alex"]}],
        "address": [{"use": "home", "line": ["1 Example Street"], "postalCode": "ZZ99 3AA"}],
    }
    if nhs is not None:
        resource["identifier"] = [{"system": NHS, "value": nhs}]
    if born is not None:
        resource["birthDate"] = born
    return resource


def flag(
    subject: str = "child",
    *,
    fid: str = "flag-1",
    status: str = "active",
    codes: tuple[str, ...] = ("neglect",),
) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "id": fid,
        "status": status,
        "code": {
            "coding": [{"system": CONCERN_SYSTEM, "code": code} for code in codes],
            "text": "Synthetic concern for tests.",
        },
        "subject": {"reference": f"Patient/{subject}"},
        "period": {"start": "2026-11-24T16:05:00+00:00"},
    }


def service_request(
    subject: str = "child", *, sid: str = "sr-1", priority: str | None = None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": "active",
        "intent": "order",
        "code": {"text": "Synthetic safeguarding referral."},
        "subject": {"reference": f"Patient/{subject}"},
        "authoredOn": "2026-11-24T10:00:00+00:00",
        "requester": {"identifier": {"system": ODS, "value": "X99ZZ"}, "display": "GP 0007"},
    }
    if priority is not None:
        resource["priority"] = priority
    return resource


def communication(subject: str = "child", *, cid: str = "comm-1") -> dict[str, Any]:
    return {
        "resourceType": "Communication",
        "id": cid,
        "status": "completed",
        "subject": {"reference": f"Patient/{subject}"},
        "sent": "2026-11-24T11:00:00+00:00",
        "payload": [{"contentString": "Synthetic note for tests."}],
    }


def consent(
    subject: str = "child", *, status: str = "active", provision: str | None = "permit"
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": f"consent-{subject}",
        "status": status,
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": SHARING_SCOPE}]},
        "category": [{"text": "information sharing"}],
        "patient": {"reference": f"Patient/{subject}"},
        "dateTime": "2026-11-24T16:20:00+00:00",
        "performer": [{"display": "Health Visitor 0042"}],
    }
    if provision is not None:
        resource["provision"] = {"type": provision}
    return resource


def related(
    subject: str = "child", *, code: str = "MTH", system: str | None = None
) -> dict[str, Any]:
    return {
        "resourceType": "RelatedPerson",
        "id": f"related-{code.lower().replace('_', '-')}",
        "patient": {"reference": f"Patient/{subject}"},
        "relationship": [
            {
                "coding": [
                    {
                        "system": system or "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                        "code": code,
                    }
                ]
            }
        ],
        "name": [{"family": "Sample", "given": ["Jordan"]}],
        "birthDate": "1991-08-19",
    }


def header(sender: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resourceType": "MessageHeader",
        "id": "header-1",
        "eventCoding": {"system": "https://example.org/event", "code": "safeguarding-concern"},
        "sender": sender
        if sender is not None
        else {"identifier": {"system": ODS, "value": "X99ZZ"}},
        "source": {"software": "ExampleEPR", "version": "4.2", "endpoint": "https://example.org"},
        "author": {"display": "Health Visitor 0042"},
    }


def bundle(
    *resources: dict[str, Any],
    kind: str = "message",
    identifier: str | None = "SGR-2026-000123",
    message_header: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    if kind == "message":
        entries.append(
            {
                "fullUrl": "urn:uuid:0f6b3c52-2b8e-4f5a-a3c4-6d1e9f7a8b01",
                "resource": message_header or header(),
            }
        )
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": f"{BASE}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
        }
        if kind in {"batch", "transaction"}:
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        entries.append(entry)
    document: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": kind,
        "timestamp": "2026-11-25T09:12:00+00:00",
        "entry": entries,
    }
    if identifier is not None:
        document["identifier"] = {"system": f"{BASE}/Id/referral", "value": identifier}
    return document
