"""The Prometheus exposition: names, values, no stale series, and the docs agree."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.metrics import METRICS, monitor_registry, render_metrics
from hub.monitor.service import MonitorState
from hub.monitor.snapshot import MonitorSnapshot
from hub.settings import PROJECT_ROOT

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
        assert v[("hub_time_to_decision_seconds", labels(area="mash", quantile="0.5"))] == 9 * 3600
        assert ("hub_time_to_decision_seconds", labels(area="lado", quantile="0.5")) not in v
        assert v[("hub_messages_total", labels(partner="police", day="2026-11-25"))] == 2
        assert v[("hub_returned_ratio", labels(partner="housing"))] == 1.0
        reason = labels(partner="housing", reason="No consent <recorded>")
        assert v[("hub_returned_reasons_total", reason)] == 3
        assert v[("hub_police_kept_from_mash_ratio", frozenset())] == 0.5
        assert v[("hub_dlq_messages", frozenset())] == 1
        assert v[("hub_signature_failures_total", frozenset())] == 1
        assert v[("hub_quality_score_average", labels(partner="police"))] == 80
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
