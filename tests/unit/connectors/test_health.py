"""The health connector: FHIR R4 JSON and XML to envelopes, or an OperationOutcome."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import FieldError, ParseFailed
from connectors.health import CONNECTOR
from connectors.health.format import NO_CONSENT_REASON_URL, STATUTORY_GATEWAY_URL
from hub.settings import PROJECT_ROOT
from schemas.common import (
    Concern,
    ConsentStatus,
    NhsNumberStatus,
    NoConsentReason,
    Rag,
    RiskLevel,
    StatutoryGateway,
    SubjectRole,
)
from schemas.envelope import Envelope
from tests.unit.connectors.documents import (
    BAD_CHECK_DIGIT_NHS,
    ODS,
    VALID_NHS,
    bundle,
    consent,
    flag,
    header,
    patient,
    related,
    service_request,
)
from tests.unit.connectors.fhirkit import JSON, XML, parse, refusal
from tests.unit.connectors.fuzzkit import FUZZ, parses_or_fails_precisely
from tests.unit.connectors.partners import CONTEXT

DATA = PROJECT_ROOT / "tests" / "data" / "shared"
HL7 = DATA / "hl7-fhir-r4-core-examples"
UK_CORE = DATA / "nhs-uk-core-r4"
EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples" / "health"


def messages(exc: ParseFailed) -> list[str]:
    return [str(error) for error in exc.errors]


def codes(envelope: Envelope) -> list[str]:
    return [f.code for f in envelope.quality.findings]


# ---------------------------------------------------------------------- samples

SAMPLES: dict[str, str | None] = {
    # None: accepted. Otherwise a fragment of the error that refuses the file.
    "hl7-fhir-r4-core-examples/Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json": (
        "Bundle: no safeguarding content: no Flag, ServiceRequest or Communication"
    ),
    "hl7-fhir-r4-core-examples/Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json": (
        "Bundle.entry[0].resource.response: a response to a message is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Bundle-bundle-response.json": (
        "Bundle.type: a Bundle of type transaction-response is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Bundle-bundle-transaction.json": (
        "Bundle.entry[5].request.method: a DELETE request is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Communication-example.json": (
        "Communication.subject: reference Patient/example is not in the message"
    ),
    "hl7-fhir-r4-core-examples/Consent-consent-example-Emergency.json": (
        "Consent: a single Consent is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Consent-consent-example-basic.json": (
        "Consent: a single Consent is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Consent-consent-example-notThis.json": (
        "Consent: a single Consent is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Flag-example-encounter.json": (
        "Flag.subject: reference Patient/example is not in the message"
    ),
    "hl7-fhir-r4-core-examples/Flag-example.json": (
        "Flag.subject: reference Patient/example is not in the message"
    ),
    "hl7-fhir-r4-core-examples/MessageHeader-1cbdfb97-5859-48a4-8301-d54eab818d68.json": (
        "MessageHeader: a single MessageHeader is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/Patient-example.json": (
        "Patient: no safeguarding content about the Patient"
    ),
    "hl7-fhir-r4-core-examples/Patient-infant-fetal.json": (
        "Patient: no safeguarding content about the Patient"
    ),
    "hl7-fhir-r4-core-examples/RelatedPerson-peter.json": (
        "RelatedPerson: a single RelatedPerson is not a safeguarding message"
    ),
    "hl7-fhir-r4-core-examples/ServiceRequest-example.json": (
        "ServiceRequest.subject: reference Patient/example is not in the message"
    ),
    "hl7-fhir-r4-core-examples/package.json": (
        "resourceType: missing: the document is not a FHIR resource"
    ),
    "nhs-uk-core-r4/UKCore-Bundle-Batch-Example.xml": (
        "Bundle.entry[0].request.method: a GET request is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-Communication-FirstMMRVaccination-Example.xml": (
        "Communication.subject: reference Patient/UKCore-Patient-BabyPatient-Example "
        "is not in the message"
    ),
    "nhs-uk-core-r4/UKCore-Consent-ForInformationAccess-Example.xml": (
        "Consent: a single Consent is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-Flag-FoodAllergy-Example.xml": (
        "Flag.subject: reference Patient/UKCore-Patient-RichardSmith-Example is not in the message"
    ),
    "nhs-uk-core-r4/UKCore-MessageHeader-Discharge-Example.xml": (
        "MessageHeader: a single MessageHeader is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-OperationOutcome-DateError-Example.xml": (
        "OperationOutcome: a single OperationOutcome is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-Organization-WhiteRoseMedicalCentre-Example.xml": (
        "Organization: a single Organization is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-Patient-BabyPatient-Example.xml": (
        "Patient: no safeguarding content about the Patient"
    ),
    "nhs-uk-core-r4/UKCore-Patient-RichardSmith-Example.xml": (
        "Patient: no safeguarding content about the Patient"
    ),
    "nhs-uk-core-r4/UKCore-Practitioner-DoctorPaulRastall-Example.xml": (
        "Practitioner: a single Practitioner is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-Provenance-RARecordConsent-Example.xml": (
        "Provenance: a single Provenance is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-RelatedPerson-JoySmith-Example.xml": (
        "RelatedPerson: a single RelatedPerson is not a safeguarding message"
    ),
    "nhs-uk-core-r4/UKCore-ServiceRequest-HipReplacement-Example.xml": (
        "ServiceRequest.subject: reference Patient/UKCore-Patient-RichardSmith-Example "
        "is not in the message"
    ),
    "nhs-uk-core-r4/UKCore-Task-Colonoscopy-Example.xml": (
        "Task: a single Task is not a safeguarding message"
    ),
}


def sample_files() -> set[str]:
    found = {f"{HL7.name}/{path.name}" for path in HL7.glob("*.json")}
    return found | {f"{UK_CORE.name}/{path.name}" for path in UK_CORE.glob("*.xml")}


def strip_declaration(xml: bytes) -> bytes:
    return xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml


class TestSampleFiles:
    """Every real sample is accepted or refused with a specific reason, never a crash."""

    def test_every_sample_file_has_an_expectation(self) -> None:
        """The table below covers exactly the files in the shared data folders."""
        assert sample_files() == set(SAMPLES)

    @pytest.mark.parametrize(("name", "expected"), sorted(SAMPLES.items()))
    def test_sample(self, name: str, expected: str | None) -> None:
        """The sample is accepted, or refused with the reason in the table."""
        content_type = JSON if name.endswith(".json") else XML
        raw = (DATA / name).read_bytes()
        if expected is None:
            assert parse(raw, content_type)
        else:
            assert any(expected in text for text in messages(refusal(raw, content_type)))

    def test_uk_core_baby_with_its_communication_is_accepted(self) -> None:
        """The UK Core baby and the Communication about her, in one collection, are accepted."""
        baby = strip_declaration((UK_CORE / "UKCore-Patient-BabyPatient-Example.xml").read_bytes())
        note = (UK_CORE / "UKCore-Communication-FirstMMRVaccination-Example.xml").read_bytes()
        raw = (
            b'<Bundle xmlns="http://hl7.org/fhir">'
            b'<identifier><value value="UKCORE-1"/></identifier>'
            b'<type value="collection"/>'
            b'<entry><fullUrl value="https://fhir.hl7.org.uk/Patient/UKCore-Patient-BabyPatient-Example"/>'
            b"<resource>" + baby + b"</resource></entry>"
            b"<entry><resource>" + strip_declaration(note) + b"</resource></entry></Bundle>"
        )
        (envelope,) = parse(raw, XML)
        (child,) = envelope.subjects
        assert child.role is SubjectRole.CHILD
        assert child.age_years == 1
        assert envelope.concerns == (Concern.OTHER,)

    def test_uk_core_nhs_number_failing_modulus_11_is_kept_with_a_finding(self) -> None:
        """The official baby example's NHS number fails the check digit: kept, never keyed on."""
        baby = (UK_CORE / "UKCore-Patient-BabyPatient-Example.xml").read_bytes()
        number = baby.split(b'nhs-number" />')[1].split(b'value="')[1].split(b'"')[0].decode()
        raw = (
            b'<Bundle xmlns="http://hl7.org/fhir">'
            b'<identifier><value value="UKCORE-2"/></identifier>'
            b'<type value="collection"/><entry><resource>'
            + strip_declaration(baby)
            + b"</resource></entry>"
            b'<entry><resource><Flag><status value="active"/><code><text value="Synthetic"/></code>'
            b'<subject><reference value="Patient/UKCore-Patient-BabyPatient-Example"/></subject>'
            b"</Flag></resource></entry></Bundle>"
        )
        (envelope,) = parse(raw, XML)
        (child,) = envelope.subjects
        assert child.nhs_number == number
        assert child.nhs_number_status is NhsNumberStatus.INVALID_CHECK_DIGIT
        assert "nhs_number_check_digit" in codes(envelope)
        assert child.subject_key != CONTEXT.subject_key("nhs", number)


