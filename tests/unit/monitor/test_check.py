"""`hub status --check`: the snapshot judged as a Nagios plugin would report it."""

from __future__ import annotations

from hub.monitor.check import CheckState, check, unknown
from hub.monitor.evaluator import ConsumerStatus
from hub.monitor.snapshot import MonitorSnapshot


def _without_trouble(snapshot: MonitorSnapshot) -> MonitorSnapshot:
    groups = tuple(g.model_copy(update={"status": ConsumerStatus.OK}) for g in snapshot.groups)
    areas = tuple(a.model_copy(update={"overdue": 0}) for a in snapshot.scorecard.areas)
    card = snapshot.scorecard.model_copy(
        update={"areas": areas, "dlq_messages": 0, "signature_failures": 0}
    )
    return snapshot.model_copy(update={"groups": groups, "scorecard": card})


class TestCheck:
    def test_a_stopped_consumer_and_overdue_work_are_critical(
        self, snapshot: MonitorSnapshot
    ) -> None:
        """The fixture's MASH group is stopped and a MASH copy is past its deadline."""
        result = check(snapshot)
        assert result.state is CheckState.CRITICAL
        assert result.line.startswith("HUB CRITICAL - mash consumer STOP")
        assert "overdue in mash" in result.line
        assert "| lag_mash=123 " in result.line

    def test_a_lagging_consumer_is_a_warning(self, snapshot: MonitorSnapshot) -> None:
        calm = _without_trouble(snapshot)
        lagging = calm.model_copy(
            update={
                "groups": tuple(
                    g.model_copy(update={"status": ConsumerStatus.WARN}) if g.area is None else g
                    for g in calm.groups
                )
            }
        )
        result = check(lagging)
        assert result.state is CheckState.WARNING
        assert "router consumer lagging" in result.line

    def test_dead_letters_are_a_warning(self, snapshot: MonitorSnapshot) -> None:
        calm = _without_trouble(snapshot)
        card = calm.scorecard.model_copy(update={"dlq_messages": 2, "signature_failures": 1})
        result = check(calm.model_copy(update={"scorecard": card}))
        assert result.state is CheckState.WARNING
        assert "1 signature failures" in result.line
        assert "2 dead letters" in result.line

    def test_all_well_is_ok(self, snapshot: MonitorSnapshot) -> None:
        result = check(_without_trouble(snapshot))
        assert result.state is CheckState.OK
        assert result.line.startswith("HUB OK - every queue is consumed and within its SLA |")

    def test_unreadable_is_unknown_in_one_line(self) -> None:
        result = unknown("Kafka is not reachable\nat 127.0.0.1:1")
        assert result.state is CheckState.UNKNOWN
        assert result.line == "HUB UNKNOWN - Kafka is not reachable at 127.0.0.1:1"
        assert int(result.state) == 3
