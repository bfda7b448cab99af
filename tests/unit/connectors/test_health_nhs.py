"""Health as NHS England sends it: CP-IS flags, plans and access notifications, BaRS referrals.

Every committed example (NHS England's own in ``tests/data/nhs-england``, the hub's own
synthetic ones in ``tests/data/health``) has its expected answer here: refused with a
named reason, or accepted with its kind and the areas the default policy sends it to.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import FieldError, ParseFailed
from connectors.health import CONNECTOR
from hub.policy import decide, load_policy
from hub.settings import PROJECT_ROOT
from schemas.common import (
    Area,
    Concern,
    ConsentStatus,
    NhsNumberStatus,
    PlanType,
    RiskLevel,
    SubjectRole,
)
from schemas.envelope import Envelope, split_envelope
from schemas.history import HistorySummary
from tests.unit.connectors.documents import VALID_NHS, bundle, consent, flag, patient
from tests.unit.connectors.fhirkit import JSON, XML, failures, parse
from tests.unit.connectors.fuzzkit import FUZZ, parses_or_fails_precisely
from tests.unit.connectors.partners import CONTEXT

NHS_ENGLAND = PROJECT_ROOT / "tests" / "data" / "nhs-england"
OWN = PROJECT_ROOT / "tests" / "data" / "health"
POLICY = load_policy()
CONCERN = "health.safeguarding_concern"
ACCESS = "health.cpis_access"
SNOMED = "http://snomed.info/sct"
ENGLAND_FLAG = "https://fhir.nhs.uk/England/CodeSystem/England-FlagCategoryPatient"
BARS_FLAG = "https://fhir.nhs.uk/CodeSystem/flag-categories-bars"
BARS_SG = "https://fhir.nhs.uk/CodeSystem/safeguarding-codes-bars"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"


def content_type(path: Path) -> str:
    return XML if path.suffix == ".xml" else JSON


def destinations(envelope: Envelope, **history: Any) -> set[Area]:
    meta, _ = split_envelope(envelope)
    return set(decide(POLICY, meta, HistorySummary(**history)).destinations)


def codes(envelope: Envelope) -> set[str]:
    return {f.code for f in envelope.quality.findings}


# ---------------------------------------------------------------------- every example


@dataclass(frozen=True)
class Accepted:
    kind: str
    areas: frozenset[Area]


@dataclass(frozen=True)
class Refused:
    field: str
    reason: str


M, ADULT, EH = frozenset({Area.MASH}), frozenset({Area.ADULT_SERVICES}), frozenset({Area.RETURNED})
SEARCHSET = Refused("Bundle.type", "a Bundle of type searchset is the answer to a search")
EXPECTED: dict[str, Accepted | Refused] = {
    # NHS England, CP-IS Patient Flag IG: the flag, its plan and team, a Patient elsewhere.
    "nhs-england/cpis/CPIS-CPP-Bundle-Example.xml": Accepted(CONCERN, M),
    "nhs-england/cpis/CPIS-Flag-Example.xml": Accepted(CONCERN, M),
    "nhs-england/cpis/CPIS-CarePlan-Example.xml": Accepted(CONCERN, M),
    "nhs-england/cpis/CPIS-CareTeam-Example.xml": Refused("CareTeam", "no safeguarding content"),
    "nhs-england/cpis/PatientFlag-AlanMann-Example.xml": Refused(
        "Patient", "no safeguarding content about the Patient"
    ),
    "nhs-england/cpis/AddCPISRecordTransaction-Bundle-Example.xml": Refused(
        "Bundle.entry[1].resource.contained", "'meta' is not a resource"
    ),
    # NHS England, CP-IS API: the answer to a search, not a message (see docs/formats/health.md).
    "nhs-england/cpis/CPIS-GetCareTeamResult-Example.xml": SEARCHSET,
    "nhs-england/cpis/cpis-careteam-bundle-01.json": SEARCHSET,
    # NHS England, BaRS: an adult with a safeguarding flag and no child is an adult at
    # risk (the flag's text says "Child at risk" but names no child and codes nothing).
    "nhs-england/bars/POST-body.json": Accepted(CONCERN, ADULT),
    "nhs-england/bars/ValidationRequest-POST.json": Refused(
        "Bundle", "a BaRS message without a safeguarding Flag (category SG)"
    ),
    "nhs-england/bars/POST-111ToEDServiceRequest.json": Refused(
        "Bundle.entry[0].resource.destination[0].endpoint", "is required"
    ),
    # The hub's own synthetic messages, one per shape.
    "health/cpis-flag-looked-after-child.json": Accepted(CONCERN, M),
    "health/cpis-flag-snomed-https.xml": Accepted(CONCERN, M),
    "health/cpis-flag-unborn-child-plan.json": Accepted(CONCERN, M),
    "health/cpis-careteam.json": Accepted(CONCERN, M),
    "health/cpis-access.json": Accepted(ACCESS, M),
    "health/cpis-access-collection.xml": Accepted(ACCESS, M),
    "health/bars-referral-child.json": Accepted(CONCERN, M),
    "health/bars-referral-adult.json": Accepted(CONCERN, ADULT),
    "health/bars-referral-no-safeguarding-issues.json": Refused(
        "Bundle", "a BaRS message without a safeguarding Flag (category SG)"
    ),
    "health/implied-consent-early-help.json": Accepted(CONCERN, EH),
    "health/flag-patient-not-in-message.json": Accepted(CONCERN, M),
    "health/invalid-no-namespace.xml": Refused("body", "in the default namespace"),
    "health/invalid-destination-without-endpoint.xml": Refused(
        "Bundle.entry[0].resource.destination[0].endpoint", "is required"
    ),
}


def example_files() -> set[str]:
    data = PROJECT_ROOT / "tests" / "data"
    found = {p for folder in (NHS_ENGLAND, OWN) for p in folder.rglob("*.*")}
    return {str(p.relative_to(data)) for p in found if p.suffix in {".xml", ".json"}}


class TestEveryExample:
    """Each committed example gets its stated answer, through the real connector and policy."""

    def test_every_example_has_an_expectation(self) -> None:
        """The table covers exactly the example files."""
        assert example_files() == set(EXPECTED)

    @pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
    def test_example(self, name: str, expected: Accepted | Refused) -> None:
        """Accepted with its kind and areas (no history), or refused naming the problem."""
        path = PROJECT_ROOT / "tests" / "data" / name
        if isinstance(expected, Refused):
            errors = failures(path.read_bytes(), content_type(path))
            assert expected.field in errors, errors
            assert expected.reason in errors[expected.field]
            return
        (envelope,) = parse(path.read_bytes(), content_type(path))
        assert envelope.kind == expected.kind
        assert destinations(envelope) == expected.areas


# ---------------------------------------------------------------------- CP-IS


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OWN / name).read_text())
    return loaded


class TestCpisFlags:
    """CP-IS flags and plans: a child protection concern, the plan type and the authority."""

    def test_nhs_england_flag_bundle(self) -> None:
        """The IG's bundle: a child (age unknown) named only by reference, the plan, the LA."""
        raw = (NHS_ENGLAND / "cpis" / "CPIS-CPP-Bundle-Example.xml").read_bytes()
        (envelope,) = parse(raw, XML)
        (child,) = envelope.subjects
        assert (child.role, child.age_years, child.family_name) == (
            SubjectRole.CHILD,
            None,
            "Alan Mann",
        )
        assert "patient_not_in_message" in codes(envelope)
        (plan,) = envelope.plans
        assert plan.type is PlanType.CHILD_PROTECTION_PLAN
        assert plan.local_authority == "SFD1 - SHEFFIELD CITY COUNCIL"
        assert envelope.concerns == (Concern.CHILD_PROTECTION, Concern.HARM_FLAG)
        assert envelope.risk.level is RiskLevel.HIGH
        assert envelope.source.org_code == "A3E5I7"  # the flag's Provenance, a Spine URL

    @pytest.mark.parametrize(
        ("system", "code"),
        [
            (ENGLAND_FLAG, "child-protection-information-system-flag"),
            ("https://fhir.nhs.uk/England/CodeSystem/PatientFlagCategory", "CP-IS"),
            (SNOMED, "224353004"),
            ("https://snomed.info/sct", "224353004"),
        ],
    )
    def test_every_cpis_flag_code(self, system: str, code: str) -> None:
        """The England code, the draft category and SNOMED CT under either URI."""
        cpis = flag(codes=())
        cpis["code"] = {"coding": [{"system": system, "code": code}]}
        (envelope,) = parse(bundle(patient(), cpis))
        assert envelope.concerns == (Concern.CHILD_PROTECTION, Concern.HARM_FLAG)
        assert [p.type for p in envelope.plans] == [None]

    @pytest.mark.parametrize(
        ("code", "plan_type"),
        [
            ("342191000000101", PlanType.CHILD_PROTECTION_PLAN),
            ("764841000000100", PlanType.LOOKED_AFTER_CHILD),
            ("818901000000100", PlanType.UNBORN_CHILD_PROTECTION_PLAN),
        ],
    )
    def test_plan_types(self, code: str, plan_type: PlanType) -> None:
        """Each England-ChildProtectionPlan code is its plan type, a fact in clear."""
        doc = _load("cpis-flag-looked-after-child.json")
        doc["entry"][1]["resource"]["category"][0]["coding"][0]["code"] = code
        (envelope,) = parse(doc)
        assert [p.type for p in envelope.plans] == [plan_type]
        meta, content = split_envelope(envelope)
        assert meta.plans[0].type is plan_type
        assert meta.plans[0].local_authority == "EXC1 - EXAMPLE COUNTY COUNCIL"
        assert content.plans[0].start is not None

    def test_unborn_child_plan_is_held_against_the_mother(self) -> None:
        """The adult is the unborn child's parent, with a pregnancy: not an adult at risk."""
        (envelope,) = parse(_load("cpis-flag-unborn-child-plan.json"))
        (mother,) = envelope.subjects
        assert mother.role is SubjectRole.PARENT_CARER
        assert Concern.PREGNANCY in envelope.concerns
        assert Concern.ADULT_AT_RISK not in envelope.concerns

    def test_adult_with_a_child_protection_plan_goes_to_the_mash(self) -> None:
        """CP-IS information about an adult is checked by the MASH, never sent to adult services."""
        doc = _load("cpis-flag-looked-after-child.json")
        doc["entry"][3]["resource"]["birthDate"] = "1990-01-01"
        (envelope,) = parse(doc)
        assert "cpis_subject_adult" in codes(envelope)
        assert Concern.ADULT_AT_RISK not in envelope.concerns
        assert destinations(envelope) == {Area.MASH}

    def test_flag_pointing_at_a_plan_not_here_reports_an_untyped_plan(self) -> None:
        """NHS England's own flag names its CarePlan with another case: a plan of unstated type."""
        raw = (NHS_ENGLAND / "cpis" / "CPIS-Flag-Example.xml").read_bytes()
        (envelope,) = parse(raw, XML)
        assert [(p.type, p.local_authority) for p in envelope.plans] == [(None, None)]

    def test_open_case_goes_to_the_allocated_team(self) -> None:
        """With the child's case open, the flag goes to the team that holds it."""
        (envelope,) = parse(_load("cpis-flag-looked-after-child.json"))
        assert destinations(envelope, open_case=True) == {Area.ALLOCATED_TEAM}

    def test_careteam_with_a_plan_category_is_a_plan(self) -> None:
        """The CP-IS API's CareTeam, out of its searchset: plan, authority, child by NHS number."""
        search = json.loads((NHS_ENGLAND / "cpis" / "cpis-careteam-bundle-01.json").read_text())
        team = search["entry"][0]["resource"]
        (envelope,) = parse(team)
        (plan,) = envelope.plans
        assert (plan.type, plan.local_authority) == (
            PlanType.CHILD_PROTECTION_PLAN,
            "Islington Local Authority",
        )
        (child,) = envelope.subjects
        assert child.nhs_number_status is NhsNumberStatus.INVALID_CHECK_DIGIT
        assert {"patient_by_identifier", "nhs_number_check_digit"} <= codes(envelope)


