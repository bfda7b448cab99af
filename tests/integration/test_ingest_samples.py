"""Every real FHIR sample posted as it is: accepted or refused with a reason, never a 500.

NHS England's CP-IS and BaRS examples, with their expected routes, are posted in
``test_ingest_nhs.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from hub.settings import KafkaSettings
from schemas.common import Partner
from tests.conftest import SHARED
from tests.integration.ingestkit import EXAMPLES, ingest_hub, running_ingest

SAMPLES = sorted(
    [
        *(SHARED / "hl7-fhir-r4-core-examples").glob("*.json"),
        *(SHARED / "nhs-uk-core-r4").glob("*.xml"),
    ]
)
HEALTH = "/v1/health/fhir"


def _outcome(body: bytes, media: str) -> OperationOutcome:
    if media.endswith("xml"):
        return OperationOutcome.model_validate_xml(body)
    return OperationOutcome.model_validate_json(body)


def content_type(path: Path) -> str:
    return "application/fhir+xml" if path.suffix == ".xml" else "application/fhir+json"


async def test_every_sample_is_accepted_or_refused_with_a_reason(
    hub_topics: KafkaSettings, tmp_path: Path
) -> None:
    """No sample gives a server error; each refusal is an OperationOutcome with diagnostics."""
    assert len(SAMPLES) >= 30
    hub = ingest_hub(hub_topics, tmp_path)
    async with running_ingest(hub) as ingest:
        auth = ingest.auth(Partner.HEALTH)
        for path in SAMPLES:
            headers = {"Content-Type": content_type(path)} | auth
            response = await ingest.client.post(HEALTH, content=path.read_bytes(), headers=headers)
            assert response.status_code in {202, 422}, (path.name, response.status_code)
            if response.status_code == 422:
                # In the caller's syntax: XML for an XML sample (issue 11).
                assert response.headers["content-type"] == content_type(path), path.name
                outcome = _outcome(response.content, content_type(path))
                assert all(issue.diagnostics for issue in outcome.issue), path.name


@pytest.mark.parametrize("example", ["message-bundle.json", "message-bundle.xml"])
async def test_the_synthetic_message_bundle_is_accepted(
    hub_topics: KafkaSettings, tmp_path: Path, example: str
) -> None:
    """The synthetic message bundle is accepted over HTTP, JSON and XML alike."""
    path = EXAMPLES / "health" / example
    hub = ingest_hub(hub_topics, tmp_path)
    async with running_ingest(hub) as ingest:
        headers = {"Content-Type": content_type(path)} | ingest.auth(Partner.HEALTH)
        response = await ingest.client.post(HEALTH, content=path.read_bytes(), headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["messages"][0]["kind"] == "health.safeguarding_concern"
