"""The team app's own series on its ``/metrics``: its queues, read at each scrape."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from hub.teams.store import QueueStore
from schemas.common import Area


class QueueCollector:
    """Undecided and decided rows per area, and records that could not be queued."""

    def __init__(self, store: QueueStore, areas: Iterable[Area]) -> None:
        self._store = store
        self._areas = tuple(a.value for a in areas)

    def collect(self) -> Iterator[Metric]:
        """One read of the queue store per scrape."""
        undecided = GaugeMetricFamily(
            "hub_team_undecided_messages", "Queued rows without a decision.", labels=["area"]
        )
        decided = CounterMetricFamily(
            "hub_team_decisions", "Queued rows decided through this app.", labels=["area"]
        )
        counts = self._store.counts()
        for area in sorted(set(self._areas) | set(counts)):
            open_rows, done_rows = counts.get(area, (0, 0))
            undecided.add_metric([area], open_rows)
            decided.add_metric([area], done_rows)
        rejected = CounterMetricFamily(
            "hub_team_rejected_records",
            "Routed records refused (no or bad MAC, unreadable) and set aside.",
        )
        rejected.add_metric([], self._store.rejected_count())
        yield from (undecided, decided, rejected)
