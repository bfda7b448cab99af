"""The health endpoint's FHIR side of the HTTP contract: metadata, profiles, XML refusals."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from hub.settings import PROJECT_ROOT
from schemas.common import Partner
from tests.memory_ingest import ingest_client, memory_ingest_deps

DATA = PROJECT_ROOT / "tests" / "data"
METADATA = "/v1/health/fhir/metadata"


@contextlib.asynccontextmanager
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    deps, tokens = memory_ingest_deps(tmp_path, datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    token = tokens[Partner.HEALTH]
    async with ingest_client(deps) as http:
        yield http, token


class TestMetadata:
    """GET /v1/health/fhir/metadata: the CapabilityStatement, to anyone, as FHIR servers do."""

    async def test_json_without_a_credential(self, tmp_path: Path) -> None:
        """No credential needed; FHIR JSON by default."""
        async with client(tmp_path) as (http, _):
            response = await http.get(METADATA)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
        statement = CapabilityStatement.model_validate_json(response.content)
        assert statement.fhirVersion == "4.0.1"

    @pytest.mark.parametrize(
        ("params", "headers"),
        [({"_format": "xml"}, {}), ({}, {"Accept": "application/fhir+xml"})],
        ids=["format-parameter", "accept-header"],
    )
    async def test_xml_on_request(
        self, tmp_path: Path, params: dict[str, str], headers: dict[str, str]
    ) -> None:
        """_format=xml or Accept: application/fhir+xml gives FHIR XML."""
        async with client(tmp_path) as (http, _):
            response = await http.get(METADATA, params=params, headers=headers)
        assert response.headers["content-type"].startswith("application/fhir+xml")
        CapabilityStatement.model_validate_xml(response.content)

    async def test_other_partners_have_none(self, tmp_path: Path) -> None:
        """Formats without a capability document serve no metadata route."""
        async with client(tmp_path) as (http, _):
            response = await http.get("/v1/police/notifications/metadata")
        assert response.status_code in {404, 405}


class TestAcceptanceAnswer:
    """The 202 answer reports the UK Core and NHS England profiles the hub recognised."""

    async def test_profiles_are_reported(self, tmp_path: Path) -> None:
        """NHS England's BaRS referral: its BaRS and UK Core profiles come back."""
        body = (DATA / "nhs-england" / "bars" / "POST-body.json").read_bytes()
        async with client(tmp_path) as (http, token):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
            response = await http.post("/v1/health/fhir", content=body, headers=headers)
        assert response.status_code == 202, response.text
        (message,) = response.json()["messages"]
        assert "https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage" in message["profiles"]

    async def test_xml_refusal_is_an_xml_operation_outcome(self, tmp_path: Path) -> None:
        """Invalid FHIR XML is answered 422 with an OperationOutcome in XML."""
        body = (DATA / "health" / "invalid-destination-without-endpoint.xml").read_bytes()
        async with client(tmp_path) as (http, token):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+xml"}
            response = await http.post("/v1/health/fhir", content=body, headers=headers)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/fhir+xml")
        outcome = OperationOutcome.model_validate_xml(response.content)
        expressions = [e for issue in outcome.issue for e in issue.expression or []]
        assert expressions == ["Bundle.entry[0].resource.destination[0].endpoint"]
