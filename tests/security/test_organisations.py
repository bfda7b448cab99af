"""Partner credentials are bound to organisations (DESIGN.md section 14).

Attacks: a police force (or NHS trust) sends as another organisation, making that
organisation's genuine referral a "duplicate" (squatting its reference) or reading
its messages' status; a credential issued before organisations were bound keeps
working. Each is performed against the ingest app with in-memory Kafka ports.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from hub.ingest.app import IngestDeps
from hub.ingest.app import create_app as ingest_app
from hub.ingest.testing import MemoryPublisher
from hub.settings import PROJECT_ROOT
from schemas.common import Partner
from tests.security.conftest import client_at, running
from tests.security.servekit import ingest_deps

PROBLEM = "application/problem+json"
EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples"
NOTIFICATION = json.loads((EXAMPLES / "police" / "notification-domestic-abuse.json").read_bytes())
FHIR_XML = (EXAMPLES / "health" / "message-bundle.xml").read_bytes()
FHIR_JSON = (EXAMPLES / "health" / "message-bundle.json").read_bytes()
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}
BATCH = (EXAMPLES / "police" / "batch.csv").read_text()


def notification(force: str, reference: str = "DA-ORG-0001") -> bytes:
    """The example notification, sent by force ``force`` under ``reference``."""
    return json.dumps({**NOTIFICATION, "force_code": force, "reference": reference}).encode()


@dataclass
class Ingest:
    client: httpx.AsyncClient
    deps: IngestDeps

    def issue(self, partner: Partner, *orgs: str) -> dict[str, str]:
        """Headers with a new credential of ``partner`` bound to ``orgs``."""
        token = self.deps.credentials.add(partner, orgs)
        return {"Authorization": f"Bearer {token}"}

    def written(self, partner: Partner = Partner.POLICE) -> int:
        publisher = self.deps.publishers[partner]
        assert isinstance(publisher, MemoryPublisher)
        return len(publisher.records)

    async def post_police(self, auth: dict[str, str], body: bytes) -> httpx.Response:
        return await self.client.post(
            "/v1/police/notifications", content=body, headers={**auth, **JSON}
        )


@pytest.fixture
async def ingest(tmp_path: Path) -> AsyncIterator[Ingest]:
    deps, _tokens = ingest_deps(tmp_path)
    app = ingest_app(deps)
    async with running(app), client_at(app, "203.0.113.5") as client:
        yield Ingest(client, deps)


def assert_problem(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"] == PROBLEM
    detail = answer.json()["detail"]
    assert isinstance(detail, str)
    return detail


class TestSendingAsAnotherOrganisation:
    async def test_cross_org_submit_is_403_and_writes_nothing(self, ingest: Ingest) -> None:
        """Force 45's credential cannot send force 47's notification."""
        surrey = ingest.issue(Partner.POLICE, "45")
        answer = await ingest.post_police(surrey, notification("47"))
        detail = assert_problem(answer, 403)
        assert "47" in detail
        assert ingest.written() == 0

    async def test_a_batch_with_one_foreign_org_is_refused_whole(self, ingest: Ingest) -> None:
        """A CSV export with one row of force 45 among force 47's: nothing is accepted."""
        sussex = ingest.issue(Partner.POLICE, "47")
        rows = BATCH.splitlines(keepends=True)
        mixed = "".join([rows[0], rows[1].replace(",47,", ",45,", 1), *rows[2:]]).encode()
        answer = await ingest.client.post(
            "/v1/police/notifications", content=mixed, headers={**sussex, **CSV}
        )
        assert "45" in assert_problem(answer, 403)
        assert ingest.written() == 0

    @pytest.mark.parametrize(
        ("media", "body"),
        [("application/fhir+xml", FHIR_XML), ("application/fhir+json", FHIR_JSON)],
        ids=["xml", "json"],
    )
    async def test_fhir_callers_get_an_operation_outcome(
        self, ingest: Ingest, media: str, body: bytes
    ) -> None:
        other_trust = ingest.issue(Partner.HEALTH, "ZZ999")
        answer = await ingest.client.post(
            "/v1/health/fhir", content=body, headers={**other_trust, "Content-Type": media}
        )
        assert answer.status_code == 403, answer.text[:300]
        assert answer.headers["content-type"] == media
        if media.endswith("xml"):
            outcome = OperationOutcome.model_validate_xml(answer.content)
        else:
            outcome = OperationOutcome.model_validate_json(answer.content)
        assert outcome.issue[0].code == "forbidden"
        assert ingest.written(Partner.HEALTH) == 0

    async def test_a_reference_cannot_be_squatted(self, ingest: Ingest) -> None:
        """Force 45 tries to claim force 47's reference first; 47's referral stays new."""
        surrey, sussex = ingest.issue(Partner.POLICE, "45"), ingest.issue(Partner.POLICE, "47")
        assert_problem(await ingest.post_police(surrey, notification("47")), 403)
        genuine = await ingest.post_police(sussex, notification("47"))
        assert genuine.status_code == 202, genuine.text[:300]
        assert [m["duplicate"] for m in genuine.json()["messages"]] == [False]
        assert ingest.written() == 1

    async def test_same_reference_from_two_orgs_is_two_messages(self, ingest: Ingest) -> None:
        surrey, sussex = ingest.issue(Partner.POLICE, "45"), ingest.issue(Partner.POLICE, "47")
        first = await ingest.post_police(surrey, notification("45"))
        second = await ingest.post_police(sussex, notification("47"))
        assert first.status_code == second.status_code == 202, (first.text, second.text)
        ids = [m["message_id"] for a in (first, second) for m in a.json()["messages"]]
        dupes = [m["duplicate"] for a in (first, second) for m in a.json()["messages"]]
        assert len(set(ids)) == 2
        assert dupes == [False, False]
        assert ingest.written() == 2
        # Each is its own: a resend by each org is that org's duplicate, nothing new.
        again = await ingest.post_police(sussex, notification("47"))
        assert [m["duplicate"] for m in again.json()["messages"]] == [True]
        assert ingest.written() == 2

    async def test_a_credential_of_several_orgs_sends_as_each(self, ingest: Ingest) -> None:
        both = ingest.issue(Partner.POLICE, "45", "47")
        for force in ("45", "47"):
            answer = await ingest.post_police(both, notification(force))
            assert answer.status_code == 202, answer.text[:300]


