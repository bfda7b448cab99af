"""Prometheus exposition of the latest snapshot, in a registry of the monitor's own.

Every scrape renders the latest snapshot afresh (a custom collector), so a status
that changed, or a group that went away, leaves no stale series behind. Names,
types and labels are listed once in :data:`METRICS`; ``docs/operations.md`` explains
each, and a test checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from hub.monitor.checkboard import ChecksView
from hub.monitor.scorecard import TIME_TO_DECISION_BUCKETS_S
from hub.monitor.service import MonitorState
from hub.monitor.snapshot import AreaFlow, GroupLag, MonitorSnapshot, ScorecardView

__all__ = ["METRICS", "MetricSpec", "monitor_registry", "render_metrics"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric family the monitor exports."""

    name: str
    kind: str  # gauge, counter (exposed with _total), histogram or summary (_count, _sum)
    labels: tuple[str, ...]
    help: str

    @property
    def exposed(self) -> str:
        """The name as it appears in the exposition (a histogram's or summary's base)."""
        return f"{self.name}_total" if self.kind == "counter" else self.name

    def family(self) -> Family:
        """A new, empty family of this metric."""
        kinds: dict[str, type[Family]] = {
            "counter": CounterMetricFamily,
            "histogram": HistogramMetricFamily,
            "summary": SummaryMetricFamily,
        }
        return kinds.get(self.kind, GaugeMetricFamily)(self.name, self.help, labels=self.labels)


def _g(name: str, labels: tuple[str, ...], text: str) -> MetricSpec:
    return MetricSpec(name, "gauge", labels, text)


def _c(name: str, labels: tuple[str, ...], text: str) -> MetricSpec:
    return MetricSpec(name, "counter", labels, text)


Family = GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily | SummaryMetricFamily


_GTP = ("group", "topic", "partition")
METRICS: tuple[MetricSpec, ...] = (
    # --- consumer lag and status
    _g("hub_consumer_lag_messages", _GTP, "Log-end offset minus committed offset, at least 0."),
    _g("hub_consumer_topic_lag_messages", ("group", "topic"), "Lag summed over partitions."),
    _g("hub_consumer_lag_seconds", ("group", "topic"), "Age of the oldest unconsumed record."),
    _g("hub_consumer_committed_offset", _GTP, "Committed offset of the group."),
    _g("hub_consumer_commit_age_seconds", _GTP, "Since the committed offset last changed."),
    _g("hub_topic_log_end_offset", ("topic", "partition"), "Log-end offset (high watermark)."),
    _g("hub_topic_log_start_offset", ("topic", "partition"), "First offset still in the log."),
    _g(
        "hub_consumer_status",
        ("group", "status"),
        "Burrow-style status: 0 NOTFOUND, 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.",
    ),
    _g("hub_consumer_partition_status", (*_GTP, "status"), "Status of one partition (codes)."),
    _g("hub_consumer_group_members", ("group",), "Members of the consumer group."),
    _g("hub_consumer_group_state", ("group", "state"), "1 for the group's current state."),
    # --- flow and SLA
    _g("hub_undecided_messages", ("area",), "Routed copies with no team outcome yet."),
    _g("hub_undecided_oldest_seconds", ("area",), "Age of the oldest undecided copy."),
    _g("hub_sla_overdue_messages", ("area",), "Undecided copies past their due_by."),
    _c("hub_sla_breaches", ("area",), "Copies undecided past due_by plus outcomes after due_by."),
    _c("hub_outcomes", ("area",), "Team outcomes recorded."),
    _g(
        "hub_awaiting_authorisation_messages",
        ("area",),
        "MASH threshold decisions waiting for a manager's authorisation.",
    ),
    _g(
        "hub_time_to_authorisation_p50_seconds",
        ("area",),
        "Median time from a decision to its authorisation, over recent ones.",
    ),
    MetricSpec(
        "hub_time_to_decision_seconds",
        "histogram",
        ("area",),
        "Outcome decided_at minus routed_at, over every outcome read.",
    ),
    # --- partners and data quality
    _c("hub_partner_messages", ("partner",), "Messages decided on."),
    _c("hub_returned_messages", ("partner",), "Messages returned to the partner."),
    _g("hub_returned_ratio", ("partner",), "Returned messages over all messages."),
    _c("hub_returned_reasons", ("partner", "reason"), "Returns per reason (top five)."),
    MetricSpec(
        "hub_message_quality_score",
        "summary",
        ("partner",),
        "Data-quality score (0-100) given at the door; the mean is _sum / _count.",
    ),
    _c("hub_police_messages", (), "Police messages decided on."),
    _c("hub_police_kept_from_mash", (), "Police messages not routed to the MASH."),
    _g("hub_police_kept_from_mash_ratio", (), "Share of police messages kept from the MASH."),
    _c("hub_decisions_by_rule", ("rule",), "Decisions in which each policy rule matched."),
    _g("hub_dlq_messages", (), "Committed records on hub.dlq."),
    _g("hub_dlq_messages_by_error_class", ("error_class",), "hub.dlq records per error class."),
    _c(
        "hub_signature_failures",
        (),
        "hub.dlq records refused as forged: SignatureError, RecordKeyError, UnsealedContentError.",
    ),
    # --- agency checks (DESIGN.md section 17)
    _g("hub_checks_open", ("partner", "urgency"), "Agency checks not answered yet."),
    _g("hub_checks_overdue", ("partner", "urgency"), "Open agency checks past their deadline."),
    _g("hub_check_response_median_seconds", ("partner",), "Median time a partner takes to answer."),
    _g("hub_check_response_p90_seconds", ("partner",), "90th percentile time to answer."),
    _g(
        "hub_check_overdue_ratio", ("partner",), "Checks answered late or open past due, per asked."
    ),
    # --- the monitor itself
    _g("hub_monitor_up", (), "1 when the last sample succeeded."),
    _g("hub_monitor_last_sample_timestamp_seconds", (), "When the served sample was taken."),
    _g("hub_monitor_sample_duration_seconds", (), "How long the served sample took."),
    _c("hub_monitor_sample_errors", (), "Samples that failed."),
    _g("hub_monitor_caught_up", (), "1 when the scorecard had read every committed record."),
    _c("hub_monitor_unreadable_records", (), "Records the monitor could not parse."),
)

