"""The connector's CapabilityStatement: what ``POST /v1/health/fhir`` accepts.

FHIR servers answer ``GET [base]/metadata`` with one, without a credential; the hub
does the same at ``/v1/health/fhir/metadata``. It is built from the vocabulary the
parser itself uses (:mod:`connectors.health.format`), so it cannot drift from it.
"""

from __future__ import annotations

from typing import Any

from connectors.health._fhir.decode import CONTENT_TYPES
from connectors.health.format import (
    ACCEPTED_BUNDLE_TYPES,
    CAPABILITY_DATE,
    RECOGNISED_PROFILES,
)

_DOCS = "docs/formats/health.md"
_ENGLAND = "https://fhir.nhs.uk/England/StructureDefinition/"
_UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def _resources() -> list[dict[str, Any]]:
    return [
        _resource(
            "Bundle",
            "A message, batch, transaction or collection Bundle (not a searchset: the "
            "answer to a search is not a message). A message Bundle is one envelope; the "
            "others one per person. BaRS message Bundles are read for their safeguarding "
            "Flags (SG).",
            profiles=("https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage",),
        ),
        _resource(
            "Flag",
            "A safeguarding concern: the hub's concern codes, a CP-IS flag "
            "(child-protection-information-system-flag, or SNOMED CT 224353004 under "
            "http or https), a BaRS SG flag, or an FGM-IS flag. Other national flags "
            "(reasonable adjustment, BaRS RA, RS, SS, ...) are ignored.",
            profiles=(_ENGLAND + "England-Flag-PatientFlag", _UK_CORE + "Flag"),
        ),
        _resource(
            "ServiceRequest",
            "A safeguarding referral (in a BaRS message it is the clinical referral, and "
            "is not read as a concern).",
            profiles=(_UK_CORE + "ServiceRequest",),
        ),
        _resource(
            "Communication",
            "A safeguarding concern sent as a note.",
            profiles=(_UK_CORE + "Communication",),
        ),
        _resource(
            "CarePlan",
            "A CP-IS plan: category child protection plan, looked-after child or unborn "
            "child protection plan (England-ChildProtectionPlan); careTeam names the local "
            "authority.",
            profiles=(_ENGLAND + "England-CarePlan-Flag",),
        ),
        _resource(
            "CareTeam",
            "A CP-IS plan's team: its name is the local authority; with a plan category it "
            "is a plan on its own.",
            profiles=(_ENGLAND + "England-CareTeam-Flag",),
        ),
        _resource(
            "AuditEvent",
            "A CP-IS access notification: ISO 21089 lifecycle access, the child as agent "
            "PAT or entity, the setting from the PractitionerRole or Organization that "
            "looked.",
            profiles=(_ENGLAND + "England-AuditEvent",),
        ),
        _resource(
            "Patient",
            "The person a concern is about, in the message; or named by reference or NHS "
            "number only (accepted for safeguarding content, with a finding).",
            profiles=(_UK_CORE + "Patient",),
        ),
        _resource(
            "Consent",
            "Consent to share (scope patient-privacy): permit, deny, or implied consent "
            "for direct care (policyRule IMPLIED, BaRS category DRC), which is not consent "
            "to share.",
            profiles=(_UK_CORE + "Consent",),
        ),
        _resource(
            "RelatedPerson",
            "Parents, household members, a person causing harm.",
            profiles=(),
        ),
    ]


def capability_statement() -> dict[str, Any]:
    """The CapabilityStatement, as JSON-ready data in FHIR element order."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "Safeguarding hub",
        "description": (
            "What the safeguarding hub's health endpoint accepts: safeguarding concerns, "
            f"CP-IS flags, plans and access notifications, BaRS referrals. See {_DOCS}."
        ),
        "kind": "instance",
        "implementation": {
            "description": "Safeguarding hub: partner ingest, health (POST /v1/health/fhir)"
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "xml", *CONTENT_TYPES],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "POST one document to /v1/health/fhir with a partner credential "
                    "(Authorization: Bearer). Accepted: 202 with the message ids and the "
                    "UK Core and NHS England profiles recognised; refused: 422 with an "
                    "OperationOutcome naming every problem, in the syntax sent. Bundle "
                    f"types: {', '.join(sorted(ACCEPTED_BUNDLE_TYPES))}. Profiles "
                    f"recognised: those under {', '.join(RECOGNISED_PROFILES)}."
                ),
                "security": {
                    "description": "A partner credential (Bearer) for POST; none for metadata."
                },
                "resource": _resources(),
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
            }
        ],
        "messaging": [
            {
                "documentation": (
                    "Message Bundles: the hub's own safeguarding-concern event and BaRS "
                    "servicerequest-request; a response (MessageHeader.response) is refused."
                )
            }
        ],
    }


def _resource(kind: str, documentation: str, *, profiles: tuple[str, ...]) -> dict[str, Any]:
    resource: dict[str, Any] = {"type": kind}
    if profiles:
        resource["supportedProfile"] = list(profiles)
    resource["documentation"] = documentation
    resource["interaction"] = [{"code": "create"}]
    return resource
