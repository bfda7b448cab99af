"""OpenTelemetry traces: one trace per message, from the HTTP request to the team's queue.

The W3C ``traceparent`` header carries the context: from the partner's HTTP request
(if it sent one) into the ingest's span, onto the inbound Kafka record, into the
router's decision span, onto each routed copy, and into the team consumer's queueing
span. Record MACs cover key, value and position, not headers: a forged
``traceparent`` can only mislabel a trace, never change what is routed.

Off unless configured: :func:`configure` sets up OTLP export (HTTP/protobuf) when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, or an exporter a test passes; otherwise
:data:`TRACER` stays None and every helper here returns at its first line, so the
router's hot path pays one attribute read per record. Span attributes pass through
:data:`ALLOWED_ATTRIBUTES`: positions, ids, kinds, areas and counts, never content,
names, dates of birth, NHS numbers or subject keys.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Tracer, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
"""The W3C trace context header, on HTTP requests and Kafka records alike."""
ALLOWED_ATTRIBUTES = frozenset(
    {
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "messaging.system",
        "messaging.operation.type",
        "messaging.destination.name",
        "messaging.destination.partition.id",
        "messaging.kafka.offset",
        "messaging.batch.message_count",
        "hub.partner",
        "hub.area",
        "hub.kind",
        "hub.message_id",
        "hub.destinations",
        "hub.dead_lettered",
        "hub.outcome",
    }
)
"""The only attribute keys a span may carry: none of them holds personal data."""

TRACER: Tracer | None = None
"""The hub's tracer; None while tracing is off (the default)."""
_PROPAGATOR = TraceContextTextMapPropagator()
_PROVIDER: TracerProvider | None = None

Headers = Sequence[tuple[str, bytes]]


def configure(service: str, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for this process if an exporter is given or OTLP is configured.

    ``exporter`` (tests) is flushed span by span; OTLP export is batched. Returns
    whether tracing is on. Calling it again replaces the previous set-up.
    """
    global TRACER, _PROVIDER  # noqa: PLW0603 -- one tracer per process, set at start-up
    shutdown()
    if exporter is None:
        if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        processor: SimpleSpanProcessor | BatchSpanProcessor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        processor = SimpleSpanProcessor(exporter)
    _PROVIDER = TracerProvider(resource=Resource.create({"service.name": service}))
    _PROVIDER.add_span_processor(processor)
    TRACER = _PROVIDER.get_tracer("hub")
    return True


def shutdown() -> None:
    """Flush and turn tracing off."""
    global TRACER, _PROVIDER
    if _PROVIDER is not None:
        _PROVIDER.shutdown()
    TRACER, _PROVIDER = None, None


def safe_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Only the allowed keys, with values as OpenTelemetry takes them."""
    return {k: v for k, v in attributes.items() if k in ALLOWED_ATTRIBUTES and v is not None}


def context_of(headers: Headers | Mapping[str, str]) -> Context | None:
    """The trace context a request or record carries, or None."""
    if isinstance(headers, Mapping):
        found = next((v for k, v in headers.items() if k.lower() == TRACEPARENT), None)
    else:
        raw = next((v for k, v in headers if k == TRACEPARENT), None)
        found = raw.decode("ascii", errors="replace") if raw is not None else None
    carrier = {TRACEPARENT: found} if found else {}
    return _PROPAGATOR.extract(carrier) if carrier else None


@contextmanager
def span(
    name: str,
    kind: SpanKind,
    parent: Headers | Mapping[str, str] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A span (current within the block) under ``parent``'s context; None when off."""
    tracer = TRACER
    if tracer is None:
        yield None
        return
    context = context_of(parent) if parent is not None else None
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=safe_attributes(attributes or {})
    ) as current:
        yield current


def header_of(current: Span | None) -> tuple[tuple[str, bytes], ...]:
    """The ``traceparent`` header naming ``current`` (or the current span), () when off."""
    if TRACER is None:
        return ()
    carrier: dict[str, str] = {}
    context = set_span_in_context(current) if current is not None else None
    _PROPAGATOR.inject(carrier, context=context)
    value = carrier.get(TRACEPARENT)
    return ((TRACEPARENT, value.encode()),) if value else ()


def set_attributes(current: Span | None, attributes: Mapping[str, Any]) -> None:
    """Add allowed attributes to a span (nothing when off)."""
    if current is not None:
        current.set_attributes(safe_attributes(attributes))
