"""Tracing is off unless configured, and a span carries only allowed attributes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hub import tracing

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    found = InMemorySpanExporter()
    tracing.configure("hub-test", found)
    yield found
    tracing.shutdown()


class TestOff:
    def test_off_without_an_endpoint(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No OTEL_EXPORTER_OTLP_ENDPOINT: no tracer, no span, no header."""
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        assert not tracing.configure("hub-test")
        assert tracing.TRACER is None
        with tracing.span("x", SpanKind.INTERNAL, (("traceparent", PARENT.encode()),)) as s:
            assert s is None
            assert tracing.header_of(s) == ()

    def test_on_with_an_endpoint(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
        try:
            assert tracing.configure("hub-test")
            assert tracing.TRACER is not None
        finally:
            tracing.shutdown()


class TestOn:
    def test_a_child_of_the_record_header_with_allowed_attributes_only(
        self, exporter: InMemorySpanExporter
    ) -> None:
        record_headers = (("hub-mac", b"\x00"), ("traceparent", PARENT.encode()))
        attributes = {"hub.area": "mash", "subject.name": "Mia Sample", "hub.kind": None}
        with tracing.span("route", SpanKind.CONSUMER, record_headers, attributes) as s:
            header = tracing.header_of(s)
        (done,) = exporter.get_finished_spans()
        assert done.context is not None
        assert done.context.trace_id == int(PARENT.split("-")[1], 16)
        assert done.parent is not None
        assert done.parent.span_id == int(PARENT.split("-")[2], 16)
        assert dict(done.attributes or {}) == {"hub.area": "mash"}
        assert header[0][0] == "traceparent"
        assert f"{done.context.span_id:016x}" in header[0][1].decode()

    def test_a_malformed_traceparent_starts_a_new_trace(
        self, exporter: InMemorySpanExporter
    ) -> None:
        with tracing.span("x", SpanKind.SERVER, {"traceparent": "garbage"}):
            pass
        (done,) = exporter.get_finished_spans()
        assert done.parent is None
