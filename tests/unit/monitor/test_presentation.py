"""What people read: SVG charts, the scorecard page, /api/status and ``hub status``."""

from __future__ import annotations

import httpx
import pytest
from defusedxml import ElementTree
from rich.console import Console

from hub.kafka import TopicPartition
from hub.monitor.charts import Series, bar_chart, line_chart, stacked_columns
from hub.monitor.console import print_status
from hub.monitor.lag import PartitionOffsets
from hub.monitor.present import duration, percent
from hub.monitor.service import MonitorState
from hub.monitor.snapshot import MonitorSnapshot
from hub.monitor.web import create_app

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & co'


class TestCharts:
    @pytest.mark.parametrize(
        "svg",
        [
            bar_chart(HOSTILE, [(HOSTILE, 3.0), ("b", 0.0)]),
            bar_chart("empty", []),
            stacked_columns(HOSTILE, ["1 Nov", "2 Nov"], {HOSTILE: [1.0, 2.0], "b": [0.0, 3.0]}),
            stacked_columns("empty", [], {}),
            line_chart(HOSTILE, ["1 Nov", "2 Nov"], [Series(HOSTILE, [0.5, None])]),
            line_chart("empty", [], []),
        ],
    )
    def test_well_formed_and_escaped(self, svg: str) -> None:
        """Every chart is one well-formed SVG element; no label can inject markup."""
        root = ElementTree.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert "<script" not in svg
        assert root.find(f"{SVG}title") is not None

    def test_bars_scale_to_the_largest(self) -> None:
        """The largest bar is the full width and half the value is half as long."""
        root = ElementTree.fromstring(bar_chart("t", [("a", 10.0), ("b", 5.0)]))
        widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
        assert widths[0] == pytest.approx(2 * widths[1])


class TestWords:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (None, "-"),
            (0, "0s"),
            (59.4, "59s"),
            (61, "1m"),
            (3600 + 300, "1h 05m"),
            (2 * 86400 + 4 * 3600, "2d 04h"),
        ],
    )
    def test_duration(self, seconds: float | None, text: str) -> None:
        """Short human durations."""
        assert duration(seconds) == text

    def test_percent(self) -> None:
        """One decimal, or a dash when undefined."""
        assert (percent(0.25), percent(None)) == ("25.0%", "-")


class TestOffsets:
    @pytest.mark.parametrize(
        ("start", "end", "committed", "lag"),
        [(0, 10, 4, 6), (0, 10, None, 10), (5, 10, None, 5), (0, 10, 12, 0), (0, 0, None, 0)],
    )
    def test_lag(self, start: int, end: int, committed: int | None, lag: int) -> None:
        """Log end minus committed (log start when none), never negative."""
        assert PartitionOffsets(TopicPartition("t", 0), start, end, committed).lag == lag


class TestWeb:
    async def test_before_the_first_sample(self) -> None:
        """The page says it is starting; the JSON is 503; metrics show the monitor down."""
        async with client(MonitorState()) as c:
            page, api, metrics = (
                await c.get("/"),
                await c.get("/api/status"),
                await c.get("/metrics"),
            )
        assert "first sample" in page.text
        assert api.status_code == 503
        assert "hub_monitor_up 0.0" in metrics.text

    async def test_page_and_json(self, snapshot: MonitorSnapshot) -> None:
        """The page has four charts and every table; partner text is escaped."""
        state = MonitorState()
        state.record(snapshot)
        async with client(state) as c:
            page, api = await c.get("/"), await c.get("/api/status")
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.count("<svg") == 4
        assert "No consent &lt;recorded&gt; (3)" in page.text
        assert 'http-equiv="refresh"' not in page.text  # WCAG 2.2.1: no timed refresh
        assert '<a href="/" role="button">Refresh</a>' in page.text
        assert "<script" not in page.text
        assert "<style" not in page.text  # under the CSP
        assert "style=" not in page.text
        assert (
            page.text.count("<caption>") == 5
        )  # queues, authorisation, partners, the two tables of agency checks
        assert '<th scope="row">mash</th>' in page.text
        body = api.json()
        assert body["up"] is True
        assert body["snapshot"]["scorecard"]["police_kept_from_mash_ratio"] == 0.5

    async def test_a_failed_sample_is_shown(self, snapshot: MonitorSnapshot) -> None:
        """After a failure the last good sample stays, with the reason above it."""
        state = MonitorState()
        state.record(snapshot)
        state.fail("reading log offsets: Kafka unavailable", snapshot.taken_at)
        async with client(state) as c:
            page = await c.get("/")
        assert "The last sample failed: reading log offsets" in page.text


def client(state: MonitorState) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(state))
    return httpx.AsyncClient(transport=transport, base_url="http://monitor")


class TestConsole:
    def test_hub_status_tables(self, snapshot: MonitorSnapshot) -> None:
        """``hub status`` prints the queues, SLA and partner tables and the headline."""
        console = Console(record=True, width=140)
        print_status(snapshot, console)
        text = console.export_text()
        for heading in ("Queues: lag and consumer", "Decisions and SLA", "Partner data quality"):
            assert heading in text
        assert "STOP" in text
        assert "inbound (router)" in text
        assert "police notifications kept from the MASH: 50.0% (3 of 6)" in text
        assert "signature failures: 1" in text
