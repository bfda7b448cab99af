"""Authenticate before reading any body; a limit on every body, sign-in included.

FastAPI reads and parses a route's pydantic body before its dependencies run, so the
team API once answered an anonymous ``{`` with ``422`` (it had read and decoded it)
and would read any size of body for anyone. Starlette's form parser has no size limit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.teams.deps import TeamDeps
from schemas.common import Area, Partner
from tests.security.conftest import BodyMeter, client_at, running, team_client
from tests.security.servekit import ingest_deps

OUTCOME_PATH = f"/api/v1/areas/mash/messages/{uuid.uuid4()}/outcome"
JSON = {"Content-Type": "application/json"}
BIG = b'{"message_id":"x","outcome":"no_further_action","rationale":"' + b"a" * 5_000_000 + b'"}'


async def chunked(body: bytes) -> AsyncIterator[bytes]:
    """A body sent without a Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, len(body), 65536):
        yield body[start : start + 65536]


async def post_outcome_as_mash(
    deps: TeamDeps, content: bytes | AsyncIterator[bytes]
) -> tuple[httpx.Response, BodyMeter]:
    """POST ``content`` as an outcome with a MASH client's token; the answer and the meter."""
    token = deps.accounts.add_client(Area.MASH)
    async with team_client(deps) as (client, meter):
        headers = {**JSON, "Authorization": f"Bearer {token}"}
        answer = await client.post(OUTCOME_PATH, content=content, headers=headers)
    return answer, meter


class TestTeamApi:
    @pytest.mark.parametrize("body", [b"{", BIG], ids=["malformed", "5MB"])
    async def test_an_anonymous_body_is_401_and_never_read(
        self, team_deps: TeamDeps, body: bytes
    ) -> None:
        """No token: 401 before a byte of the body is read (it was 422, after parsing it)."""
        async with team_client(team_deps) as (client, meter):
            answer = await client.post(OUTCOME_PATH, content=body, headers=JSON)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == "Bearer"
        assert meter.read == 0

    async def test_an_unknown_token_is_401_and_the_body_never_read(
        self, team_deps: TeamDeps
    ) -> None:
        async with team_client(team_deps) as (client, meter):
            headers = {**JSON, "Authorization": "Bearer hubt_forged.secret"}
            answer = await client.post(OUTCOME_PATH, content=b"{", headers=headers)
        assert answer.status_code == 401
        assert meter.read == 0

    async def test_an_authenticated_body_over_the_limit_is_413_and_never_read(
        self, team_deps: TeamDeps
    ) -> None:
        answer, meter = await post_outcome_as_mash(team_deps, BIG)
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/problem+json"
        assert meter.read == 0

    async def test_a_body_without_a_length_is_411_and_never_read(self, team_deps: TeamDeps) -> None:
        answer, meter = await post_outcome_as_mash(team_deps, chunked(BIG))
        assert answer.status_code == 411
        assert meter.read == 0

    async def test_an_authenticated_malformed_body_is_422_listing_the_field(
        self, team_deps: TeamDeps
    ) -> None:
        """Past the gate the typed body is parsed as before: 422 problem naming the place."""
        answer, _meter = await post_outcome_as_mash(team_deps, b"{")
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"]

    def test_the_openapi_document_still_describes_the_outcome_body(
        self, team_deps: TeamDeps
    ) -> None:
        from hub.teams.app import create_app  # noqa: PLC0415

        document = create_app(team_deps).openapi()
        post = document["paths"]["/api/v1/areas/{area}/messages/{message_id}/outcome"]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/RecordOutcome"}


