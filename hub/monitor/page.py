"""The scorecard web page: server-rendered HTML with inline SVG charts.

Rendered from ``scorecard.html`` next to this module, with autoescaping on; only the
charts (drawn and escaped by :mod:`hub.monitor.charts`) go in unescaped. The page
never refreshes itself (WCAG 2.2.1): a Refresh link reloads it when the reader
chooses. No JavaScript, no inline styles.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from hub.monitor import present
from hub.monitor.charts import bar_chart, line_chart, stacked_columns
from hub.monitor.service import MonitorState
from hub.monitor.snapshot import MonitorSnapshot

__all__ = ["render_page"]

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["duration"] = present.duration
_ENV.filters["percent"] = present.percent


_TITLES = {
    "lag": "Queue lag (age of the oldest unconsumed copy) per area",
    "breaches": "SLA breaches per area",
    "volumes": "Messages per partner per day",
    "returned": "Returned rate per partner per day (data quality)",
}


def _charts(snapshot: MonitorSnapshot) -> dict[str, Markup]:
    rows = present.queue_rows(snapshot)
    day_labels, stacks = present.daily_volumes(snapshot)
    returned_labels, returned = present.daily_returned_series(snapshot)
    lag_hours = [(r.area.value, r.group.lag_seconds / 3600 if r.group else 0.0) for r in rows]
    breaches = [(a.area.value, float(a.sla_breaches)) for a in snapshot.scorecard.areas]
    svgs = {
        "lag": bar_chart(_TITLES["lag"], lag_hours, lambda h: present.duration(h * 3600)),
        "breaches": bar_chart(_TITLES["breaches"], breaches, colour="#d62728"),
        "volumes": stacked_columns(_TITLES["volumes"], day_labels, stacks),
        "returned": line_chart(_TITLES["returned"], returned_labels, returned),
    }
    # The chart functions escape every label they draw.
    return {name: Markup(svg) for name, svg in svgs.items()}  # noqa: S704


def render_page(state: MonitorState, refresh_s: float) -> str:
    """The whole page for the latest snapshot (or a "starting" page before the first)."""
    snapshot = state.latest
    template = _ENV.get_template("scorecard.html")
    return template.render(
        state=state,
        snap=snapshot,
        rows=present.queue_rows(snapshot) if snapshot else [],
        router=[g for g in snapshot.groups if g.area is None] if snapshot else [],
        charts=_charts(snapshot) if snapshot else {},
        titles=_TITLES,
        refresh=max(5, round(refresh_s)),
    )
