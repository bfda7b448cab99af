"""Broker-side write errors reach the partner as a refusal, are logged, and keep nothing.

On the shared broker, in a rig of its own, the police inbound topic's configs are
changed so that the broker should refuse the connector's transactional writes. For
each case, a probe first writes to a topic with the same configs with a plain
``acks=all`` producer, to show what the broker itself does; only where the broker
refuses is the hub's behaviour judged (refused, logged, nothing acknowledged or kept).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from bench.common import TOPICS_FILE, free_port, rig, wait_http_ready
from bench.faults_broker import FAST_FAILURE
from bench.partner import PartnerClient, inbound_references, summarise
from hub.broker.topics import TopicSpec, load_topics_file
from hub.kafka import KafkaAdmin, make_producer, started
from hub.settings import KafkaSettings
from hub.topology import inbound_topic
from schemas.common import Partner

CASES = {
    "record larger than max.message.bytes (1 KiB)": {"max.message.bytes": "1024"},
    "timestamps refused (message.timestamp.before.max.ms=0)": {
        "message.timestamp.before.max.ms": "0"
    },
    "min.insync.replicas 2 > 1 replica": {"min.insync.replicas": "2"},
}
PER_CASE = 3


async def probe(kafka: KafkaSettings, number: int, configs: dict[str, str]) -> str:
    """What the broker answers a plain acks=all write on a topic with ``configs``."""
    topic = kafka.topic(f"bench.probe-{number}")
    async with KafkaAdmin(kafka, "bench-admin") as admin:
        await admin.create_topic(topic, 1, 1, configs)
    quick = kafka.model_copy(update={"request_timeout_ms": 3000})
    producer = make_producer(quick, "bench-probe")
    async with started(producer, "bench probe"):
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, b"x" * 3000), 15)
        except Exception as exc:  # noqa: BLE001 -- whatever the broker says is the finding
            return f"refused: {type(exc).__name__}"
    return "acknowledged"


async def write_errors() -> dict[str, Any]:
    """Every case: probe, then the hub; a verdict per case where the broker refuses."""
    spec = next(
        s for s in load_topics_file(TOPICS_FILE, "local") if s.name == inbound_topic(Partner.POLICE)
    )
    out: dict[str, Any] = {}
    async with rig("writeerr") as r:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        token = r.partner_token(Partner.POLICE)
        connectors = r.start_connectors(port, **FAST_FAILURE)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            partner = PartnerClient(client, token, uuid.uuid4().hex[:6])
            for number, (name, override) in enumerate(CASES.items()):
                broker = await probe(r.kafka, number, {**spec.configs, **override})
                out[name] = {"broker_alone": broker} | await _case(
                    r.kafka, spec, override, partner, number
                )
                await asyncio.to_thread(
                    wait_http_ready, f"{base}/health", connectors, r.log("connectors"), 120
                )
        log_text = r.log("connectors").read_text(errors="replace")
    failed_lines = [line for line in log_text.splitlines() if '"publish_failed"' in line]
    judged = {n: c for n, c in out.items() if c["broker_alone"] != "acknowledged"}
    for case in out.values():
        case["ok"] = (
            None
            if case["broker_alone"] == "acknowledged"
            else case["acknowledged"] == 0 and case["kept_on_topic"] == 0
        )
    return {
        "ok": bool(judged)
        and all(c["ok"] for c in judged.values())
        and len(failed_lines) >= len(judged),
        "cases": out,
        "publish_failed_log_lines": len(failed_lines),
        "first_log_line": failed_lines[0][:300] if failed_lines else None,
    }


async def _case(
    kafka: KafkaSettings,
    spec: TopicSpec,
    override: dict[str, str],
    partner: PartnerClient,
    number: int,
) -> dict[str, Any]:
    topic = kafka.topic(spec.name)
    async with KafkaAdmin(kafka, "bench-admin") as admin:
        await admin.set_configs(topic, {**spec.configs, **override})
    await asyncio.sleep(2)
    deadline = time.monotonic() + 60
    tried = [
        await partner.deliver(number * 10 + i, retry=False, deadline=deadline)
        for i in range(PER_CASE)
    ]
    kept = await inbound_references(kafka)
    async with KafkaAdmin(kafka, "bench-admin") as admin:
        await admin.set_configs(topic, spec.configs)
    return {
        "partner": summarise(tried),
        "acknowledged": sum(d.accepted for d in tried),
        "kept_on_topic": sum(kept[d.reference] for d in tried),
    }
