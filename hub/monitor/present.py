"""Turning a snapshot into what people read: durations, shares, rows and chart series.

Shared by the scorecard page and ``hub status``, so both say the same thing in the
same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.monitor.charts import Series
from hub.monitor.snapshot import GroupLag, MonitorSnapshot
from schemas.common import Area, Partner

__all__ = [
    "QueueRow",
    "daily_returned_series",
    "daily_volumes",
    "duration",
    "percent",
    "queue_rows",
]

_MINUTE, _HOUR, _DAY = 60, 3600, 86400


def duration(seconds: float | None) -> str:
    """A short human duration: ``45s``, ``12m``, ``3h 05m``, ``2d 04h``; ``-`` for none."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < _MINUTE:
        return f"{s}s"
    if s < _HOUR:
        return f"{s // _MINUTE}m"
    if s < _DAY:
        return f"{s // _HOUR}h {s % _HOUR // _MINUTE:02d}m"
    return f"{s // _DAY}d {s % _DAY // _HOUR:02d}h"


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal; ``-`` when undefined."""
    return "-" if share is None else f"{share:.1%}"


@dataclass(frozen=True)
class QueueRow:
    """One line of the per-area table: the queue's lag and the area's flow and SLA."""

    area: Area
    group: GroupLag | None
    undecided: int | None
    oldest_undecided_seconds: float | None
    overdue: int | None
    sla_breaches: int | None
    p50_seconds: float | None
    p90_seconds: float | None


def queue_rows(snapshot: MonitorSnapshot) -> list[QueueRow]:
    """One row per area with a route queue, in the order of :class:`Area`."""
    flows = {f.area: f for f in snapshot.scorecard.areas}
    rows = []
    for group in snapshot.groups:
        if group.area is None:
            continue
        flow = flows.get(group.area)
        rows.append(
            QueueRow(
                area=group.area,
                group=group,
                undecided=flow.undecided if flow else None,
                oldest_undecided_seconds=flow.oldest_undecided_seconds if flow else None,
                overdue=flow.overdue if flow else None,
                sla_breaches=flow.sla_breaches if flow else None,
                p50_seconds=flow.time_to_decision_p50_seconds if flow else None,
                p90_seconds=flow.time_to_decision_p90_seconds if flow else None,
            )
        )
    return rows


def _days(snapshot: MonitorSnapshot) -> list[date]:
    return sorted({d.day for d in snapshot.scorecard.days})


def daily_volumes(snapshot: MonitorSnapshot) -> tuple[list[str], dict[str, list[float]]]:
    """Day labels and, per partner, messages per day."""
    days = _days(snapshot)
    index = {day: i for i, day in enumerate(days)}
    stacks = {p.value: [0.0] * len(days) for p in Partner}
    for d in snapshot.scorecard.days:
        stacks[d.partner.value][index[d.day]] = float(d.messages)
    return [d.strftime("%d %b") for d in days], stacks


def daily_returned_series(snapshot: MonitorSnapshot) -> tuple[list[str], list[Series]]:
    """Day labels and, per partner, the returned share per day (gaps on no traffic)."""
    days = _days(snapshot)
    index = {day: i for i, day in enumerate(days)}
    values: dict[Partner, list[float | None]] = {p: [None] * len(days) for p in Partner}
    for d in snapshot.scorecard.days:
        values[d.partner][index[d.day]] = d.returned_ratio
    labels = [d.strftime("%d %b") for d in days]
    return labels, [Series(p.value, v) for p, v in values.items()]