# ---------------------------------------------------------------------- behaviour


class TestExamples:
    """The documented examples parse, and the JSON and XML versions agree."""

    def test_json_and_xml_examples_give_the_same_envelope(self) -> None:
        """Both formats of the example yield identical envelopes."""
        from_json = parse((EXAMPLES / "message-bundle.json").read_bytes(), JSON)
        from_xml = parse((EXAMPLES / "message-bundle.xml").read_bytes(), XML)
        assert from_json == from_xml

    def test_example_is_a_child_with_a_flag_of_harm_and_consent(self) -> None:
        """The example carries a child, an active flag of harm and consent given."""
        (envelope,) = parse((EXAMPLES / "message-bundle.json").read_bytes(), JSON)
        child, mother = envelope.subjects
        assert (child.role, mother.role) == (SubjectRole.CHILD, SubjectRole.PARENT_CARER)
        assert child.nhs_number == VALID_NHS
        assert envelope.subject_key == child.subject_key
        assert Concern.HARM_FLAG in envelope.concerns
        assert envelope.consent.status is ConsentStatus.GIVEN
        assert (envelope.source.org_code, envelope.source.partner_reference) == (
            "X99ZZ",
            "SGR-2026-000123",
        )
        assert envelope.quality.score == 100


class TestSubjects:
    """Patients and RelatedPersons become subjects with NHS numbers, ages and roles."""

    def test_patient_with_nhs_number_yields_a_subject_with_that_number(self) -> None:
        """A valid NHS number is kept, marked valid, and keys the subject."""
        (envelope,) = parse(bundle(patient(), flag()))
        (child,) = envelope.subjects
        assert child.nhs_number == VALID_NHS
        assert child.nhs_number_status is NhsNumberStatus.VALID
        assert child.subject_key == CONTEXT.subject_key("nhs", VALID_NHS)

    def test_nhs_number_failing_check_digit_is_accepted_with_a_finding(self) -> None:
        """A number failing modulus 11 is kept with a finding and not used for the key."""
        (envelope,) = parse(bundle(patient(nhs=BAD_CHECK_DIGIT_NHS), flag()))
        (child,) = envelope.subjects
        assert child.nhs_number_status is NhsNumberStatus.INVALID_CHECK_DIGIT
        assert child.subject_key != CONTEXT.subject_key("nhs", BAD_CHECK_DIGIT_NHS)
        (found,) = [f for f in envelope.quality.findings if f.code == "nhs_number_check_digit"]
        assert found.field == "Bundle.entry[1].resource.identifier[0].value"
        assert found.severity == "warning"

    def test_malformed_nhs_number_is_dropped_with_a_finding(self) -> None:
        """An NHS number that is not ten digits is not kept."""
        (envelope,) = parse(bundle(patient(nhs="999 000 00"), flag()))
        assert envelope.subjects[0].nhs_number is None
        assert "nhs_number_format" in codes(envelope)

    @pytest.mark.parametrize(
        ("born", "role", "age"),
        [
            ("2008-11-25", SubjectRole.CHILD, 17),
            ("2008-11-24", SubjectRole.VICTIM, 18),
        ],
    )
    def test_child_by_birth_date_at_the_event(self, born: str, role: SubjectRole, age: int) -> None:
        """17 on the day of the referral is a child; 18 is an adult, whatever the day received."""
        (envelope,) = parse(bundle(patient(born=born), service_request()))
        (person,) = envelope.subjects
        assert (person.role, person.age_years) == (role, age)
        assert (Concern.ADULT_AT_RISK in envelope.concerns) is (role is SubjectRole.VICTIM)

    def test_patient_without_birth_date_and_no_sign_of_a_child_is_refused(self) -> None:
        """Without birthDate or a child's concern code, the hub cannot route it safely."""
        exc = refusal(bundle(patient(born=None), flag()))
        assert any(
            text.startswith("Bundle.entry[1].resource.birthDate: missing") for text in messages(exc)
        )

    @pytest.mark.parametrize(
        "extra",
        [
            pytest.param([flag(codes=("child_protection",))], id="child-protection-code"),
            pytest.param([flag(), related(code="MTH")], id="mother-related-person"),
        ],
    )
    def test_patient_without_birth_date_marked_a_child_is_a_child(
        self, extra: list[dict[str, Any]]
    ) -> None:
        """A child's concern code or a parent marks a Patient without birthDate as a child."""
        (envelope,) = parse(bundle(patient(born=None), *extra))
        assert envelope.subjects[0].role is SubjectRole.CHILD
        assert envelope.subjects[0].age_years is None
        assert "child_without_date_of_birth" in codes(envelope)

    def test_partial_birth_date_counts_from_its_latest_day(self) -> None:
        """A birth year alone is read as 31 December, so a possible child is a child."""
        (envelope,) = parse(bundle(patient(born="2008"), service_request()))
        assert envelope.subjects[0].role is SubjectRole.CHILD
        assert envelope.subjects[0].date_of_birth is None
        assert "date_of_birth_partial" in codes(envelope)

    def test_birth_date_after_the_event_is_refused(self) -> None:
        """A birthDate after the referral is an error."""
        exc = refusal(bundle(patient(born="2027-01-01"), service_request()))
        assert "Bundle.entry[1].resource.birthDate: is after the date of the event" in messages(exc)

    @pytest.mark.parametrize(
        ("code", "system", "role"),
        [
            ("MTH", None, SubjectRole.PARENT_CARER),
            ("GUARD", None, SubjectRole.PARENT_CARER),
            ("SIB", None, SubjectRole.HOUSEHOLD_MEMBER),
            (
                "person_causing_harm",
                "https://fhir.safeguarding-hub.example/CodeSystem/subject-role",
                SubjectRole.PERSON_CAUSING_HARM,
            ),
        ],
    )
    def test_related_person_role(self, code: str, system: str | None, role: SubjectRole) -> None:
        """A RelatedPerson's relationship gives its role."""
        (envelope,) = parse(bundle(patient(), flag(), related(code=code, system=system)))
        assert envelope.subjects[1].role is role

    def test_unresolved_related_person_is_refused(self) -> None:
        """A RelatedPerson of a Patient not in the bundle is an error, by path."""
        exc = refusal(bundle(patient(), flag(), related(subject="elsewhere")))
        assert (
            "Bundle.entry[3].resource.patient: reference Patient/elsewhere is not in the bundle"
            in messages(exc)
        )


