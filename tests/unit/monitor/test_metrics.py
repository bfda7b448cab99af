"""The Prometheus exposition: names, values, no stale series, and the docs agree."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families

from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.metrics import METRICS, monitor_registry, render_metrics
from hub.monitor.scorecard import Decided, Scorecard
from hub.monitor.service import MonitorState
from hub.monitor.snapshot import MonitorSnapshot
from hub.settings import PROJECT_ROOT
from schemas.common import Area, Partner

Values = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(state: MonitorState) -> Values:
    text = render_metrics(monitor_registry(state)).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labels(**kw: str) -> frozenset[tuple[str, str]]:
    return frozenset(kw.items())


class TestExposition:
    def test_values_of_a_snapshot(self, snapshot: MonitorSnapshot) -> None:
        """Each figure of the snapshot is a sample with its labels."""
        state = MonitorState()
        state.record(snapshot)
        v = scrape(state)
        where = labels(group="team-mash", topic="route.mash", partition="0")
        assert v[("hub_consumer_lag_messages", where)] == 3
        assert v[("hub_consumer_committed_offset", where)] == 10
        assert (
            "hub_consumer_committed_offset",
            labels(group="team-mash", topic="route.mash", partition="2"),
        ) not in v  # never committed: no committed offset to show
        assert (
            v[("hub_consumer_topic_lag_messages", labels(group="team-mash", topic="route.mash"))]
            == 123
        )
        assert (
            v[("hub_consumer_lag_seconds", labels(group="team-mash", topic="route.mash"))] == 7200
        )
        assert v[("hub_consumer_status", labels(group="team-mash", status="STOP"))] == 4
        assert v[("hub_consumer_status", labels(group="router", status="WARN"))] == 2
        assert v[("hub_consumer_status", labels(group="team-lado", status="NOTFOUND"))] == 0
        assert v[("hub_undecided_messages", labels(area="mash"))] == 2
        assert v[("hub_undecided_oldest_seconds", labels(area="mash"))] == 30 * 3600
        assert v[("hub_sla_overdue_messages", labels(area="mash"))] == 1
        assert v[("hub_sla_breaches_total", labels(area="mash"))] == 2
        # One MASH outcome, decided 9 hours after routing: above 8 h, within a day.
        ttd = "hub_time_to_decision_seconds_bucket"
        assert v[(ttd, labels(area="mash", le="28800.0"))] == 0
        assert v[(ttd, labels(area="mash", le="86400.0"))] == 1
        assert v[(ttd, labels(area="mash", le="+Inf"))] == 1
        assert v[("hub_time_to_decision_seconds_sum", labels(area="mash"))] == 9 * 3600
        assert v[("hub_time_to_decision_seconds_count", labels(area="lado"))] == 0
        assert v[("hub_returned_ratio", labels(partner="housing"))] == 1.0
        reason = labels(partner="housing", reason="No consent <recorded>")
        assert v[("hub_returned_reasons_total", reason)] == 3
        assert v[("hub_police_kept_from_mash_ratio", frozenset())] == 0.5
        assert v[("hub_dlq_messages", frozenset())] == 1
        assert v[("hub_signature_failures_total", frozenset())] == 1
        assert v[("hub_message_quality_score_sum", labels(partner="police"))] == 240
        assert v[("hub_message_quality_score_count", labels(partner="police"))] == 3
        assert v[("hub_monitor_up", frozenset())] == 1

    def test_before_the_first_sample(self) -> None:
        """Only the monitor's own health is shown until a sample exists."""
        state = MonitorState()
        state.fail("Kafka unavailable", at=datetime.now(UTC))
        v = scrape(state)
        assert v == {
            ("hub_monitor_up", frozenset()): 0,
            ("hub_monitor_sample_errors_total", frozenset()): 1,
        }

    def test_names_follow_the_prometheus_conventions(self, snapshot: MonitorSnapshot) -> None:
        """No quantile gauges, no date labels, no averages: histograms and summaries instead."""
        state = MonitorState()
        state.record(snapshot)
        exposition = render_metrics(monitor_registry(state)).decode()
        assert "quantile=" not in exposition
        assert "day=" not in exposition
        assert "_average" not in exposition
        assert "# TYPE hub_time_to_decision_seconds histogram" in exposition
        assert "# TYPE hub_message_quality_score summary" in exposition

    def test_a_changed_status_leaves_no_stale_series(self, snapshot: MonitorSnapshot) -> None:
        """Each scrape renders the latest snapshot only."""
        state = MonitorState()
        state.record(snapshot)
        scrape(state)
        groups = tuple(g.model_copy(update={"status": ConsumerStatus.OK}) for g in snapshot.groups)
        state.record(snapshot.model_copy(update={"groups": groups}))
        v = scrape(state)
        assert ("hub_consumer_status", labels(group="team-mash", status="STOP")) not in v
        assert v[("hub_consumer_status", labels(group="team-mash", status="OK"))] == 1


class TestCatalogue:
    def test_every_metric_is_prefixed_and_documented(self) -> None:
        """docs/operations.md explains every metric the monitor exports, under its name."""
        docs = (PROJECT_ROOT / "docs" / "operations.md").read_text()
        for metric in METRICS:
            assert metric.name.startswith("hub_")
            assert f"`{metric.exposed}`" in docs, metric.exposed

    def test_names_are_unique(self) -> None:
        """No two families share a name."""
        names = [m.exposed for m in METRICS]
        assert len(names) == len(set(names))


class TestDecisionsByRule:
    def test_each_matching_rule_counts_the_decision(self) -> None:
        """Two decisions matched r1, one of them r2: the dashboard's decisions per rule."""
        card = Scorecard(ZoneInfo("Europe/London"))
        at = datetime(2026, 12, 1, 10, tzinfo=UTC)
        card.add_decision(Decided(Partner.POLICE, at, (Area.MASH,), (), ("r1", "r2")))
        card.add_decision(Decided(Partner.HEALTH, at, (Area.EARLY_HELP,), (), ("r1",)))
        assert card.view(at).decisions_by_rule == {"r1": 2, "r2": 1}
