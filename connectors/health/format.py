"""The FHIR vocabulary the health connector understands, and what each term maps to.

Everything a health partner's system must know to send a safeguarding concern is
here: the NHS and ODS identifier systems, the hub's own code systems and extensions
(documented in ``docs/formats/health.md``), the FHIR codes that carry risk and
consent, and the defaults of the information-sharing agreement (ISA) that apply when
a message does not state the legal grounds itself.
"""

from __future__ import annotations

from typing import Final

from schemas.common import (
    Concern,
    LawfulBasis,
    NoConsentReason,
    PlanType,
    Rag,
    RiskLevel,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)

KIND: Final = "health.safeguarding_concern"
"""The one envelope kind this connector produces."""

FHIR_NS: Final = "http://hl7.org/fhir"
XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
FHIR_VERSIONS: Final = frozenset({"4.0", "4.0.1"})
"""Values of the media type's ``fhirVersion`` parameter that mean FHIR R4."""

# ------------------------------------------------------------------ identifier systems

NHS_NUMBER_SYSTEM: Final = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM: Final = "https://fhir.nhs.uk/Id/ods-organization-code"
ODS_DIRECTORY: Final = "https://directory.spineservices.nhs.uk/Organization/"
"""An Organization reference under this URL names its ODS code (NHS Spine directory)."""

# ------------------------------------------------------------------ the hub's own terms

HUB_FHIR_BASE: Final = "https://fhir.safeguarding-hub.example/"
"""Canonical base of the hub's code systems and extensions (placeholder domain)."""

CONCERN_SYSTEM: Final = HUB_FHIR_BASE + "CodeSystem/concern"
"""Codes are the values of :class:`~schemas.common.Concern` (``neglect``, ...)."""

ROLE_SYSTEM: Final = HUB_FHIR_BASE + "CodeSystem/subject-role"
"""Codes are the values of :class:`~schemas.common.SubjectRole`, for RelatedPerson."""

NO_CONSENT_REASON_URL: Final = HUB_FHIR_BASE + "StructureDefinition/no-consent-reason"
"""Extension (valueCode, a :class:`~schemas.common.NoConsentReason` value)."""

STATUTORY_GATEWAY_URL: Final = HUB_FHIR_BASE + "StructureDefinition/statutory-gateway"
"""Extension (valueString, a :class:`~schemas.common.StatutoryGateway` value)."""

EXPECTED_DELIVERY_URL: Final = HUB_FHIR_BASE + "StructureDefinition/expected-date-of-delivery"
"""Extension (valueDate) on the RelatedPerson of an unborn child: the expected date."""

# ------------------------------------------------------------------ SNOMED CT

SNOMED_SYSTEM: Final = "http://snomed.info/sct"

SNOMED_CONCERNS: Final[dict[str, Concern]] = {
    # CP-IS: the child protection flag (NHS England CP-IS Flag example).
    "224353004": Concern.CHILD_PROTECTION,  # Child protection finding (finding)
    # FGM-IS: the flag NHS England's FGM information sharing service requires.
    "902961000000107": Concern.FEMALE_GENITAL_MUTILATION,  # Family history of FGM (situation)
    "713834002": Concern.CHILD_SEXUAL_EXPLOITATION,  # Victim of child sexual exploitation
    "734998001": Concern.TRAFFICKING,  # Victim of human trafficking (finding)
    "225826001": Concern.SEXUAL_ABUSE,  # Victim of sexual abuse (finding)
    "706893006": Concern.DOMESTIC_ABUSE,  # Victim of intimate partner abuse (finding)
}
"""SNOMED CT concepts read as concern codes, where a concept exists for the concern.

Only concepts whose meaning is published with them are mapped (the sources are listed
in ``docs/formats/health.md``); other SNOMED CT codes are not concerns. A partner with
no SNOMED CT concept for a concern (criminal exploitation, forced marriage,
radicalisation, ...) uses the hub's concern code system."""

CHILD_ONLY_CONCERNS: Final = frozenset(
    {
        Concern.CHILD_PROTECTION,
        Concern.CHILD_SEXUAL_EXPLOITATION,
        Concern.CHILD_CRIMINAL_EXPLOITATION,
    }
)
"""Concern codes that only apply to a child: they mark a Patient without birthDate as one."""

# ------------------------------------------------------------------ message structure

BUNDLE_TYPES: Final = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
        "subscription-notification",
    }
)
"""Every FHIR R4/R4B Bundle.type."""

ACCEPTED_BUNDLE_TYPES: Final = frozenset({"message", "batch", "transaction", "collection"})
"""Bundle types that carry new information; responses, searches and documents do not."""