class TestRisk:
    """Risk comes from the request priority and from flags of harm."""

    @pytest.mark.parametrize(
        ("priority", "level", "rag"),
        [
            ("routine", RiskLevel.STANDARD, Rag.GREEN),
            ("urgent", RiskLevel.MEDIUM, Rag.AMBER),
            ("asap", RiskLevel.HIGH, Rag.RED),
            ("stat", RiskLevel.HIGH, Rag.RED),
        ],
    )
    def test_priority_maps_to_level(self, priority: str, level: RiskLevel, rag: Rag) -> None:
        """ServiceRequest.priority maps to the canonical level; the grade is kept verbatim."""
        (envelope,) = parse(bundle(patient(), service_request(priority=priority)))
        assert (envelope.risk.level, envelope.risk.rag) == (level, rag)
        assert envelope.risk.partner_grade == priority

    def test_highest_priority_wins(self) -> None:
        """With several requests the highest priority is the message's grade."""
        doc = bundle(
            patient(),
            service_request(priority="routine"),
            service_request(sid="sr-2", priority="asap"),
        )
        (envelope,) = parse(doc)
        assert envelope.risk.partner_grade == "asap"

    def test_active_coded_flag_is_a_flag_of_harm(self) -> None:
        """An active Flag with a hub concern code is a flag of harm: high risk."""
        (envelope,) = parse(bundle(patient(), flag(codes=("physical_abuse",))))
        assert envelope.concerns == (Concern.PHYSICAL_ABUSE, Concern.HARM_FLAG)
        assert (envelope.risk.level, envelope.risk.partner_grade) == (RiskLevel.HIGH, "none")

    @pytest.mark.parametrize(
        ("status", "flag_codes", "finding"),
        [("inactive", ("neglect",), "flag_inactive"), ("active", (), "flag_not_coded")],
    )
    def test_flag_that_is_not_of_harm(
        self, status: str, flag_codes: tuple[str, ...], finding: str
    ) -> None:
        """An inactive Flag, or one without a hub code, is not a flag of harm."""
        (envelope,) = parse(bundle(patient(), flag(status=status, codes=flag_codes)))
        assert Concern.HARM_FLAG not in envelope.concerns
        assert envelope.risk.level is RiskLevel.STANDARD
        assert finding in codes(envelope)

    def test_unknown_priority_is_refused(self) -> None:
        """A priority that is not a FHIR request priority is an error."""
        exc = refusal(bundle(patient(), service_request(priority="whenever")))
        assert any(
            "Bundle.entry[2].resource.priority: 'whenever' is not a FHIR" in t
            for t in messages(exc)
        )

    def test_unknown_concern_code_is_a_finding(self) -> None:
        """A code of the hub's system that the hub does not know is reported."""
        (envelope,) = parse(bundle(patient(), flag(codes=("neglect", "dragons"))))
        assert "concern_code_unknown" in codes(envelope)
        assert envelope.concerns == (Concern.NEGLECT, Concern.HARM_FLAG)


