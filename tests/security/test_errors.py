"""Every error is problem details with the security headers; FHIR callers get OperationOutcomes.

An error page that leaks a stack trace, lacks the security headers or answers in a
format the caller cannot read is a finding in every penetration test. The framework's
own 404, 405 and 422 are covered as well as the apps' own refusals; a FHIR caller
(one that posts to the FHIR endpoint) gets every refusal as a FHIR OperationOutcome,
in XML when it sent XML (it always got JSON before).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from hub.ingest.app import create_app as ingest_app
from hub.ingest.testing import MemoryPublisher
from hub.monitor.service import MonitorState
from hub.monitor.web import create_app as monitor_app
from hub.settings import PROJECT_ROOT
from hub.teams.app import create_app as team_app
from hub.teams.deps import TeamDeps
from hub.web import SECURITY_HEADERS, TokenBuckets
from schemas.common import Partner
from tests.security.conftest import client_at, running
from tests.security.servekit import ingest_deps

PROBLEM = "application/problem+json"
EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples"
FHIR_XML = (EXAMPLES / "health" / "message-bundle.xml").read_bytes()
FHIR_JSON = (EXAMPLES / "health" / "message-bundle.json").read_bytes()


def assert_problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["status"] == status
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value, name


@pytest.fixture
async def ingest(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[Partner, str]]]:
    deps, tokens = ingest_deps(tmp_path)
    deps.limiter = TokenBuckets(burst=3, per_s=1e-6)
    app = ingest_app(deps)
    async with running(app), client_at(app, "203.0.113.5") as client:
        client.app_deps = deps  # type: ignore[attr-defined]
        yield client, tokens


class TestFrameworkErrors:
    async def test_ingest(self, ingest: tuple[httpx.AsyncClient, dict[Partner, str]]) -> None:
        client, _tokens = ingest
        assert_problem(await client.get("/nowhere"), 404)
        assert_problem(await client.delete("/v1/police/notifications"), 405)
        assert_problem(await client.get("/v1/police/messages/not-a-uuid"), 401)

    async def test_team_app(self, team_deps: TeamDeps) -> None:
        token = team_deps.accounts.add_client(team_deps.areas[0])
        auth = {"Authorization": f"Bearer {token}"}
        app = team_app(team_deps)
        async with running(app), client_at(app, "203.0.113.5") as client:
            assert_problem(await client.get("/api/v1/nowhere", headers=auth), 404)
            assert_problem(await client.delete("/api/v1/areas/mash/queue", headers=auth), 405)
            assert_problem(await client.get("/api/v1/areas/mash/queue?limit=x", headers=auth), 422)
            assert_problem(await client.get("/api/v1/areas/mash/queue"), 401)

    async def test_monitor(self) -> None:
        app = monitor_app(MonitorState())
        async with running(app), client_at(app, "127.0.0.1") as client:
            assert_problem(await client.get("/nowhere"), 404)
            assert_problem(await client.post("/metrics"), 405)


class TestFhirCallers:
    """Every refusal of a post to the FHIR endpoint: an OperationOutcome in the caller's syntax."""

    @pytest.mark.parametrize(
        ("media", "body"),
        [("application/fhir+xml", FHIR_XML), ("application/fhir+json", FHIR_JSON)],
        ids=["xml", "json"],
    )
    async def test_refusals(
        self,
        ingest: tuple[httpx.AsyncClient, dict[Partner, str]],
        media: str,
        body: bytes,
    ) -> None:
        client, tokens = ingest
        fhir = "/v1/health/fhir"
        health = {"Authorization": f"Bearer {tokens[Partner.HEALTH]}", "Content-Type": media}
        police = {"Authorization": f"Bearer {tokens[Partner.POLICE]}", "Content-Type": media}
        refusals = {
            401: await client.post(fhir, content=body, headers={"Content-Type": media}),
            403: await client.post(fhir, content=body, headers=police),
            413: await client.post(fhir, content=body + b" " * (6 << 20), headers=health),
            422: await client.post(fhir, content=body[: len(body) // 2], headers=health),
        }
        publisher = client.app_deps.publishers[Partner.HEALTH]  # type: ignore[attr-defined]
        assert isinstance(publisher, MemoryPublisher)
        publisher.fail_next = True
        refusals[503] = await client.post(fhir, content=body, headers=health)
        refusals[429] = await client.post(fhir, content=body, headers=health)
        codes = {}
        for status, answer in refusals.items():
            assert answer.status_code == status, (status, answer.text[:300])
            assert answer.headers["content-type"] == media
            outcome = _outcome(answer.content, media)
            codes[status] = outcome.issue[0].code
            assert answer.headers["x-frame-options"] == "DENY"
        assert codes == {
            401: "login",
            403: "forbidden",
            413: "too-long",
            422: codes[422],
            503: "transient",
            429: "throttled",
        }
        assert refusals[503].headers["retry-after"]

    async def test_an_unsupported_xml_type_is_answered_in_xml(
        self, ingest: tuple[httpx.AsyncClient, dict[Partner, str]]
    ) -> None:
        client, tokens = ingest
        headers = {"Authorization": f"Bearer {tokens[Partner.HEALTH]}", "Content-Type": "text/xml"}
        answer = await client.post("/v1/health/fhir", content=FHIR_XML, headers=headers)
        assert answer.status_code == 415
        assert answer.headers["content-type"] == "application/fhir+xml"
        assert _outcome(answer.content, "application/fhir+xml").issue[0].code == "not-supported"

    async def test_other_partners_get_problem_details(
        self, ingest: tuple[httpx.AsyncClient, dict[Partner, str]]
    ) -> None:
        client, _tokens = ingest
        answer = await client.post(
            "/v1/police/notifications", content=b"{}", headers={"Content-Type": "application/xml"}
        )
        assert_problem(answer, 401)


def _outcome(body: bytes, media: str) -> OperationOutcome:
    """The body read back as a valid FHIR R4 OperationOutcome in the syntax it claims."""
    if media.endswith("xml"):
        assert body.lstrip().startswith(b"<?xml")
        assert b'xmlns="http://hl7.org/fhir"' in body
        return OperationOutcome.model_validate_xml(body)
    return OperationOutcome.model_validate_json(body)