Families = dict[str, Family]


class _SnapshotCollector:
    """A prometheus_client collector over :class:`MonitorState`."""

    def __init__(self, state: MonitorState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        fams: Families = {m.name: m.family() for m in METRICS}
        state = self._state
        _add(fams, "hub_monitor_up", (), 1.0 if state.up else 0.0)
        _add(fams, "hub_monitor_sample_errors", (), state.sample_errors)
        if state.latest is not None:
            _snapshot(fams, state.latest)
        yield from fams.values()


def _add(fams: Families, name: str, labels: tuple[str, ...], value: float) -> None:
    family = fams[name]
    assert isinstance(family, GaugeMetricFamily | CounterMetricFamily)
    family.add_metric(list(labels), value)


def _snapshot(fams: Families, snap: MonitorSnapshot) -> None:
    _add(fams, "hub_monitor_last_sample_timestamp_seconds", (), snap.taken_at.timestamp())
    _add(fams, "hub_monitor_sample_duration_seconds", (), snap.duration_seconds)
    seen: set[tuple[str, int]] = set()
    for group in snap.groups:
        _group(fams, group, seen)
    _scorecard(fams, snap.scorecard)


def _group(fams: Families, group: GroupLag, seen: set[tuple[str, int]]) -> None:
    g = group.group
    _add(fams, "hub_consumer_status", (g, group.status.value), group.status.code)
    _add(fams, "hub_consumer_group_members", (g,), group.members)
    _add(fams, "hub_consumer_group_state", (g, group.state), 1)
    for topic in group.topics:
        _add(fams, "hub_consumer_topic_lag_messages", (g, topic), group.topic_lag(topic))
        _add(fams, "hub_consumer_lag_seconds", (g, topic), group.topic_lag_seconds(topic))
    for p in group.partitions:
        where = (g, p.topic, str(p.partition))
        _add(fams, "hub_consumer_lag_messages", where, p.lag)
        _add(fams, "hub_consumer_partition_status", (*where, p.status.value), p.status.code)
        if p.committed is not None:
            _add(fams, "hub_consumer_committed_offset", where, p.committed)
        if p.commit_age_seconds is not None:
            _add(fams, "hub_consumer_commit_age_seconds", where, p.commit_age_seconds)
        if (p.topic, p.partition) not in seen:
            seen.add((p.topic, p.partition))
            _add(fams, "hub_topic_log_end_offset", (p.topic, str(p.partition)), p.log_end)
            _add(fams, "hub_topic_log_start_offset", (p.topic, str(p.partition)), p.log_start)


def _optional(fams: Families, name: str, labels: tuple[str, ...], value: float | None) -> None:
    if value is not None:  # an undefined share or percentile is absent, not zero
        _add(fams, name, labels, value)


def _scorecard(fams: Families, card: ScorecardView) -> None:
    for a in card.areas:
        area = (a.area.value,)
        _add(fams, "hub_undecided_messages", area, a.undecided)
        _add(fams, "hub_undecided_oldest_seconds", area, a.oldest_undecided_seconds)
        _add(fams, "hub_sla_overdue_messages", area, a.overdue)
        _add(fams, "hub_sla_breaches", area, a.sla_breaches)
        _add(fams, "hub_outcomes", area, a.decided)
        _add(fams, "hub_awaiting_authorisation_messages", area, a.awaiting_authorisation)
        _optional(
            fams, "hub_time_to_authorisation_p50_seconds", area, a.time_to_authorisation_p50_seconds
        )
        _histogram(fams["hub_time_to_decision_seconds"], area, a)
    for p in card.partners:
        who = (p.partner.value,)
        _add(fams, "hub_partner_messages", who, p.messages)
        _add(fams, "hub_returned_messages", who, p.returned)
        _optional(fams, "hub_returned_ratio", who, p.returned_ratio)
        quality = fams["hub_message_quality_score"]
        assert isinstance(quality, SummaryMetricFamily)
        quality.add_metric(list(who), count_value=p.quality_scored, sum_value=p.quality_score_sum)
        for r in p.top_returned_reasons:
            _add(fams, "hub_returned_reasons", (*who, r.reason), r.count)
    _add(fams, "hub_police_messages", (), card.police_messages)
    _add(fams, "hub_police_kept_from_mash", (), card.police_kept_from_mash)
    _optional(fams, "hub_police_kept_from_mash_ratio", (), card.police_kept_from_mash_ratio)
    for rule, count in card.decisions_by_rule.items():
        _add(fams, "hub_decisions_by_rule", (rule,), count)
    _add(fams, "hub_dlq_messages", (), card.dlq_messages)
    for error_class, count in card.dlq_by_error_class.items():
        _add(fams, "hub_dlq_messages_by_error_class", (error_class,), count)
    _add(fams, "hub_signature_failures", (), card.signature_failures)
    _checks(fams, card.checks)
    _add(fams, "hub_monitor_caught_up", (), 1.0 if card.caught_up else 0.0)
    _add(fams, "hub_monitor_unreadable_records", (), card.unreadable_records)


def _checks(fams: Families, checks: ChecksView) -> None:
    for o in checks.open:
        labels = (o.partner.value, o.urgency.value)
        _add(fams, "hub_checks_open", labels, o.open)
        _add(fams, "hub_checks_overdue", labels, o.overdue)
    for p in checks.partners:
        who = (p.partner.value,)
        _optional(fams, "hub_check_response_median_seconds", who, p.response_median_seconds)
        _optional(fams, "hub_check_response_p90_seconds", who, p.response_p90_seconds)
        _optional(fams, "hub_check_overdue_ratio", who, p.overdue_ratio)


def _histogram(family: Family, area: tuple[str, ...], flow: AreaFlow) -> None:
    assert isinstance(family, HistogramMetricFamily)
    # "28800.0", as prometheus_client writes the bounds of its own histograms.
    bounds = [repr(float(b)) for b in TIME_TO_DECISION_BUCKETS_S]
    buckets = [
        *zip(bounds, flow.time_to_decision_buckets, strict=True),
        ("+Inf", flow.time_to_decision_count),
    ]
    family.add_metric(list(area), buckets, sum_value=flow.time_to_decision_sum_seconds)


def monitor_registry(state: MonitorState) -> CollectorRegistry:
    """A registry of the monitor's own (never the process-global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(state))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The text exposition of ``registry``."""
    return generate_latest(registry)
