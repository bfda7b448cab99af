"""The router's series: Prometheus conventions, and what one batch adds."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hub.errors import SignatureError
from hub.router.handler import InRecord, OutRecord, dead_letter
from hub.router.metrics import RouterMetrics
from hub.router.service import RouterStats


class TestRouterMetrics:
    def test_names_follow_the_conventions(self) -> None:
        """Units in names, counters _total, histograms for sizes and latencies, no quantiles."""
        stats = RouterStats(routed=4, transactions=2, aborted=1, checkpoints=1)
        metrics = RouterMetrics(lambda: stats, lambda: 6)
        metrics.observe_batch(3, [], 0.002, 0.01)
        text = metrics.render().decode()
        found = {f.name: f.type for f in text_string_to_metric_families(text)}
        assert found == {
            "hub_router_batch_records": "histogram",
            "hub_router_batch_routing_duration_seconds": "histogram",
            "hub_router_transaction_duration_seconds": "histogram",
            "hub_router_decisions": "counter",
            "hub_router_checkpoints": "counter",
            "hub_router_transactions": "counter",
            "hub_router_routed_copies": "counter",
            "hub_router_dead_letters": "counter",
            "hub_router_tasks": "gauge",
        }
        assert "hub_router_decisions_total 4.0" in text
        assert 'hub_router_transactions_total{result="aborted"} 1.0' in text
        assert "quantile" not in text
        assert "hub_router_batch_records_count 1.0" in text

    def test_a_batch_counts_copies_per_area_and_dead_letters_per_class(self) -> None:
        metrics = RouterMetrics(RouterStats, lambda: 1)
        bad = dead_letter(InRecord("partner.police.inbound", 0, 1, b"k", b"x"), SignatureError("x"))
        out = [
            OutRecord("route.mash", b"k", b"v", partition=0),
            OutRecord("route.mash", b"k", b"v", partition=0),
            OutRecord("route.encompass", b"k", b"v", partition=0),
            OutRecord("hub.decisions", b"k", b"v", partition=0),
            bad,
        ]
        metrics.observe_batch(2, out, 0.001, 0.002)
        text = metrics.render().decode()
        assert 'hub_router_routed_copies_total{area="mash"} 2.0' in text
        assert 'hub_router_routed_copies_total{area="encompass"} 1.0' in text
        assert 'hub_router_dead_letters_total{error_class="SignatureError"} 1.0' in text
