"""Traces on the real broker: one unbroken trace per message, and no personal data in it.

The ingest, the router and a team app run in this process with the SDK's in-memory
exporter; a partner posts two notifications, one with its own ``traceparent``.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub import tracing
from hub.bootstrap import Hub
from hub.settings import KafkaSettings, TeamSettings
from schemas.common import Area, Partner
from tests.integration.ingestkit import EXAMPLES, ingest_hub, running_ingest
from tests.integration.routerkit import running_router
from tests.integration.test_teams import poll, running_team

POLICE = "/v1/police/notifications"
SAMPLES = (
    EXAMPLES / "police" / "notification-domestic-abuse.json",
    EXAMPLES / "police" / "notification-unborn-child.json",
)
PARTNER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARTNER_TRACEPARENT = f"00-{PARTNER_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("hub-test", exporter)
    yield exporter
    tracing.shutdown()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def personal(path: Path) -> set[str]:
    """The sample's names, dates, NHS numbers, postcodes, addresses and narrative."""
    found = set()
    for person in json.loads(path.read_bytes()).get("persons", []):
        found |= {str(v) for k, v in person.items() if isinstance(v, str) and k != "role"}
    found |= {s for s in _strings(json.loads(path.read_bytes())) if " " in s or "-" in s}
    return {s for s in found if len(s) >= 3}


def all_areas_hub(kafka: KafkaSettings, tmp: Path) -> Hub:
    hub = ingest_hub(kafka, tmp)
    teams = TeamSettings(state_dir=tmp / "teams", areas=tuple(a.value for a in Area), instance="t")
    return Hub(hub.settings.model_copy(update={"teams": teams}))


class TestTraces:
    async def test_one_unbroken_trace_per_message_without_personal_data(
        self, hub_topics: KafkaSettings, tmp_path: Path, spans: InMemorySpanExporter
    ) -> None:
        """HTTP request -> publish -> route -> queue: parent to child, one trace each."""
        hub = all_areas_hub(hub_topics, tmp_path)
        async with running_team(hub) as team, running_router(hub), running_ingest(hub) as ingest:
            headers = {"Content-Type": "application/json"} | ingest.auth(Partner.POLICE)
            first = await ingest.client.post(
                POLICE,
                content=SAMPLES[0].read_bytes(),
                headers=headers | {"traceparent": PARTNER_TRACEPARENT},
            )
            second = await ingest.client.post(
                POLICE, content=SAMPLES[1].read_bytes(), headers=headers
            )
            assert (first.status_code, second.status_code) == (202, 202), first.text
            await poll(lambda: _both_queued(spans.get_finished_spans()), "both queued")
            await asyncio.sleep(1.0)  # copies to further areas are queued in parallel
            assert team.deps.store.counts()
        finished = spans.get_finished_spans()
        by_trace: dict[int, list[ReadableSpan]] = defaultdict(list)
        for s in finished:
            assert s.context is not None
            by_trace[s.context.trace_id].append(s)
        chains = {t: _chain(found) for t, found in by_trace.items() if _has_request(found)}
        assert len(chains) == 2, {t: [s.name for s in f] for t, f in by_trace.items()}
        assert int(PARTNER_TRACE, 16) in chains, "the partner's own trace is continued"
        for chain in chains.values():
            assert chain[:3] == [
                f"POST {POLICE}",
                "publish partner.police.inbound",
                "route partner.police.inbound",
            ]
            assert chain[3:], "at least one team queued it"
            assert all(name.startswith("queue route.") for name in chain[3:])

        forbidden = personal(SAMPLES[0]) | personal(SAMPLES[1])
        for s in finished:
            assert set(s.attributes or {}) <= tracing.ALLOWED_ATTRIBUTES, s.name
            text = json.dumps({k: str(v) for k, v in (s.attributes or {}).items()}) + s.name
            leaked = {p for p in forbidden if p in text}
            assert not leaked, (s.name, leaked)


async def _both_queued(found: tuple[ReadableSpan, ...]) -> bool:
    traces: dict[int, set[str]] = defaultdict(set)
    for s in found:
        if s.context is not None:
            traces[s.context.trace_id].add(s.name.split(" ")[0])
    return sum(1 for names in traces.values() if {"POST", "queue"} <= names) >= 2


def _has_request(found: list[ReadableSpan]) -> bool:
    return any(s.name.startswith("POST ") for s in found)


def _chain(found: list[ReadableSpan]) -> list[str]:
    """Names from the request down, each span's parent the one before (queues last)."""
    by_id = {s.context.span_id: s for s in found if s.context is not None}
    request = next(s for s in found if s.name.startswith("POST "))
    publish = _only_child(found, request)
    route = _only_child(found, publish)
    queues = [
        s for s in found if s.parent is not None and s.parent.span_id == route.context.span_id
    ]  # type: ignore[union-attr]
    assert len(by_id) == 3 + len(queues), [s.name for s in found]
    return [request.name, publish.name, route.name, *sorted(q.name for q in queues)]


def _only_child(found: list[ReadableSpan], parent: ReadableSpan) -> ReadableSpan:
    assert parent.context is not None
    (child,) = [
        s for s in found if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    return child