class TestCpisAccess:
    """A CP-IS access notification: when and where a child with a plan was seen."""

    def test_single_audit_event(self) -> None:
        """The setting, its ODS code and the role come from the PractitionerRole that looked."""
        (envelope,) = parse(_load("cpis-access.json"))
        assert envelope.kind == ACCESS
        (access,) = envelope.accesses
        assert access.setting == "Example Surrey Hospitals NHS Trust - Emergency Department"
        assert (access.setting_org_code, access.accessed_by_role) == ("RX9ED", "Registered nurse")
        assert access.accessed_at == envelope.occurred_at
        (child,) = envelope.subjects
        assert (child.role, child.nhs_number) == (SubjectRole.CHILD, "9990001049")
        assert envelope.subject_key == CONTEXT.subject_key("nhs", "9990001049")
        assert envelope.source.org_code == "RX9ED"

    def test_the_access_details_travel_sealed(self) -> None:
        """Where the child was seen is sealed content, not routing metadata."""
        (envelope,) = parse(_load("cpis-access.json"))
        meta, content = split_envelope(envelope)
        assert "Emergency Department" not in meta.model_dump_json()
        assert content.accesses == envelope.accesses

    def test_the_practitioner_is_never_named(self) -> None:
        """Only the role of who looked is kept, never their name."""
        doc = _load("cpis-access.json")
        doc["contained"][1]["practitioner"] = {"display": "Dr Sample Person"}
        (envelope,) = parse(doc)
        assert "Sample Person" not in envelope.model_dump_json()

    def test_access_in_a_collection_with_the_child_as_entity(self) -> None:
        """The child as entity; the PractitionerRole by a reference relative to the fullUrls."""
        raw = (OWN / "cpis-access-collection.xml").read_bytes()
        (envelope,) = parse(raw, XML)
        (access,) = envelope.accesses
        assert access.setting_org_code == "RY9UT"  # from the bracket, as CP-IS writes it
        assert access.accessed_by_role == "Accident and Emergency doctor"

    def test_open_case_goes_to_the_allocated_team(self) -> None:
        """The team that holds the child's open case is told, instead of the MASH."""
        (envelope,) = parse(_load("cpis-access.json"))
        assert destinations(envelope, open_case=True) == {Area.ALLOCATED_TEAM}

    def test_an_audit_event_that_is_not_an_access_is_refused(self) -> None:
        """Only the ISO 21089 lifecycle access is a CP-IS access notification."""
        doc = _load("cpis-access.json")
        doc["type"] = {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"}
        errors = failures(doc)
        assert "is not a safeguarding message" in errors["AuditEvent.type"]

    def test_an_access_without_the_child_is_refused(self) -> None:
        """No agent of type PAT and no entity that is the Patient: nobody to tell about."""
        doc = _load("cpis-access.json")
        doc["agent"] = doc["agent"][1:]
        assert "must name the child" in failures(doc)["AuditEvent.agent"]


# ---------------------------------------------------------------------- BaRS


class TestBars:
    """BaRS referrals: only the safeguarding (SG) flag is safeguarding content."""

    def test_nhs_england_referral_is_an_adult_at_risk(self) -> None:
        """The adult's SG flag, no child: adult at risk, implied consent, ODS code spelt id."""
        raw = (NHS_ENGLAND / "bars" / "POST-body.json").read_bytes()
        (envelope,) = parse(raw)
        (adult,) = envelope.subjects
        assert (adult.role, adult.age_years) == (SubjectRole.VICTIM, 62)
        assert envelope.concerns == (Concern.HARM_FLAG, Concern.ADULT_AT_RISK)
        assert envelope.consent.status is ConsentStatus.IMPLIED_DIRECT_CARE
        assert envelope.source.org_code == "RND"
        assert envelope.narrative == "Child at risk"  # the other flags are not read

    def test_child_referral_goes_to_the_mash_without_consent(self) -> None:
        """A child's SG flag is a flag of harm: the MASH, shared without consent."""
        (envelope,) = parse(_load("bars-referral-child.json"))
        assert envelope.subjects[0].role is SubjectRole.CHILD
        assert envelope.concerns == (Concern.CHILD_PROTECTION, Concern.HARM_FLAG)
        assert (envelope.source.org_code, envelope.source.submitted_by) == (
            "NX9111",
            "Example NHS 111",  # the sender Organization: BaRS names no author
        )
        meta, _ = split_envelope(envelope)
        decision = decide(POLICY, meta, HistorySummary())
        assert set(decision.destinations) == {Area.MASH}
        assert decision.shared_without_consent

    def test_event_time_is_the_referral(self) -> None:
        """The referral's authoredOn is when it happened, not when the flag was raised."""
        (envelope,) = parse(_load("bars-referral-child.json"))
        assert envelope.occurred_at.isoformat() == "2026-11-25T21:40:00+00:00"

    def test_child_coded_flag_on_an_adult_says_no_child_is_named(self) -> None:
        """A child's safeguarding code on an adult's record: adult at risk, with a warning."""
        doc = _load("bars-referral-adult.json")
        sg = doc["entry"][5]["resource"]
        sg["code"]["coding"][0]["code"] = "836881000000105"
        (envelope,) = parse(doc)
        assert "child_concern_without_child" in codes(envelope)
        assert destinations(envelope) == {Area.ADULT_SERVICES}

    def test_unborn_child_code_on_the_mother_involves_a_child(self) -> None:
        """An SG flag for an unborn child: pregnancy, so the MASH."""
        doc = _load("bars-referral-adult.json")
        doc["entry"][2]["resource"]["birthDate"] = "1996-04-01"
        doc["entry"][5]["resource"]["code"]["coding"][0]["code"] = "878111000000109"
        (envelope,) = parse(doc)
        assert Concern.PREGNANCY in envelope.concerns
        assert destinations(envelope) == {Area.MASH}

    def test_other_flags_are_ignored_even_about_a_location(self) -> None:
        """A scene-safety flag about a Location is no error: it is not read at all."""
        raw = (NHS_ENGLAND / "bars" / "ValidationRequest-POST.json").read_bytes()
        errors = failures(raw)
        assert list(errors) == ["Bundle"]

    def test_no_safeguarding_issues_is_not_a_concern(self) -> None:
        """SG coded 'No safeguarding issues identified' beside a real SG flag is not read."""
        doc = _load("bars-referral-child.json")
        extra = copy.deepcopy(doc["entry"][5])
        extra["fullUrl"] = "urn:uuid:5a0e8c1e-0b7a-4a53-9a3e-2d6f4c8b1bff"
        extra["resource"]["code"] = {
            "coding": [{"system": BARS_SG, "code": "861931000000100"}],
            "text": "No safeguarding issues identified",
        }
        doc["entry"].append(extra)
        (envelope,) = parse(doc)
        assert "No safeguarding issues" not in envelope.narrative

    def test_a_serviceRequest_in_bars_is_not_a_concern(self) -> None:  # noqa: N802
        """Without an SG flag a BaRS referral has no safeguarding content, whatever else it has."""
        doc = _load("bars-referral-child.json")
        doc["entry"] = [e for e in doc["entry"] if e["resource"]["resourceType"] != "Flag"]
        assert "BaRS message without a safeguarding Flag" in failures(doc)["Bundle"]


# ---------------------------------------------------------------------- consent


class TestImpliedConsent:
    """Implied consent for direct care is its own status and never refuses a message."""

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            ({"policyRule": {"coding": [{"code": "IMPLIED"}]}}, ConsentStatus.IMPLIED_DIRECT_CARE),
            (
                {
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "https://fhir.nhs.uk/CodeSystem/consent-categories-bars",
                                    "code": "DRC",
                                }
                            ]
                        }
                    ]
                },
                ConsentStatus.IMPLIED_DIRECT_CARE,
            ),
        ],
        ids=["policy-rule-implied", "category-direct-care"],
    )
    def test_direct_care_is_not_consent_to_share(
        self, change: dict[str, Any], expected: ConsentStatus
    ) -> None:
        """IMPLIED, or the direct-care category even with permit: recorded as implied."""
        implied = consent() | change
        (envelope,) = parse(bundle(patient(), flag(), implied))
        assert envelope.consent.status is expected
        assert not envelope.consent.given
        assert envelope.consent.no_consent_reason is not None
        assert "no_consent_reason_defaulted" in codes(envelope)

    def test_a_refusal_stays_a_refusal(self) -> None:
        """Deny wins over a direct-care rule."""
        denied = consent(provision="deny") | {"policyRule": {"coding": [{"code": "IMPLIED"}]}}
        denied["extension"] = [
            {
                "url": "https://fhir.safeguarding-hub.example/StructureDefinition/no-consent-reason",
                "valueCode": "would_prejudice_protection",
            }
        ]
        (envelope,) = parse(bundle(patient(), flag(), denied))
        assert envelope.consent.status is ConsentStatus.REFUSED

    def test_early_help_is_returned(self) -> None:
        """Below significant harm, implied consent is not the agreement early help needs."""
        (envelope,) = parse(_load("implied-consent-early-help.json"))
        meta, _ = split_envelope(envelope)
        decision = decide(POLICY, meta, HistorySummary())
        assert decision.destinations == (Area.RETURNED,)
        assert decision.returned_reasons


