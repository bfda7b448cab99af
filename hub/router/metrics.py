"""The router's ``/metrics`` and ``/health/ready``, on a small HTTP port of its own.

The router has no web app, so this is a minimal HTTP/1.1 server on asyncio streams
(``HUB_ROUTER__METRICS_PORT``; the supervisor gives child N the port plus N). It
reads one request line and at most 32 headers within five seconds, answers, and
closes the connection: a slow or oversized client costs it nothing. Routes:

* ``/health`` and ``/health/ready``: 200 once the router has its tasks and until it
  stops, else 503; nothing else, to anyone (it is a probe);
* ``/metrics``: the Prometheus text, under the access rule of :mod:`hub.web.ops`
  (the ops token, or loopback when none is configured): it holds per-area counts.

The series (``docs/operations.md`` lists them): counters of the service's own
:class:`~hub.router.service.RouterStats` read at scrape, plus per-batch histograms the
service observes after each transaction: records per batch, routing time and commit
time. Observing counts a batch's output records by topic once: about a microsecond a message
on a loaded two-core machine, against a budget of 150.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import SecretStr

from hub.router.handler import OutRecord
from hub.topology import DLQ, DLQ_ERROR_CLASS_HEADER, ROUTE_TOPICS
from hub.web.ops import is_loopback, presented_secret

log = structlog.get_logger("hub.router.metrics")

BATCH_RECORD_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 20_000)
"""Records consumed per transaction (a poll brings up to ``max_batch``)."""
BATCH_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
"""Routing and commit time of one batch, 1 ms to 10 s."""
_AREA_OF_TOPIC = {topic: topic.removeprefix("route.") for topic in ROUTE_TOPICS}
_READ_TIMEOUT_S = 5.0
_MAX_HEADERS = 32
_MAX_LINE = 8192


class Stats(Protocol):
    """The service's running totals (:class:`hub.router.service.RouterStats`)."""

    routed: int
    transactions: int
    aborted: int
    checkpoints: int


@dataclass
class _Counts:
    routed_copies: Counter[str]
    dead_letters: Counter[str]


