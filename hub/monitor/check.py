"""``hub status --check``: the snapshot as a Nagios/Icinga plugin result.

Exit codes are the plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The
hub is CRITICAL when a consumer group is stopped, stalled or rewinding, or when an
area holds routed messages past their SLA deadline (``overdue``); WARNING when a group
is in WARN, or when dead letters or signature failures exist; OK otherwise. One line
goes to stdout: the state, the reasons, and performance data after a ``|``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.snapshot import MonitorSnapshot

__all__ = ["CheckResult", "CheckState", "check", "unknown"]

_CRITICAL_STATUSES = frozenset({ConsumerStatus.STOP, ConsumerStatus.STALL, ConsumerStatus.REWIND})


class CheckState(IntEnum):
    """A plugin's exit status."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class CheckResult:
    """The state and the one line a monitoring system shows."""

    state: CheckState
    line: str


def check(snapshot: MonitorSnapshot) -> CheckResult:
    """Judge one snapshot."""
    critical: list[str] = []
    warning: list[str] = []
    for group in snapshot.groups:
        where = group.area.value if group.area else group.name
        if group.status in _CRITICAL_STATUSES:
            critical.append(f"{where} consumer {group.status.value}")
        elif group.status is ConsumerStatus.WARN:
            warning.append(f"{where} consumer lagging")
    critical += [
        f"{a.overdue} overdue in {a.area.value}" for a in snapshot.scorecard.areas if a.overdue
    ]
    card = snapshot.scorecard
    if card.signature_failures:
        warning.append(f"{card.signature_failures} signature failures")
    if card.dlq_messages:
        warning.append(f"{card.dlq_messages} dead letters")
    state = CheckState.CRITICAL if critical else CheckState.WARNING if warning else CheckState.OK
    reasons = "; ".join(critical + warning) or "every queue is consumed and within its SLA"
    return CheckResult(state, f"HUB {state.name} - {reasons} | {_perfdata(snapshot)}")


def unknown(reason: str) -> CheckResult:
    """The result when the status could not be read."""
    return CheckResult(CheckState.UNKNOWN, f"HUB UNKNOWN - {' '.join(reason.split())[:300]}")


def _perfdata(snapshot: MonitorSnapshot) -> str:
    parts = []
    for group in snapshot.groups:
        if group.area is not None:
            parts.append(f"lag_{group.area.value}={group.lag}")
            parts.append(f"lag_seconds_{group.area.value}={group.lag_seconds:.0f}s")
    parts += [f"overdue_{a.area.value}={a.overdue}" for a in snapshot.scorecard.areas]
    parts.append(f"dlq={snapshot.scorecard.dlq_messages}")
    return " ".join(parts)