WRITE_METHODS: Final = frozenset({"POST", "PUT"})
"""Bundle.entry.request methods that carry a resource in a batch or transaction."""

CONCERN_TYPES: Final = ("Flag", "ServiceRequest", "Communication")
"""Resources that state a safeguarding concern about a Patient."""

STATUSES: Final[dict[str, frozenset[str]]] = {
    "Flag": frozenset({"active", "inactive", "entered-in-error"}),
    "ServiceRequest": frozenset(
        {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
    ),
    "Communication": frozenset(
        {
            "preparation",
            "in-progress",
            "not-done",
            "on-hold",
            "stopped",
            "completed",
            "entered-in-error",
            "unknown",
        }
    ),
}
"""FHIR status codes of each concern resource; ``entered-in-error`` is refused."""

# ------------------------------------------------------------------ risk

PRIORITY_RISK: Final[dict[str, tuple[int, RiskLevel, Rag]]] = {
    "routine": (0, RiskLevel.STANDARD, Rag.GREEN),
    "urgent": (1, RiskLevel.MEDIUM, Rag.AMBER),
    "asap": (2, RiskLevel.HIGH, Rag.RED),
    "stat": (3, RiskLevel.HIGH, Rag.RED),
}
"""FHIR request priority (ServiceRequest, Communication) to rank, level and RAG."""

HARM_FLAG_RISK: Final = (RiskLevel.HIGH, Rag.RED)
"""An active flag of harm is significant harm (DESIGN.md section 8, rule 1)."""

NO_GRADE: Final = "none"
"""Risk.partner_grade when the message states no priority (a Flag has none)."""

# ------------------------------------------------------------------ consent

CONSENT_SCOPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/consentscope"
SHARING_SCOPE: Final = "patient-privacy"
"""Consent.scope of a consent to share; treatment and research consents are ignored."""

CONSENT_STATUSES: Final = frozenset(
    {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
)
OPT_IN: Final = frozenset({"OPTIN", "OPTINR"})
OPT_OUT: Final = frozenset({"OPTOUT", "OPTOUTE"})
"""Consent.policyRule codes (v3-ActCode) read when the provision has no type."""

LAWFUL_BASIS: Final = LawfulBasis.PUBLIC_TASK
SPECIAL_CATEGORY: Final = SpecialCategoryCondition.SAFEGUARDING
"""Health shares safeguarding concerns under UK GDPR 6(1)(e) and DPA 2018 Sch 1 para 18,
with or without consent: consent is never the lawful basis (ICO guidance)."""

ISA_NO_CONSENT_REASON: Final = NoConsentReason.CANNOT_REASONABLY_BE_OBTAINED
ISA_STATUTORY_GATEWAY: Final = StatutoryGateway.CA2004_S11
"""The ISA's defaults when a message records no consent and does not say why: NHS
bodies share under their Children Act 2004 s11 duty; the reason is recorded as
defaulted by a data-quality finding, so nobody mistakes it for the clinician's."""

# ------------------------------------------------------------------ relationships

PARENT_CODES: Final = frozenset(
    {
        "PRN",
        "MTH",
        "FTH",
        "NPRN",
        "NMTH",
        "NFTH",
        "STPPRN",
        "STPMTH",
        "STPFTH",
        "ADOPTP",
        "ADOPTM",
        "ADOPTF",
        "GUARD",
        "72705000",  # SNOMED CT: Mother (as in the HL7 infant example)
    }
)
"""Relationship codes (v3-RoleCode, SNOMED CT) of a parent or guardian."""

RELATED_ROLES: Final = frozenset(
    {
        SubjectRole.PARENT_CARER,
        SubjectRole.HOUSEHOLD_MEMBER,
        SubjectRole.PERSON_CAUSING_HARM,
        SubjectRole.VICTIM,
        SubjectRole.CHILD,
        SubjectRole.UNBORN_CHILD,
    }
)
"""Roles a RelatedPerson may be given with a code from :data:`ROLE_SYSTEM`."""

# ------------------------------------------------------------------ NHS England programmes

ODS_SYSTEMS: Final = frozenset({ODS_SYSTEM, "https://fhir.nhs.uk/id/ods-organization-code"})
"""ODS identifier systems: BaRS and other NHS England examples spell it with lower-case ``id``."""

SNOMED_SYSTEMS: Final = frozenset({"http://snomed.info/sct", "https://snomed.info/sct"})
"""SNOMED CT's URI, and the ``https`` spelling some NHS England examples use."""

ENGLAND_FLAG_CATEGORY: Final = "https://fhir.nhs.uk/England/CodeSystem/England-FlagCategoryPatient"
CPIS_FLAG_CODES: Final = frozenset(
    {
        (ENGLAND_FLAG_CATEGORY, "child-protection-information-system-flag"),
        ("https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory", "CP-IS"),
        *((system, "224353004") for system in SNOMED_SYSTEMS),  # Child protection finding
    }
)
"""A Flag coded (``code`` or ``category``) with one of these is a CP-IS flag: the patient
is subject to a child protection plan, is looked after, or is pregnant with a child subject
to an unborn child protection plan."""

NATIONAL_FLAGS_IGNORED: Final = frozenset(
    {(ENGLAND_FLAG_CATEGORY, "national-reasonable-adjustment-flag")}
)
"""National Patient Flags that carry no safeguarding content: ignored."""

NATIONAL_SAFEGUARDING_FLAGS: Final = frozenset(
    {(ENGLAND_FLAG_CATEGORY, "female-genital-mutilation-flag")}
)
"""National Patient Flags that are safeguarding content besides CP-IS (FGM-IS)."""

PLAN_TYPES: Final[dict[str, PlanType]] = {
    "342191000000101": PlanType.CHILD_PROTECTION_PLAN,  # Subject to child protection plan
    "764841000000100": PlanType.LOOKED_AFTER_CHILD,  # Looked after child
    "818901000000100": PlanType.UNBORN_CHILD_PROTECTION_PLAN,  # Unborn child subject to CPP
}
"""SNOMED CT codes of ``England-ChildProtectionPlan``, in CarePlan or CareTeam ``category``."""

FLAG_DETAIL_URL: Final = "http://hl7.org/fhir/StructureDefinition/flag-detail"
"""Extension by which a CP-IS Flag names its CarePlan."""

AUDIT_LIFECYCLE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
AUDIT_ACCESS_CODE: Final = "access"
"""An AuditEvent of this type (the CP-IS API omits the code) is a CP-IS access notification."""

PATIENT_AGENT_CODE: Final = "PAT"
"""v3-RoleClass code of the AuditEvent agent that is the patient (CP-IS API)."""

BARS_EVENT_SYSTEM: Final = "https://fhir.nhs.uk/CodeSystem/message-events-bars"
BARS_PROFILE_PREFIX: Final = "https://fhir.nhs.uk/StructureDefinition/BARS"
"""A message whose MessageHeader event is of this system, or whose Bundle claims a BaRS
profile, is a Booking and Referral Standard message: its ServiceRequest is the clinical
referral, and only its safeguarding Flags are safeguarding content."""

BARS_FLAG_CATEGORY: Final = "https://fhir.nhs.uk/CodeSystem/flag-categories-bars"
BARS_SAFEGUARDING: Final = "SG"
"""BaRS flag category of a safeguarding concern; every other category is ignored."""

BARS_SAFEGUARDING_CODES: Final = "https://fhir.nhs.uk/CodeSystem/safeguarding-codes-bars"
BARS_NO_ISSUES: Final = "861931000000100"
"""BaRS safeguarding code "No safeguarding issues identified": not a concern."""

BARS_CONCERNS: Final[dict[str, tuple[Concern, ...]]] = {
    "836881000000105": (Concern.CHILD_PROTECTION,),  # Child is cause for safeguarding concern
    "878111000000109": (Concern.PREGNANCY, Concern.CHILD_PROTECTION),  # Unborn child ...
    "766561000000109": (Concern.ADULT_AT_RISK,),  # Adult safeguarding concern
    "417430008": (Concern.ADULT_AT_RISK,),  # Vulnerable adult
}
"""BaRS safeguarding codes (SNOMED CT ids under the BaRS system) that say whose concern it is;
the others are safeguarding flags without a concern code of the hub's."""

DIRECT_CARE_POLICY: Final = frozenset({"IMPLIED"})
"""Consent.policyRule codes (v3-ActCode) of implied consent for direct care."""

DIRECT_CARE_CATEGORIES: Final = frozenset(
    {("https://fhir.nhs.uk/CodeSystem/consent-categories-bars", "DRC")}
)
"""Consent.category codings of consent for direct care (BaRS)."""

RECOGNISED_PROFILES: Final = (
    "https://fhir.hl7.org.uk/StructureDefinition/UKCore-",
    "https://fhir.nhs.uk/England/StructureDefinition/",
    "https://fhir.nhs.uk/StructureDefinition/",
)
"""Prefixes of the UK Core and NHS England profiles reported back in the acceptance answer."""

ACCESS_KIND: Final = "health.cpis_access"
"""The kind of an envelope of CP-IS access notifications only."""

CAPABILITY_DATE: Final = "2026-11-26"
"""When the CapabilityStatement last changed: change it with what the connector accepts."""