# ---------------------------------------------------------------------- subjects


class TestSubjects:
    """A Patient in the message, by reference or NHS number, or one a reference names."""

    def test_reference_with_display_to_a_patient_elsewhere(self) -> None:
        """A coded flag about a Patient not here: accepted, a child (fail-safe), with a finding."""
        (envelope,) = parse(_load("flag-patient-not-in-message.json"))
        (child,) = envelope.subjects
        assert (child.role, child.family_name) == (SubjectRole.CHILD, "Baby EXAMPLE")
        assert "patient_not_in_message" in codes(envelope)
        assert destinations(envelope) == {Area.MASH}

    def test_reference_without_display(self) -> None:
        """Without a display the person is nameless, and still a child to protect."""
        doc = _load("flag-patient-not-in-message.json")
        del doc["entry"][1]["resource"]["subject"]["display"]
        (envelope,) = parse(doc)
        assert envelope.subjects[0].family_name is None

    def test_nhs_number_identifier_finds_the_patient_in_the_bundle(self) -> None:
        """A logical reference by NHS number resolves to the Patient carrying that number."""
        by_number = flag()
        by_number["subject"] = {"identifier": {"system": NHS_NUMBER, "value": VALID_NHS}}
        (envelope,) = parse(bundle(patient(), by_number))
        (child,) = envelope.subjects
        assert (child.given_name, child.age_years) == ("Alex", 10)
        assert "patient_by_identifier" not in codes(envelope)

    def test_adult_concern_about_a_person_elsewhere_is_an_adult(self) -> None:
        """A person named only by reference is an adult when the concern is an adult's."""
        doc = _load("bars-referral-adult.json")
        doc["entry"] = [e for e in doc["entry"] if e["resource"]["resourceType"] != "Patient"]
        (envelope,) = parse(doc)
        assert envelope.subjects[0].role is SubjectRole.VICTIM
        assert destinations(envelope) == {Area.ADULT_SERVICES}

    def test_a_concern_about_a_location_is_refused(self) -> None:
        """A safeguarding flag must be about a person."""
        coded = flag(codes=("neglect",))
        coded["subject"] = {"reference": "Location/ward-7"}
        errors = failures(bundle(coded, kind="collection"))
        assert (
            errors["Bundle.entry[0].resource.subject"] == "must reference a Patient, not a Location"
        )

    def test_an_uncoded_flag_about_a_patient_elsewhere_is_refused(self) -> None:
        """Without a safeguarding code there is nothing to tell it from any other record."""
        uncoded = flag(codes=())
        errors = failures(bundle(uncoded, kind="collection"))
        assert "is not in the bundle" in errors["Bundle.entry[0].resource.subject"]


