"""A partner system as the fault runs need it: post, and retry a 503 after Retry-After."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from bench.records import police_notification, read_all
from hub.settings import KafkaSettings
from hub.topology import inbound_topic
from schemas.common import Partner

POLICE = "/v1/police/notifications"


@dataclass
class Delivery:
    """What happened to one notification."""

    reference: str
    statuses: list[int] = field(default_factory=list)
    """Every answer, in order; 0 is a connection error."""
    retry_after: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    duplicate: bool = False
    slowest_answer_s: float = 0.0

    @property
    def accepted(self) -> bool:
        """The last answer was a 202."""
        return bool(self.statuses) and self.statuses[-1] == 202


def first_reason(response: httpx.Response) -> str:
    """The first reason a refusal gives (problem details or a FHIR OperationOutcome)."""
    if response.headers.get("content-type", "").endswith("xml"):
        return _xml_reason(response.content)
    try:
        body = response.json()
    except ValueError:
        return response.text[:120] or "(empty body)"
    if not isinstance(body, dict):
        return str(body)[:120]
    if body.get("resourceType") == "OperationOutcome":
        issue = (body.get("issue") or [{}])[0]
        where = ",".join(issue.get("expression") or [])
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        return f"{where}: {text}"[:160]
    errors = body.get("errors") or []
    if errors and isinstance(errors[0], dict):
        return f"{errors[0].get('field')}: {errors[0].get('message')}"[:160]
    return str(body.get("detail") or body.get("title") or body)[:160]


def _xml_reason(body: bytes) -> str:
    """The first issue of an OperationOutcome in FHIR XML (what XML callers get)."""
    try:
        root = defused_fromstring(body)
    except (ParseError, DefusedXmlException):
        return body[:120].decode(errors="replace") or "(empty body)"
    ns = "{http://hl7.org/fhir}"
    issue = root.find(f"{ns}issue")
    if issue is None:
        return body[:120].decode(errors="replace")
    where = [e.get("value", "") for e in issue.findall(f"{ns}expression")]
    text = issue.find(f"{ns}diagnostics")
    return f"{','.join(where)}: {text.get('value', '') if text is not None else ''}"[:160]


class PartnerClient:
    """Posts police notifications of one run (references ``B<run>/<i>``)."""

    def __init__(self, client: httpx.AsyncClient, token: str, run: str) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.run = run

    def reference(self, index: int) -> str:
        """The reference of notification ``index``."""
        return f"B{self.run}/{index}"

    async def deliver(self, index: int, *, retry: bool, deadline: float) -> Delivery:
        """Post notification ``index``; with ``retry``, honour 503 Retry-After until 202."""
        body = police_notification(self.run, index)
        delivery = Delivery(self.reference(index))
        while True:
            began = time.monotonic()
            try:
                response = await self._client.post(POLICE, content=body, headers=self._headers)
            except httpx.HTTPError as exc:
                delivery.statuses.append(0)
                delivery.reasons.append(type(exc).__name__)
                if not retry or time.monotonic() > deadline:
                    return delivery
                await asyncio.sleep(1.0)
                continue
            delivery.statuses.append(response.status_code)
            delivery.slowest_answer_s = max(delivery.slowest_answer_s, time.monotonic() - began)
            if response.status_code == 202:
                delivery.duplicate = any(m["duplicate"] for m in response.json()["messages"])
                return delivery
            delivery.reasons.append(first_reason(response))
            after = response.headers.get("Retry-After")
            if after is not None:
                delivery.retry_after.append(after)
            if not retry or response.status_code != 503 or time.monotonic() > deadline:
                return delivery
            await asyncio.sleep(float(after or 1))


async def inbound_references(kafka: KafkaSettings) -> Counter[str]:
    """How many times each partner reference is on the police inbound topic (committed)."""
    records = await read_all(kafka, inbound_topic(Partner.POLICE))
    return Counter(json.loads(r.value)["metadata"]["partner_reference"] for r in records)


def summarise(deliveries: list[Delivery]) -> dict[str, Any]:
    """Counts over deliveries, for the JSON result."""
    answers = Counter(s for d in deliveries for s in d.statuses)
    return {
        "notifications": len(deliveries),
        "accepted": sum(d.accepted for d in deliveries),
        "answers": {str(k): v for k, v in sorted(answers.items())},
        "retried": sum(len(d.statuses) > 1 for d in deliveries),
        "max_attempts": max((len(d.statuses) for d in deliveries), default=0),
        "retry_after_values": sorted({a for d in deliveries for a in d.retry_after}),
        "duplicate_flags": sum(d.duplicate for d in deliveries),
        "slowest_answer_s": round(max((d.slowest_answer_s for d in deliveries), default=0), 1),
        "first_refusal": next((d.reasons[0] for d in deliveries if d.reasons), None),
    }