class RouterMetrics:
    """The router's registry: per-batch histograms and counters, and the stats collector."""

    def __init__(self, stats: Callable[[], Stats], tasks: Callable[[], int]) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call] # no `_created` series
        self.registry = CollectorRegistry(auto_describe=True)
        self.batch_records = Histogram(
            "hub_router_batch_records",
            "Inbound records and outcomes routed in one transaction.",
            buckets=BATCH_RECORD_BUCKETS,
            registry=self.registry,
        )
        self.routing_seconds = Histogram(
            "hub_router_batch_routing_duration_seconds",
            "Time spent deciding one batch (verify, decide, seal), before its commit.",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "hub_router_transaction_duration_seconds",
            "Time from beginning one batch's transaction to its commit.",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._counts = _Counts(Counter(), Counter())
        self.registry.register(_StatsCollector(stats, tasks, self._counts))

    def observe_batch(
        self, records: int, out: Sequence[OutRecord], routing_s: float, commit_s: float
    ) -> None:
        """Record one committed batch (called by the service, once per transaction)."""
        self.batch_records.observe(records)
        self.routing_seconds.observe(routing_s)
        self.commit_seconds.observe(commit_s)
        topics = Counter([o.topic for o in out])  # the cheapest count measured (docs)
        for topic, n in topics.items():
            area = _AREA_OF_TOPIC.get(topic)
            if area is not None:
                self._counts.routed_copies[area] += n
        if topics[DLQ]:  # rare: only then look at each record's headers
            for o in out:
                if o.topic == DLQ:
                    error = dict(o.headers).get(DLQ_ERROR_CLASS_HEADER, b"unknown").decode()
                    self._counts.dead_letters[error] += 1

    def render(self) -> bytes:
        """The text exposition."""
        return generate_latest(self.registry)


class _StatsCollector:
    def __init__(
        self, stats: Callable[[], Stats], tasks: Callable[[], int], counts: _Counts
    ) -> None:
        self._stats = stats
        self._tasks = tasks
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        decisions = CounterMetricFamily(
            "hub_router_decisions", "Decision records written (one per message)."
        )
        decisions.add_metric([], stats.routed)
        checkpoints = CounterMetricFamily(
            "hub_router_checkpoints", "Signed audit checkpoints written."
        )
        checkpoints.add_metric([], stats.checkpoints)
        transactions = CounterMetricFamily(
            "hub_router_transactions", "Routing transactions, by result.", labels=["result"]
        )
        transactions.add_metric(["committed"], stats.transactions)
        transactions.add_metric(["aborted"], stats.aborted)
        yield from (decisions, checkpoints, transactions)
        copies = CounterMetricFamily(
            "hub_router_routed_copies", "Routed copies written, by area.", labels=["area"]
        )
        for area, n in sorted(self._counts.routed_copies.items()):
            copies.add_metric([area], n)
        yield copies
        dead = CounterMetricFamily(
            "hub_router_dead_letters",
            "Dead letters written, by error class.",
            labels=["error_class"],
        )
        for error, n in sorted(self._counts.dead_letters.items()):
            dead.add_metric([error], n)
        yield dead
        tasks = GaugeMetricFamily("hub_router_tasks", "Router tasks (partitions) held now.")
        tasks.add_metric([], self._tasks())
        yield tasks


# ------------------------------------------------------------------ the HTTP port


@dataclass(frozen=True)
class OpsEndpoint:
    """What the port serves: readiness, metrics, and who may see the metrics."""

    ready: Callable[[], bool]
    metrics: RouterMetrics
    ops_token: SecretStr | None


def _may_see_metrics(endpoint: OpsEndpoint, peer: str | None, authorization: str) -> bool:
    if endpoint.ops_token is None:
        return is_loopback(peer)
    secret = presented_secret(authorization)
    expected = endpoint.ops_token.get_secret_value().encode()
    return secret is not None and hmac.compare_digest(secret, expected)


def answer(
    endpoint: OpsEndpoint, method: str, path: str, peer: str | None, authorization: str
) -> tuple[int, str, bytes, tuple[tuple[str, str], ...]]:
    """Status, content type, body and extra headers for one request."""
    path = path.split("?", 1)[0]
    if method not in {"GET", "HEAD"}:
        return 405, "text/plain", b"method not allowed\n", (("Allow", "GET, HEAD"),)
    if path in {"/health", "/health/ready"}:
        ready = endpoint.ready()
        body = b'{"ready":true}\n' if ready else b'{"ready":false}\n'
        return (200 if ready else 503), "application/json", body, ()
    if path == "/metrics":
        if _may_see_metrics(endpoint, peer, authorization):
            return 200, CONTENT_TYPE_LATEST, endpoint.metrics.render(), ()
        if endpoint.ops_token is None:
            return 403, "text/plain", b"served to loopback clients only\n", ()
        challenge = (("WWW-Authenticate", 'Bearer, Basic realm="safeguarding hub"'),)
        return 401, "text/plain", b"the ops token is required\n", challenge
    return 404, "text/plain", b"not found\n", ()


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}
_REASONS |= {404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def _handle(
    endpoint: OpsEndpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    peer = writer.get_extra_info("peername")
    host = peer[0] if isinstance(peer, tuple) else None
    try:
        async with asyncio.timeout(_READ_TIMEOUT_S):
            method, path, authorization = await _read_request(reader)
        status, kind, body, extra = answer(endpoint, method, path, host, authorization)
    except (TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        method, status, kind, body, extra = "GET", 400, "text/plain", b"bad request\n", ()
    head = [
        f"HTTP/1.1 {status} {_REASONS[status]}",
        f"Content-Type: {kind}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Connection: close",
        *(f"{k}: {v}" for k, v in extra),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (b"" if method == "HEAD" else body))
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, str]:
    line = await reader.readline()
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):  # noqa: PLR2004 -- method path version
        raise ValueError("not an HTTP request line")
    authorization = ""
    for _ in range(_MAX_HEADERS + 1):
        header = await reader.readline()
        if header in {b"\r\n", b"\n", b""}:
            return parts[0], parts[1], authorization
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "authorization":
            authorization = value.strip()
    raise ValueError("too many headers")


async def serve_ops(endpoint: OpsEndpoint, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the port until ``stop`` is set."""
    server = await asyncio.start_server(
        lambda r, w: _handle(endpoint, r, w), host, port, limit=_MAX_LINE
    )
    log.info("router_ops_port_listening", host=host, port=port)
    async with server:
        await stop.wait()