class TestConsent:
    """Consent comes from a FHIR Consent; without one, from the ISA's defaults."""

    def test_permit_is_given(self) -> None:
        """An active permit Consent is consent given."""
        (envelope,) = parse(bundle(patient(), flag(), consent()))
        assert envelope.consent.status is ConsentStatus.GIVEN
        assert envelope.consent.recorded_by == "Health Visitor 0042"

    def test_without_consent_the_isa_defaults_apply_with_findings(self) -> None:
        """No Consent: not sought, with the ISA's reason and s11 gateway, flagged as defaulted."""
        (envelope,) = parse(bundle(patient(), flag()))
        assert envelope.consent.status is ConsentStatus.NOT_SOUGHT
        assert envelope.consent.no_consent_reason is NoConsentReason.CANNOT_REASONABLY_BE_OBTAINED
        assert envelope.consent.statutory_gateway is StatutoryGateway.CA2004_S11
        assert {"consent_not_recorded", "no_consent_reason_defaulted"} <= set(codes(envelope))

    def test_deny_without_a_reason_is_refused(self) -> None:
        """Consent refused, with no reason for sharing anyway, is an error."""
        exc = refusal(bundle(patient(), flag(), consent(provision="deny")))
        assert any("consent was refused: say why" in text for text in messages(exc))

    def test_deny_with_reason_and_gateway_extensions(self) -> None:
        """The hub's extensions on the Consent give the reason and gateway."""
        refused = consent(provision="deny")
        refused["extension"] = [
            {"url": NO_CONSENT_REASON_URL, "valueCode": "would_prejudice_protection"},
            {"url": STATUTORY_GATEWAY_URL, "valueString": "Children Act 1989 s47"},
        ]
        (envelope,) = parse(bundle(patient(), flag(), refused))
        assert envelope.consent.status is ConsentStatus.REFUSED
        assert envelope.consent.no_consent_reason is NoConsentReason.WOULD_PREJUDICE_PROTECTION
        assert envelope.consent.statutory_gateway is StatutoryGateway.CA1989_S47

    def test_reason_on_the_concern_resource(self) -> None:
        """Without a Consent, the reason may sit on the Flag itself."""
        coded = flag()
        coded["extension"] = [{"url": NO_CONSENT_REASON_URL, "valueCode": "cannot_be_given"}]
        (envelope,) = parse(bundle(patient(), coded))
        assert envelope.consent.no_consent_reason is NoConsentReason.CANNOT_BE_GIVEN
        assert "no_consent_reason_defaulted" not in codes(envelope)

    def test_unknown_reason_is_refused(self) -> None:
        """An extension value outside the hub's codes is an error naming the extension."""
        coded = flag()
        coded["extension"] = [{"url": NO_CONSENT_REASON_URL, "valueCode": "because"}]
        exc = refusal(bundle(patient(), coded))
        assert any(
            t.startswith("Bundle.entry[2].resource.extension[0].value[x]: 'because'")
            for t in messages(exc)
        )

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("inactive", ConsentStatus.WITHDRAWN),
            ("rejected", ConsentStatus.REFUSED),
            ("proposed", ConsentStatus.NOT_SOUGHT),
        ],
    )
    def test_consent_status_mapping(self, status: str, expected: ConsentStatus) -> None:
        """Consent.status maps to the envelope's consent status."""
        document = consent(status=status)
        document["extension"] = [{"url": NO_CONSENT_REASON_URL, "valueCode": "cannot_be_given"}]
        (envelope,) = parse(bundle(patient(), flag(), document))
        assert envelope.consent.status is expected

    def test_active_consent_without_permit_or_deny_is_refused(self) -> None:
        """An active Consent must say whether sharing is permitted."""
        exc = refusal(bundle(patient(), flag(), consent(provision=None)))
        assert any(t.startswith("Bundle.entry[3].resource.provision.type:") for t in messages(exc))


