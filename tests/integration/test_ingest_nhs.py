"""Health as the NHS sends it, through the real HTTP ingest, broker and router.

One message of each shape (CP-IS flag, plan and access notification, BaRS referral,
implied consent, a subject by reference) is posted as a partner would and routed by
the default policy; each refusal is an OperationOutcome in the syntax sent, never a
5xx; a child's access notification reaches the team holding the child's open case.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from fhir.resources.R4B.operationoutcome import OperationOutcome

from hub.bootstrap import Hub
from hub.kafka import make_producer, partition_for, started
from hub.security.mac import Link
from hub.settings import PROJECT_ROOT, KafkaSettings
from hub.topology import OUTCOMES
from schemas.common import Area, Partner
from schemas.decision import DecisionRecorded
from schemas.outcome import Outcome
from tests.factories import outcome_recorded
from tests.integration.ingestkit import Ingest, ingest_hub, running_ingest
from tests.integration.routerkit import read_topic, running_router
from tests.security.kit import area_writer

DATA = PROJECT_ROOT / "tests" / "data"
HEALTH = "/v1/health/fhir"
ROUTED: dict[str, tuple[str, set[Area]]] = {
    "nhs-england/cpis/CPIS-CPP-Bundle-Example.xml": ("health.safeguarding_concern", {Area.MASH}),
    "nhs-england/cpis/CPIS-CarePlan-Example.xml": ("health.safeguarding_concern", {Area.MASH}),
    "nhs-england/bars/POST-body.json": ("health.safeguarding_concern", {Area.ADULT_SERVICES}),
    "health/cpis-flag-looked-after-child.json": ("health.safeguarding_concern", {Area.MASH}),
    "health/cpis-flag-snomed-https.xml": ("health.safeguarding_concern", {Area.MASH}),
    "health/cpis-flag-unborn-child-plan.json": ("health.safeguarding_concern", {Area.MASH}),
    "health/cpis-careteam.json": ("health.safeguarding_concern", {Area.MASH}),
    "health/cpis-access.json": ("health.cpis_access", {Area.MASH}),
    "health/cpis-access-collection.xml": ("health.cpis_access", {Area.MASH}),
    "health/bars-referral-child.json": ("health.safeguarding_concern", {Area.MASH}),
    "health/bars-referral-adult.json": ("health.safeguarding_concern", {Area.ADULT_SERVICES}),
    "health/implied-consent-early-help.json": ("health.safeguarding_concern", {Area.RETURNED}),
    "health/flag-patient-not-in-message.json": ("health.safeguarding_concern", {Area.MASH}),
}
"""One or more examples of every accepted shape, with the areas the default policy gives."""
REFUSED = {
    "nhs-england/cpis/cpis-careteam-bundle-01.json": "Bundle.type",
    "nhs-england/cpis/CPIS-GetCareTeamResult-Example.xml": "Bundle.type",
    "nhs-england/cpis/AddCPISRecordTransaction-Bundle-Example.xml": (
        "Bundle.entry[1].resource.contained"
    ),
    "nhs-england/bars/ValidationRequest-POST.json": "Bundle",
    "nhs-england/bars/POST-111ToEDServiceRequest.json": (
        "Bundle.entry[0].resource.destination[0].endpoint"
    ),
    "health/bars-referral-no-safeguarding-issues.json": "Bundle",
    "health/invalid-destination-without-endpoint.xml": (
        "Bundle.entry[0].resource.destination[0].endpoint"
    ),
    "health/invalid-no-namespace.xml": "body",
}
"""Refusals: the place each OperationOutcome names."""


def media(name: str) -> str:
    return "application/fhir+xml" if name.endswith(".xml") else "application/fhir+json"


async def post(ingest: Ingest, name: str, body: bytes | None = None) -> dict[str, object]:
    raw = body if body is not None else (DATA / name).read_bytes()
    headers = {"Content-Type": media(name)} | ingest.auth(Partner.HEALTH)
    response = await ingest.client.post(HEALTH, content=raw, headers=headers)
    assert response.status_code == 202, (name, response.status_code, response.text)
    (message,) = response.json()["messages"]
    assert isinstance(message, dict)
    return message


async def decisions(kafka: KafkaSettings, expected: int) -> dict[str, DecisionRecorded]:
    records = await read_topic(kafka, "hub.decisions", expected=expected)
    found = [DecisionRecorded.model_validate_json(r.value) for r in records]
    return {str(d.message_id): d for d in found}


async def test_every_shape_is_routed_as_the_policy_says(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """Posted over HTTP, each shape reaches exactly its areas; profiles come back at once."""
    hub = ingest_hub(hub_topics, tmp_path)
    async with running_ingest(hub) as ingest, running_router(hub):
        sent = {name: await post(ingest, name) for name in ROUTED}
        decided = await decisions(hub_topics, expected=len(sent))
    for name, message in sent.items():
        kind, areas = ROUTED[name]
        assert message["kind"] == kind, name
        decision = decided[str(message["message_id"])]
        assert set(decision.destinations) == areas, (name, decision.destinations)
    bars = sent["nhs-england/bars/POST-body.json"]["profiles"]
    assert "https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage" in bars  # type: ignore[operator]
    cpis = decided[str(sent["health/cpis-access.json"]["message_id"])]
    assert "cpis-plan-holder" in cpis.rules


async def test_refusals_are_operation_outcomes_in_the_syntax_sent(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """422 with an OperationOutcome, XML for XML, naming the place; nothing reaches Kafka."""
    hub = ingest_hub(hub_topics, tmp_path)
    async with running_ingest(hub) as ingest:
        for name, where in REFUSED.items():
            headers = {"Content-Type": media(name)} | ingest.auth(Partner.HEALTH)
            response = await ingest.client.post(
                HEALTH, content=(DATA / name).read_bytes(), headers=headers
            )
            assert response.status_code == 422, (name, response.status_code)
            assert response.headers["content-type"].startswith(media(name)), name
            if name.endswith(".xml"):
                outcome = OperationOutcome.model_validate_xml(response.content)
            else:
                outcome = OperationOutcome.model_validate_json(response.content)
            places = {e for issue in outcome.issue for e in issue.expression or []}
            assert where in places, (name, places)
        metadata = await ingest.client.get(f"{HEALTH}/metadata")
        assert metadata.status_code == 200
        assert metadata.json()["resourceType"] == "CapabilityStatement"
    assert await read_topic(hub_topics, "partner.health.inbound", idle_s=1.0) == []


async def test_access_notification_reaches_the_team_holding_the_open_case(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """The first access goes to the MASH; once a team opens the case, the next goes to it."""
    name = "health/cpis-access.json"
    hub = ingest_hub(hub_topics, tmp_path)
    async with running_ingest(hub) as ingest, running_router(hub):
        first = await post(ingest, name)
        (decision,) = (await decisions(hub_topics, expected=1)).values()
        assert decision.destinations == (Area.MASH,)
        await _open_case(hub, hub_topics, decision)
        await read_topic(hub_topics, "hub.subject-history", expected=2)
        again = json.loads((DATA / name).read_text())
        again["id"] = str(uuid.uuid4())
        again["recorded"] = "2026-11-25T21:12:09+00:00"
        second = await post(ingest, name, json.dumps(again).encode())
        decided = await decisions(hub_topics, expected=2)
    assert decided[str(first["message_id"])].destinations == (Area.MASH,)
    routed = decided[str(second["message_id"])]
    assert routed.destinations == (Area.ALLOCATED_TEAM,)
    assert {"cpis-plan-holder", "r8-open-case"} <= set(routed.rules)


async def _open_case(hub: Hub, kafka: KafkaSettings, decision: DecisionRecorded) -> None:
    """The MASH team opens a case, as its team instance writes it (MACed with its key)."""
    outcome = outcome_recorded(
        decision.message_id,
        decision.subject_key,
        Outcome.OPEN_CASE,
        "Child protection plan held by the children in care team (synthetic).",
        decided_at=decision.decided_at,
    )
    key, value = decision.subject_key.encode(), outcome.model_dump_json().encode()
    partition = partition_for(key, 6)
    headers = area_writer(hub, Link.OUTCOME, Area.MASH).headers(OUTCOMES, partition, key, value)
    producer = make_producer(kafka, "test-team")
    async with started(producer, "test outcome producer"):
        await producer.send_and_wait(
            kafka.topic(OUTCOMES), value, key=key, partition=partition, headers=list(headers)
        )
