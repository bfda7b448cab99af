"""The router's decision span: only when tracing is on (:mod:`hub.tracing`).

:func:`route_traced` wraps :func:`~hub.router.handler.route_record` in a consumer
span under the inbound record's ``traceparent`` and puts the span's own
``traceparent`` on each routed copy, so the team's queueing span joins the same
trace. The service calls it instead of ``route_record`` only while a tracer is
configured; otherwise the hot path is untouched.
"""

from __future__ import annotations

import dataclasses

from opentelemetry.trace import SpanKind

from hub import tracing
from hub.router.handler import InRecord, OutRecord, RouterContext, TaskState, route_record
from hub.topology import DLQ, INBOUND_PARTNER, ROUTE_TOPICS

_ROUTES = frozenset(ROUTE_TOPICS)


def route_traced(record: InRecord, ctx: RouterContext, task: TaskState) -> list[OutRecord]:
    """Route one record inside its decision span; routed copies carry the span on."""
    partner = INBOUND_PARTNER.get(record.topic)
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": record.topic,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
        "hub.partner": partner.value if partner is not None else None,
    }
    with tracing.span(f"route {record.topic}", SpanKind.CONSUMER, record.headers, attributes) as s:
        out = route_record(record, ctx, task)
        header = tracing.header_of(s)
        areas = [o.topic.removeprefix("route.") for o in out if o.topic in _ROUTES]
        tracing.set_attributes(
            s,
            {
                "hub.destinations": sorted(set(areas)),
                "hub.dead_lettered": any(o.topic == DLQ for o in out),
            },
        )
    return [
        dataclasses.replace(o, headers=(*o.headers, *header)) if o.topic in _ROUTES else o
        for o in out
    ]