class TestMessageShape:
    """Bundle types, references, grouping into envelopes and message ids."""

    def test_transaction_is_accepted(self) -> None:
        """A transaction of POSTed resources is read like a batch."""
        assert parse(bundle(patient(), flag(), kind="transaction"))

    def test_batch_about_two_children_gives_two_envelopes(self) -> None:
        """Each Patient of a batch gets its own envelope, numbered in order."""
        doc = bundle(
            patient(),
            flag(),
            patient("sibling", nhs="9990000034"),
            flag("sibling", fid="flag-2"),
            kind="batch",
        )
        first, second = parse(doc)
        assert first.subjects[0].nhs_number == VALID_NHS
        assert second.subjects[0].nhs_number == "9990000034"
        assert first.message_id != second.message_id

    def test_message_bundle_is_one_envelope_with_every_patient(self) -> None:
        """A message is one event: one envelope, the sibling as a further subject."""
        (envelope,) = parse(bundle(patient(), flag(), patient("sibling", nhs="9990000034")))
        assert [s.role for s in envelope.subjects] == [SubjectRole.CHILD, SubjectRole.CHILD]

    def test_single_concern_with_contained_patient_is_accepted(self) -> None:
        """A Flag that contains its Patient is a message on its own."""
        single = flag()
        single["contained"] = [patient("p")]
        single["subject"] = {"reference": "#p"}
        (envelope,) = parse(single)
        assert envelope.source.partner_reference == "flag-1"
        assert envelope.subjects[0].nhs_number == VALID_NHS

    def test_message_must_start_with_a_message_header(self) -> None:
        """A message Bundle without its MessageHeader first is refused."""
        doc = bundle(patient(), flag(), kind="collection")
        doc["type"] = "message"
        assert (
            "Bundle.entry[0].resource: "
            "a message Bundle must start with its MessageHeader, not a Patient"
            in messages(refusal(doc))
        )

    def test_every_error_is_reported(self) -> None:
        """Several problems in one message are all listed, by path."""
        doc = bundle(
            patient(born=None),
            service_request(priority="soon"),
            related(subject="nobody"),
            identifier=None,
        )
        doc["entry"][0]["resource"]["id"] = None
        found = messages(refusal(doc))
        assert len(found) >= 3
        assert any(".priority:" in t for t in found)
        assert any(".birthDate:" in t for t in found)
        assert any("Patient/nobody is not in the bundle" in t for t in found)

    @pytest.mark.parametrize(
        ("sender", "org_code"),
        [
            ({"identifier": {"system": ODS, "value": "X99ZZ"}}, "X99ZZ"),
            ({"reference": "https://directory.spineservices.nhs.uk/Organization/Y1234"}, "Y1234"),
            ({"display": "Somewhere"}, "X99ZZ"),  # falls back to the requester's ODS code
        ],
    )
    def test_org_code_from_the_sender(self, sender: dict[str, Any], org_code: str) -> None:
        """The ODS code comes from MessageHeader.sender, else the requester."""
        (envelope,) = parse(bundle(patient(), service_request(), message_header=header(sender)))
        assert envelope.source.org_code == org_code

    def test_without_an_ods_code_the_default_is_used_with_a_finding(self) -> None:
        """No ODS code anywhere: UNKNOWN, with a warning finding."""
        (envelope,) = parse(
            bundle(patient(), flag(), message_header=header({"display": "Somewhere"}))
        )
        assert envelope.source.org_code == "UNKNOWN"
        assert "org_code_missing" in codes(envelope)

    def test_nested_bundle_is_refused(self) -> None:
        """A Bundle inside a Bundle is not accepted."""
        doc = bundle(patient(), flag(), kind="collection")
        doc["entry"].append(
            {"resource": {"resourceType": "Bundle", "id": "inner", "type": "collection"}}
        )
        assert "Bundle.entry[2].resource: a Bundle inside a Bundle is not accepted" in messages(
            refusal(doc)
        )

    @pytest.mark.parametrize(
        ("content_type", "expected"),
        [
            (
                "application/fhir+json; fhirVersion=5.0",
                "content-type: fhirVersion 5.0 is not supported",
            ),
        ],
    )
    def test_content_type_is_checked(self, content_type: str, expected: str) -> None:
        """Only FHIR R4 JSON and XML media types are accepted."""
        exc = refusal(bundle(patient(), flag()), content_type)
        assert any(t.startswith(expected) for t in messages(exc))

    def test_unknown_nested_resource_type_is_named(self) -> None:
        """An unknown resourceType inside a Bundle is named by path."""
        doc = bundle(patient(), flag(), kind="collection")
        doc["entry"].append({"resource": {"resourceType": "Dragon"}})
        assert (
            "Bundle.entry[2].resource.resourceType: 'Dragon' is not an R4 resource type"
            in messages(refusal(doc))
        )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Flag xmlns="http://hl7.org/fhir"><id value="x"/><code><text value="&lol9;"/></code></Flag>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Flag [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Flag xmlns="http://hl7.org/fhir"><id value="x"/><code><text value="&secret;"/></code></Flag>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Flag SYSTEM "http://127.0.0.1:9/evil.dtd">
<Flag xmlns="http://hl7.org/fhir"><id value="x"/></Flag>
"""


class TestXmlSafety:
    """Hostile XML is refused quickly, without expanding entities or fetching anything."""

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param(BILLION_LAUGHS, id="billion-laughs"),
            pytest.param(EXTERNAL_ENTITY, id="external-entity"),
            pytest.param(EXTERNAL_DTD, id="external-dtd"),
        ],
    )
    def test_dtd_is_refused(self, raw: bytes) -> None:
        """Any document type declaration is refused before anything is expanded."""
        started = time.perf_counter()
        exc = refusal(raw, XML)
        assert time.perf_counter() - started < 1.0
        assert [e.field for e in exc.errors] == ["body"]
        assert "DTD" in exc.errors[0].message
        assert "root:" not in str(exc)

    def test_element_outside_the_fhir_namespace_is_named(self) -> None:
        """An element in another namespace is refused by path."""
        raw = (
            b'<Flag xmlns="http://hl7.org/fhir"><id value="x"/><x:code xmlns:x="urn:other"/></Flag>'
        )
        assert "Flag.code: must be in the default namespace http://hl7.org/fhir" in messages(
            refusal(raw, XML)
        )

    def test_root_outside_the_fhir_namespace_is_refused(self) -> None:
        """A root element without the FHIR namespace is refused."""
        exc = refusal(b'<Flag><id value="x"/></Flag>', XML)
        assert exc.errors[0].field == "body"

    def test_unknown_element_is_refused(self) -> None:
        """An element FHIR does not define is refused, not a crash."""
        exc = refusal(
            b'<Flag xmlns="http://hl7.org/fhir"><id value="x"/><colour value="red"/></Flag>', XML
        )
        assert "Flag.colour: is not an R4 element here" in messages(exc)


def outcome_of(exc: ParseFailed) -> dict[str, Any]:
    """The connector's OperationOutcome for a refusal, as JSON."""
    document = CONNECTOR.error_document(exc, "application/fhir+json")
    assert document.media_type == "application/fhir+json"
    outcome: dict[str, Any] = json.loads(document.body)
    return outcome


class TestOperationOutcome:
    """A refusal is returned to FHIR callers as an OperationOutcome."""

    def test_shape(self) -> None:
        """One issue per error: severity, issue type, diagnostics and FHIRPath expression."""
        exc = refusal(bundle(patient(born=None), service_request(priority="soon")))
        outcome = outcome_of(exc)
        OperationOutcome.model_validate(outcome)
        assert outcome["resourceType"] == "OperationOutcome"
        assert len(outcome["issue"]) == len(exc.errors)
        by_path = {issue["expression"][0]: issue for issue in outcome["issue"]}
        assert by_path["Bundle.entry[1].resource.birthDate"]["code"] == "required"
        assert by_path["Bundle.entry[2].resource.priority"]["code"] == "invalid"
        assert all(
            issue["severity"] == "error" and issue["diagnostics"] for issue in outcome["issue"]
        )

    def test_not_supported(self) -> None:
        """A Bundle type the hub does not take is reported as not-supported."""
        doc = bundle(patient(), flag(), kind="collection")
        doc["type"] = "searchset"
        (issue,) = outcome_of(refusal(doc))["issue"]
        assert (issue["code"], issue["expression"]) == ("not-supported", ["Bundle.type"])

    def test_plain_field_errors_are_invalid(self) -> None:
        """An error raised without an issue type is reported as invalid."""
        outcome = outcome_of(ParseFailed([FieldError("body", "empty")]))
        assert outcome["issue"] == [
            {"severity": "error", "code": "invalid", "diagnostics": "empty", "expression": ["body"]}
        ]


# ---------------------------------------------------------------------- properties


class TestNeverCrashes:
    """Whatever XML arrives, the parser returns envelopes or raises ParseFailed only."""

    @FUZZ
    @given(data=st.data())
    def test_mutated_xml_documents(self, data: st.DataObject) -> None:
        """The XML example with bytes cut, repeated or replaced never crashes the parser."""
        raw = bytearray((EXAMPLES / "message-bundle.xml").read_bytes())
        for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
            start = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
            end = data.draw(st.integers(min_value=start, max_value=min(len(raw), start + 40)))
            raw[start:end] = data.draw(
                st.sampled_from([b"", b"<", b">", b"x", b'"', raw[start:end] * 2, b"&amp;"])
            )
        parses_or_fails_precisely(CONNECTOR, bytes(raw), XML, CONTEXT)