class TestReadingAnotherOrganisationsStatus:
    async def test_cross_org_status_is_404_like_an_unknown_id(self, ingest: Ingest) -> None:
        surrey, sussex = ingest.issue(Partner.POLICE, "45"), ingest.issue(Partner.POLICE, "47")
        accepted = await ingest.post_police(sussex, notification("47"))
        message_id = accepted.json()["messages"][0]["message_id"]
        url = f"/v1/police/messages/{message_id}"
        assert (await ingest.client.get(url, headers=sussex)).status_code == 200
        foreign = await ingest.client.get(url, headers=surrey)
        unknown_id = str(uuid4())
        unknown = await ingest.client.get(f"/v1/police/messages/{unknown_id}", headers=surrey)
        assert_problem(foreign, 404)
        assert_problem(unknown, 404)
        # No existence oracle: the two answers differ only by the id asked for.
        assert foreign.json()["detail"].replace(message_id, "X") == unknown.json()[
            "detail"
        ].replace(unknown_id, "X")


class TestCredentialsIssuedBeforeOrganisations:
    async def test_a_legacy_credential_is_refused_with_how_to_reissue(
        self, ingest: Ingest, tmp_path: Path
    ) -> None:
        auth = ingest.issue(Partner.POLICE, "47")
        # The record as `hub partners add` wrote it before credentials were bound.
        path = tmp_path / "credentials.json"
        stored = json.loads(path.read_text())
        for record in stored["credentials"]:
            record.pop("orgs")
        path.write_text(json.dumps(stored))
        submit = await ingest.post_police(auth, notification("47"))
        detail = assert_problem(submit, 403)
        assert "hub partners add police --org CODE" in detail
        status = await ingest.client.get(f"/v1/police/messages/{uuid4()}", headers=auth)
        assert "hub partners add police --org CODE" in assert_problem(status, 403)
        assert ingest.written() == 0

    def test_a_credential_needs_an_organisation(self, ingest: Ingest) -> None:
        with pytest.raises(ValueError, match="at least one organisation"):
            ingest.deps.credentials.add(Partner.POLICE, [])
        with pytest.raises(ValueError, match="organisation code"):
            ingest.deps.credentials.add(Partner.POLICE, ["47; DROP"])
