"""The partners' HTTP ingest against the real broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from hub.settings import KafkaSettings
from schemas.common import Partner
from schemas.wire import MessageReceived
from tests.integration.ingestkit import EXAMPLES, Ingest, ingest_hub, running_ingest
from tests.integration.routerkit import read_topic, running_router

POLICE = "/v1/police/notifications"
DA_SAMPLE = EXAMPLES / "police" / "notification-domestic-abuse.json"
JSON = {"Content-Type": "application/json"}


async def post_police(ingest: Ingest, body: bytes) -> httpx.Response:
    """POST ``body`` as a JSON police notification, with the police credential."""
    return await ingest.client.post(
        POLICE, content=body, headers=JSON | ingest.auth(Partner.POLICE)
    )


class TestIngest:
    async def test_accepted_only_after_kafka_has_it_and_resend_is_a_duplicate(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """202 with ids; the record is on the inbound topic; a resend writes nothing."""
        hub = ingest_hub(hub_topics, tmp_path)
        body = DA_SAMPLE.read_bytes()
        async with running_ingest(hub) as ingest:
            first = await post_police(ingest, body)
            assert first.status_code == 202, first.text
            ids = [m["message_id"] for m in first.json()["messages"]]
            assert ids
            assert not any(m["duplicate"] for m in first.json()["messages"])
            inbound = await read_topic(hub_topics, "partner.police.inbound", expected=len(ids))
            assert [
                str(MessageReceived.model_validate_json(r.value).metadata.message_id)
                for r in inbound
            ] == ids
            again = await post_police(ingest, body)
            assert again.status_code == 202
            assert [m["message_id"] for m in again.json()["messages"]] == ids
            assert all(m["duplicate"] for m in again.json()["messages"])
        inbound = await read_topic(hub_topics, "partner.police.inbound", idle_s=1.5)
        assert len(inbound) == len(ids)

    async def test_record_bytes_hold_no_personal_data(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """On the inbound topic, names, dates of birth and narrative are sealed."""
        hub = ingest_hub(hub_topics, tmp_path)
        async with running_ingest(hub) as ingest:
            response = await post_police(ingest, DA_SAMPLE.read_bytes())
            assert response.status_code == 202
            inbound = await read_topic(hub_topics, "partner.police.inbound", expected=1)
        sample = json.loads(DA_SAMPLE.read_bytes())
        value = inbound[0].value
        for person in sample["persons"]:
            assert person["family_name"].encode() not in value
            assert person["date_of_birth"].encode() not in value
        assert sample["summary"][:20].encode() not in value

    async def test_credentials_and_limits(self, hub_topics: KafkaSettings, tmp_path: Path) -> None:
        """401 without or with a bad credential, 403 cross-partner, 413, 415, 422."""
        hub = ingest_hub(hub_topics, tmp_path)
        body = DA_SAMPLE.read_bytes()
        async with running_ingest(hub) as ingest:
            c = ingest.client
            assert (await c.post(POLICE, content=body, headers=JSON)).status_code == 401
            bad = {"Authorization": "Bearer hubp_nope.nope"}
            assert (await c.post(POLICE, content=body, headers=JSON | bad)).status_code == 401
            cross = await c.post(POLICE, content=body, headers=JSON | ingest.auth(Partner.HEALTH))
            assert cross.status_code == 403
            assert cross.headers["content-type"].startswith("application/problem+json")
            huge = b" " * (20 * 1024 * 1024 + 1)
            too_big = await c.post(POLICE, content=huge, headers=JSON | ingest.auth(Partner.POLICE))
            assert too_big.status_code == 413
            text = {"Content-Type": "text/plain"}
            wrong = await c.post(POLICE, content=body, headers=text | ingest.auth(Partner.POLICE))
            assert wrong.status_code == 415
            broken = json.loads(body)
            del broken["occurred_at"]
            broken["risk_grade"] = "Purple"
            invalid = await c.post(
                POLICE,
                content=json.dumps(broken).encode(),
                headers=JSON | ingest.auth(Partner.POLICE),
            )
            assert invalid.status_code == 422
            fields = {e["field"] for e in invalid.json()["errors"]}
            assert "occurred_at" in fields
            assert any("risk_grade" in f for f in fields)
        inbound = await read_topic(hub_topics, "partner.police.inbound", idle_s=1.0)
        assert inbound == []

    async def test_status_follows_the_message_and_is_private(
        self, hub_topics: KafkaSettings, tmp_path: Path
    ) -> None:
        """received, then routed with areas; another partner cannot see it."""
        hub = ingest_hub(hub_topics, tmp_path)
        async with running_ingest(hub) as ingest:
            posted = await post_police(ingest, DA_SAMPLE.read_bytes())
            message_id = posted.json()["messages"][0]["message_id"]
            url = f"/v1/police/messages/{message_id}"
            early = await ingest.client.get(url, headers=ingest.auth(Partner.POLICE))
            assert early.status_code == 200, early.text
            assert early.json()["status"] in {"received", "routed"}
            async with running_router(hub):
                async with asyncio.timeout(60):
                    while True:
                        now = await ingest.client.get(url, headers=ingest.auth(Partner.POLICE))
                        if now.json()["status"] == "routed":
                            break
                        await asyncio.sleep(0.3)
            assert "da-triage" in now.json()["routed_to"]
            other = await ingest.client.get(url, headers=ingest.auth(Partner.HEALTH))
            assert other.status_code == 403
            other_own = await ingest.client.get(
                f"/v1/health/messages/{message_id}", headers=ingest.auth(Partner.HEALTH)
            )
            assert other_own.status_code == 404


async def test_a_partner_over_its_rate_gets_429(hub_topics: KafkaSettings, tmp_path: Path) -> None:
    """Beyond its burst a partner is told to retry later; other partners are unaffected."""
    hub = ingest_hub(hub_topics, tmp_path, rate_per_s=0.01, rate_burst=1)
    body = DA_SAMPLE.read_bytes()
    async with running_ingest(hub) as ingest:
        first = await post_police(ingest, body)
        assert first.status_code == 202
        second = await post_police(ingest, body)
        assert second.status_code == 429
        assert second.headers["Retry-After"]
        housing = (EXAMPLES / "housing" / "referral-family.json").read_bytes()
        other = await ingest.client.post(
            "/v1/housing/referrals", content=housing, headers=JSON | ingest.auth(Partner.HOUSING)
        )
        assert other.status_code == 202
