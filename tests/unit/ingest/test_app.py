"""The ingest app on in-memory ports: every answer of the HTTP contract, no broker."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub.ingest.testing import MemoryLedger, MemoryPublisher
from hub.settings import PROJECT_ROOT
from hub.web import TokenBuckets
from schemas.common import Partner
from schemas.wire import MessageReceived
from tests.memory_ingest import PartnerClient, ingest_client, memory_ingest_deps

EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples"
NOTIFICATION = (EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes()
FHIR = (EXAMPLES / "health" / "message-bundle.json").read_bytes()
JSON = {"Content-Type": "application/json"}


@dataclass
class Rig(PartnerClient[Partner]):
    ledger: MemoryLedger
    publishers: dict[Partner, MemoryPublisher]

    async def post_police(self, body: bytes = NOTIFICATION) -> httpx.Response:
        headers = self.auth(Partner.POLICE, **JSON)
        return await self.client.post("/v1/police/notifications", content=body, headers=headers)


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, limiter: TokenBuckets | None = None) -> AsyncIterator[Rig]:
    now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    deps, tokens = memory_ingest_deps(tmp_path, now, limiter=limiter)
    assert isinstance(deps.ledger, MemoryLedger)
    publishers = {p: w for p, w in deps.publishers.items() if isinstance(w, MemoryPublisher)}
    async with ingest_client(deps) as client:
        yield Rig(client=client, tokens=tokens, ledger=deps.ledger, publishers=publishers)


class TestAccepting:
    """202 only after the write, with the ids; a resend writes nothing."""

    async def test_accepted_after_the_publisher_committed(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            response = await r.post_police()
            assert response.status_code == 202
            (message,) = response.json()["messages"]
            (record,) = r.publishers[Partner.POLICE].records
            written = MessageReceived.model_validate_json(record.value)
            assert str(written.metadata.message_id) == message["message_id"]
            assert record.key == written.metadata.subject_key.encode()
            assert not message["duplicate"]

    async def test_a_resend_returns_the_same_ids_and_writes_nothing(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            first = (await r.post_police()).json()["messages"][0]
            again = (await r.post_police()).json()["messages"][0]
            assert again["message_id"] == first["message_id"]
            assert again["duplicate"]
            assert len(r.publishers[Partner.POLICE].batches) == 1

    async def test_a_failed_write_is_503_and_nothing_is_known(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            r.publishers[Partner.POLICE].fail_next = True
            response = await r.post_police()
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert len(r.ledger) == 0
            assert (await r.post_police()).status_code == 202

    async def test_an_unavailable_publisher_is_503(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            await r.publishers[Partner.POLICE].stop()
            response = await r.post_police()
            assert response.status_code == 503
            assert "retry-after" in response.headers

    async def test_a_ledger_not_yet_synced_is_503(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            r.ledger.synced.clear()
            assert (await r.post_police()).status_code == 503


class TestRefusing:
    """Each refusal is a problem document with the right status."""

    @pytest.mark.parametrize(
        ("authorization", "status"),
        [(None, 401), ("Bearer nonsense", 401), ("Bearer hubp_abc.def", 401)],
    )
    async def test_credentials(
        self, tmp_path: Path, authorization: str | None, status: int
    ) -> None:
        async with rig(tmp_path) as r:
            headers = dict(JSON)
            if authorization:
                headers["Authorization"] = authorization
            response = await r.client.post(
                "/v1/police/notifications", content=NOTIFICATION, headers=headers
            )
            assert response.status_code == status
            assert response.headers["content-type"] == "application/problem+json"
            assert r.publishers[Partner.POLICE].records == []

    async def test_another_partners_endpoint_is_403(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            headers = r.auth(Partner.HEALTH, **JSON)
            response = await r.client.post(
                "/v1/police/notifications", content=NOTIFICATION, headers=headers
            )
            assert response.status_code == 403

    async def test_too_large_is_413(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            response = await r.post_police(b" " * (21 * 1024 * 1024))
            assert response.status_code == 413

    async def test_wrong_content_type_is_415(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            headers = r.auth(Partner.POLICE, **{"Content-Type": "text/plain"})
            response = await r.client.post(
                "/v1/police/notifications", content=NOTIFICATION, headers=headers
            )
            assert response.status_code == 415

    async def test_invalid_input_is_422_naming_each_field(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            document = json.loads(NOTIFICATION)
            del document["reference"]
            document["risk_grade"] = "Purple"
            response = await r.post_police(json.dumps(document).encode())
            assert response.status_code == 422
            fields = {e["field"] for e in response.json()["errors"]}
            assert {"reference", "risk_grade"} <= fields
            assert r.publishers[Partner.POLICE].records == []

    async def test_a_fhir_refusal_is_an_operation_outcome(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            headers = r.auth(Partner.HEALTH, **{"Content-Type": "application/fhir+json"})
            response = await r.client.post("/v1/health/fhir", content=b"{}", headers=headers)
            assert response.status_code == 422
            assert response.headers["content-type"] == "application/fhir+json"
            assert response.json()["resourceType"] == "OperationOutcome"

    async def test_beyond_the_burst_is_429(self, tmp_path: Path) -> None:
        limiter = TokenBuckets(burst=1, per_s=0.001)
        async with rig(tmp_path, limiter) as r:
            assert (await r.post_police()).status_code == 202
            response = await r.post_police()
            assert response.status_code == 429
            assert "retry-after" in response.headers


class TestStatus:
    """A partner reads the fate of its own messages only."""

    async def test_received_then_routed(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            message_id = (await r.post_police()).json()["messages"][0]["message_id"]
            path = f"/v1/police/messages/{message_id}"
            first = await r.client.get(path, headers=r.auth(Partner.POLICE))
            assert first.json()["status"] == "received"
            r.ledger.decide(uuid.UUID(message_id), ["da-triage", "encompass"])
            routed = (await r.client.get(path, headers=r.auth(Partner.POLICE))).json()
            assert routed["status"] == "routed"
            assert routed["routed_to"] == ["da-triage", "encompass"]

    async def test_returned_with_reasons(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            message_id = (await r.post_police()).json()["messages"][0]["message_id"]
            r.ledger.decide(uuid.UUID(message_id), ["returned"], ["consent is needed"])
            path = f"/v1/police/messages/{message_id}"
            body = (await r.client.get(path, headers=r.auth(Partner.POLICE))).json()
            assert (body["status"], body["returned_reasons"]) == ("returned", ["consent is needed"])

    async def test_another_partners_message_is_not_found(self, tmp_path: Path) -> None:
        async with rig(tmp_path) as r:
            message_id = (await r.post_police()).json()["messages"][0]["message_id"]
            path = f"/v1/health/messages/{message_id}"
            response = await r.client.get(path, headers=r.auth(Partner.HEALTH))
            assert response.status_code == 404
            unknown = f"/v1/police/messages/{uuid.uuid4()}"
            assert (await r.client.get(unknown, headers=r.auth(Partner.POLICE))).status_code == 404