# ---------------------------------------------------------------------- FHIR itself


class TestInvalidFhir:
    """Invalid FHIR is refused naming each problem, in the caller's syntax."""

    def test_contained_that_is_not_a_resource_is_named_for_each_entry(self) -> None:
        """NHS England's draft transaction puts meta straight into contained, three times."""
        raw = (NHS_ENGLAND / "cpis" / "AddCPISRecordTransaction-Bundle-Example.xml").read_bytes()
        errors = failures(raw, XML)
        assert set(errors) == {f"Bundle.entry[{i}].resource.contained" for i in (1, 2, 3)}

    def test_every_cardinality_error_of_the_bars_draft(self) -> None:
        """The unmerged BaRS draft: each R4 violation by path."""
        raw = (NHS_ENGLAND / "bars" / "POST-111ToEDServiceRequest.json").read_bytes()
        errors = failures(raw)
        assert len(errors) == 7
        assert "Bundle.entry[21].resource.policyRule.root" in errors

    def test_xml_errors_have_full_paths(self) -> None:
        """The XML reader stops at the first bad element; the hub names every one by path."""
        raw = (OWN / "invalid-destination-without-endpoint.xml").read_bytes()
        raw = raw.replace(
            b'<status value="active"/>', b'<status value="active"/><status value="x"/>', 1
        )
        errors = failures(raw, XML)
        assert "Bundle.entry[0].resource.destination[0].endpoint" in errors
        assert any(field.startswith("Bundle.entry[2].resource.status") for field in errors)

    @pytest.mark.parametrize("depth", [40, 250])
    def test_deeply_nested_invalid_xml_is_refused_not_a_crash(self, depth: int) -> None:
        """Locating errors in deep XML gives up quietly where the library's own error stands."""
        nested = b'<extension url="x">' * depth + b"</extension>" * depth
        raw = (
            b'<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource>'
            b'<Flag><status value="active"/><code>' + nested + b"</code></Flag>"
            b"</resource></entry></Bundle>"
        )
        errors = failures(raw, XML)
        assert any(field.endswith("subject") for field in errors)

    def test_xml_caller_gets_an_xml_operation_outcome(self) -> None:
        """The OperationOutcome is FHIR XML for an XML caller, naming the problem."""
        raw = (OWN / "invalid-destination-without-endpoint.xml").read_bytes()
        with pytest.raises(ParseFailed) as caught:
            parse(raw, XML)
        document = CONNECTOR.error_document(caught.value, "application/fhir+xml; fhirVersion=4.0")
        assert document.media_type == "application/fhir+xml"
        outcome = OperationOutcome.model_validate_xml(document.body)
        (issue,) = outcome.issue
        assert issue.expression == ["Bundle.entry[0].resource.destination[0].endpoint"]
        assert issue.code == "required"

    def test_xml_outcome_survives_characters_xml_cannot_hold(self) -> None:
        """A diagnostic quoting a control character is still a well-formed document."""
        document = CONNECTOR.error_document(
            ParseFailed([FieldError("body", "bad \x01 byte")]), "application/xml"
        )
        assert OperationOutcome.model_validate_xml(document.body).issue[0].diagnostics

    def test_searchset_says_what_to_send_instead(self) -> None:
        """A search result is not a message; the refusal says what to send."""
        raw = (NHS_ENGLAND / "cpis" / "CPIS-GetCareTeamResult-Example.xml").read_bytes()
        assert (
            "on its own, or in a message or collection Bundle" in failures(raw, XML)["Bundle.type"]
        )