class TestIngest:
    async def test_an_anonymous_body_is_401_and_never_read(self, tmp_path: Path) -> None:
        from hub.ingest.app import create_app  # noqa: PLC0415

        deps, _tokens = ingest_deps(tmp_path)
        meter = BodyMeter(create_app(deps))
        async with client_at(meter, "203.0.113.5") as client:
            answer = await client.post("/v1/police/notifications", content=BIG, headers=JSON)
        assert answer.status_code == 401
        assert meter.read == 0

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer hub_nosuch.secret", "Basic cG9saWNlOnNlY3JldA==", "Bearer", "bearer  "],
        ids=["unknown-token", "basic-scheme", "no-token", "blank-token"],
    )
    async def test_a_bad_credential_is_401_and_the_body_never_read(
        self, tmp_path: Path, authorization: str
    ) -> None:
        """The submit route checks the credential itself (no dependency solving): still first."""
        from hub.ingest.app import create_app  # noqa: PLC0415

        deps, _tokens = ingest_deps(tmp_path)
        meter = BodyMeter(create_app(deps))
        headers = {**JSON, "Authorization": authorization}
        async with client_at(meter, "203.0.113.5") as client:
            answer = await client.post("/v1/police/notifications", content=BIG, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert meter.read == 0

    async def test_a_revoked_credential_is_401_at_once(self, tmp_path: Path) -> None:
        """Nothing caches a credential: the request after the revocation is refused."""
        from hub.ingest.app import create_app  # noqa: PLC0415

        deps, tokens = ingest_deps(tmp_path)
        meter = BodyMeter(create_app(deps))
        headers = {**JSON, "Authorization": f"Bearer {tokens[Partner.POLICE]}"}
        async with client_at(meter, "203.0.113.5") as client:
            before = await client.post("/v1/police/notifications", content=b"{", headers=headers)
            police = next(c for c in deps.credentials.credentials() if c.partner is Partner.POLICE)
            assert deps.credentials.revoke(police.credential_id)
            read = meter.read
            after = await client.post("/v1/police/notifications", content=BIG, headers=headers)
        assert before.status_code == 422
        assert after.status_code == 401
        assert meter.read == read

    async def test_another_partners_credential_is_403_and_the_body_never_read(
        self, tmp_path: Path
    ) -> None:
        from hub.ingest.app import create_app  # noqa: PLC0415

        deps, tokens = ingest_deps(tmp_path)
        meter = BodyMeter(create_app(deps))
        headers = {**JSON, "Authorization": f"Bearer {tokens[Partner.HEALTH]}"}
        async with client_at(meter, "203.0.113.5") as client:
            answer = await client.post("/v1/police/notifications", content=BIG, headers=headers)
        assert answer.status_code == 403
        assert meter.read == 0

    def test_the_openapi_document_still_names_the_bearer_scheme(self, tmp_path: Path) -> None:
        from hub.ingest.app import create_app  # noqa: PLC0415

        deps, _tokens = ingest_deps(tmp_path)
        document = create_app(deps).openapi()
        post = document["paths"]["/v1/police/notifications"]["post"]
        assert post["security"] == [{"HTTPBearer": []}]
        assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"

    async def test_a_body_over_the_endpoints_limit_is_413(self, tmp_path: Path) -> None:
        """Chunked, with no length to refuse up front: cut off at the limit (5 MiB), 413."""
        from hub.ingest.app import create_app  # noqa: PLC0415

        deps, tokens = ingest_deps(tmp_path)
        meter = BodyMeter(create_app(deps))
        fhir = {"Content-Type": "application/fhir+json"}
        headers = {**fhir, "Authorization": f"Bearer {tokens[Partner.HEALTH]}"}
        async with client_at(meter, "203.0.113.5") as client:
            answer = await client.post(
                "/v1/health/fhir", content=chunked(BIG + b" " * 1_000_000), headers=headers
            )
        assert answer.status_code == 413
        assert answer.json()["issue"][0]["code"] == "too-long"
        assert meter.read < 6 * 1024 * 1024


class TestForms:
    async def test_a_huge_sign_in_form_is_413_without_a_length(self, team_deps: TeamDeps) -> None:
        """Sent chunked (no Content-Length to check), the form is cut off at 64 KiB."""
        form = b"username=alice&password=" + b"a" * 5_000_000
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with team_client(team_deps) as (client, meter):
            answer = await client.post("/sign-in", content=chunked(form), headers=headers)
        assert answer.status_code == 413
        assert meter.read < 200_000

    async def test_a_huge_sign_in_form_with_a_length_is_413_unread(
        self, team_deps: TeamDeps
    ) -> None:
        form = b"username=alice&password=" + b"a" * 5_000_000
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with team_client(team_deps) as (client, meter):
            answer = await client.post("/sign-in", content=form, headers=headers)
        assert answer.status_code == 413
        assert meter.read == 0

    async def test_too_many_fields_or_a_file_upload_are_refused(self, team_deps: TeamDeps) -> None:
        many = "&".join(f"f{i}=x" for i in range(100)).encode()
        url_encoded = {"Content-Type": "application/x-www-form-urlencoded"}
        async with team_client(team_deps) as (client, _meter):
            fields = await client.post("/sign-in", content=many, headers=url_encoded)
            upload = await client.post(
                "/sign-in", files={"username": ("a.txt", b"alice")}, data={"password": "x"}
            )
        assert fields.status_code == 400
        assert upload.status_code == 415


class TestMonitor:
    async def test_the_monitor_reads_no_body(self) -> None:
        from hub.monitor.service import MonitorState  # noqa: PLC0415
        from hub.monitor.web import create_app  # noqa: PLC0415

        app = create_app(MonitorState())
        meter = BodyMeter(app)
        async with running(app), client_at(meter, "127.0.0.1") as client:
            answer = await client.post("/metrics", content=BIG)
        assert answer.status_code == 413
        assert json.loads(answer.text)["status"] == 413
        assert meter.read == 0