class TestCapabilities:
    """The CapabilityStatement lists what is accepted, in JSON or XML."""

    @pytest.mark.parametrize("accept", ["", "application/fhir+json", "*/*"])
    def test_json(self, accept: str) -> None:
        """By default, FHIR JSON that the R4 model accepts."""
        document = CONNECTOR.capability_document(accept)
        assert document.media_type == "application/fhir+json"
        statement = CapabilityStatement.model_validate_json(document.body)
        kinds = {r.type for rest in statement.rest or [] for r in rest.resource or []}
        assert {"Bundle", "Flag", "CarePlan", "CareTeam", "AuditEvent"} <= kinds

    @pytest.mark.parametrize("accept", ["application/fhir+xml", "xml", "application/xml, */*"])
    def test_xml(self, accept: str) -> None:
        """Asked for XML (Accept or _format), FHIR XML."""
        document = CONNECTOR.capability_document(accept)
        assert document.media_type == "application/fhir+xml"
        assert CapabilityStatement.model_validate_xml(document.body).fhirVersion == "4.0.1"


class TestProfiles:
    """UK Core and NHS England profiles claimed in meta.profile are reported back."""

    def test_bars_profiles(self) -> None:
        """BaRS and UK Core profiles, each once, in document order; base FHIR ones are not."""
        (envelope,) = parse((NHS_ENGLAND / "bars" / "POST-body.json").read_bytes())
        assert envelope.profiles[0] == "https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage"
        assert "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient" in envelope.profiles
        assert len(set(envelope.profiles)) == len(envelope.profiles)
        assert not any(p.startswith("http://hl7.org/") for p in envelope.profiles)

    def test_england_profiles(self) -> None:
        """The Patient Flag IG's profiles, contained Provenance included."""
        raw = (NHS_ENGLAND / "cpis" / "CPIS-CPP-Bundle-Example.xml").read_bytes()
        (envelope,) = parse(raw, XML)
        assert envelope.profiles == (
            "https://fhir.nhs.uk/England/StructureDefinition/England-Flag-PatientFlag",
            "https://fhir.nhs.uk/England/StructureDefinition/England-Provenance-Flag",
            "https://fhir.nhs.uk/England/StructureDefinition/England-CarePlan-Flag",
            "https://fhir.nhs.uk/England/StructureDefinition/England-CareTeam-Flag",
        )

    def test_no_profile_no_report(self) -> None:
        """A message that claims none reports none."""
        (envelope,) = parse(bundle(patient(), flag()))
        assert envelope.profiles == ()


XML_EXAMPLES = sorted(
    p for folder in (NHS_ENGLAND, OWN) for p in folder.rglob("*.xml") if "invalid" not in p.name
)


class TestNeverCrashes:
    """Whatever NHS-shaped XML arrives, the parser returns envelopes or raises ParseFailed."""

    @FUZZ
    @given(data=st.data())
    def test_mutated_nhs_xml(self, data: st.DataObject) -> None:
        """NHS England's and the hub's XML examples, bytes cut, repeated or replaced."""
        raw = bytearray(data.draw(st.sampled_from(XML_EXAMPLES)).read_bytes())
        for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
            start = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
            end = data.draw(st.integers(min_value=start, max_value=min(len(raw), start + 40)))
            raw[start:end] = data.draw(
                st.sampled_from([b"", b"<", b">", b"x", b'"', raw[start:end] * 2, b"&amp;"])
            )
        parses_or_fails_precisely(CONNECTOR, bytes(raw), XML, CONTEXT)
