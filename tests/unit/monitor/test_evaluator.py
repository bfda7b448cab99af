"""The Burrow-style status rules, one row per rule, on windows of samples."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from hub.monitor.evaluator import (
    ConsumerStatus,
    LagSample,
    PartitionWindow,
    evaluate,
    worst,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
OK, WARN, STOP, STALL, REWIND, NOTFOUND = (
    ConsumerStatus.OK,
    ConsumerStatus.WARN,
    ConsumerStatus.STOP,
    ConsumerStatus.STALL,
    ConsumerStatus.REWIND,
    ConsumerStatus.NOTFOUND,
)


def window(*points: tuple[int | None, int], every_s: int = 10) -> list[LagSample]:
    """Samples (offset, lag) taken every ``every_s`` seconds from T0."""
    return [
        LagSample(at=T0 + timedelta(seconds=i * every_s), offset=o, lag=lag)
        for i, (o, lag) in enumerate(points)
    ]


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


# (case, samples, last offset change, consumers present, expected)
RULES: list[tuple[str, Sequence[LagSample], datetime | None, bool, ConsumerStatus]] = [
    ("no samples", [], None, True, OK),
    ("no lag now", window((5, 3), (5, 3), (5, 0)), at(0), True, OK),
    ("no lag now, nobody in the group", window((5, 0)), at(0), False, OK),
    ("lag and nobody in the group", window((5, 3)), at(0), False, STOP),
    ("one sample says nothing", window((5, 3)), at(0), True, OK),
    ("lag was zero inside the window", window((5, 0), (5, 2), (5, 4)), at(0), True, OK),
    ("offset went backwards", window((9, 1), (4, 6), (6, 4)), at(20), True, REWIND),
    ("rewind beats stop", window((9, 1), (4, 6), (4, 7)), at(10), True, REWIND),
    ("unchanged since before the window", window((5, 1), (5, 2), (5, 3)), at(-10), True, STOP),
    ("unchanged since the window began", window((5, 1), (5, 2), (5, 3)), at(0), True, STALL),
    ("never committed, unchanged", window((None, 4), (None, 5)), at(0), True, STALL),
    ("never committed, long ago", window((None, 4), (None, 5)), at(-60), True, STOP),
    ("advancing, lag never falls", window((5, 3), (6, 3), (8, 4)), at(20), True, WARN),
    ("advancing, lag falls", window((5, 3), (7, 2), (9, 2)), at(20), True, OK),
    ("advancing, lag falls at the end", window((5, 3), (6, 4), (8, 1)), at(20), True, OK),
    ("first commit counts as a change", window((None, 4), (3, 4)), at(10), True, WARN),
]


class TestRules:
    @pytest.mark.parametrize(
        ("samples", "changed", "present", "expected"),
        [row[1:] for row in RULES],
        ids=[row[0] for row in RULES],
    )
    def test_rule(
        self,
        samples: Sequence[LagSample],
        changed: datetime | None,
        present: bool,
        expected: ConsumerStatus,
    ) -> None:
        """Each rule of the status table gives its status."""
        assert evaluate(samples, changed, consumers_present=present) is expected


class TestWindow:
    def test_a_stopped_consumer_stalls_for_one_window_then_stops(self) -> None:
        """Offsets frozen while lag grows: STALL while the window spans it, then STOP."""
        w = PartitionWindow(3)
        statuses = []
        for i, lag in enumerate([2, 3, 4, 5, 6]):
            w.observe(LagSample(at=at(10 * i), offset=7, lag=lag))
            statuses.append(w.status())
        assert statuses == [OK, STALL, STALL, STOP, STOP]
        assert w.last_change_at == at(0)

    def test_a_commit_resets_the_clock(self) -> None:
        """Advancing offsets with falling lag are healthy again at once."""
        w = PartitionWindow(3)
        for i, (offset, lag) in enumerate([(7, 3), (7, 4), (7, 5), (7, 6), (12, 1)]):
            w.observe(LagSample(at=at(10 * i), offset=offset, lag=lag))
        assert w.last_change_at == at(40)
        assert w.status() is OK

    def test_the_window_keeps_only_its_size(self) -> None:
        """Old samples slide out, so an old zero stops hiding lag."""
        w = PartitionWindow(2)
        for i, lag in enumerate([0, 4, 5]):
            w.observe(LagSample(at=at(10 * i), offset=3, lag=lag))
        assert [s.lag for s in w.samples] == [4, 5]
        assert w.status() is STOP

    def test_a_window_needs_two_samples(self) -> None:
        """A window of one could never compare anything."""
        with pytest.raises(ValueError, match="at least two"):
            PartitionWindow(1)


class TestGroupStatus:
    @pytest.mark.parametrize(
        ("statuses", "expected"),
        [
            ([], OK),
            ([OK, OK], OK),
            ([OK, WARN], WARN),
            ([WARN, REWIND], REWIND),
            ([REWIND, STALL], STALL),
            ([STALL, STOP, OK], STOP),
        ],
    )
    def test_the_worst_partition_wins(
        self, statuses: list[ConsumerStatus], expected: ConsumerStatus
    ) -> None:
        """A group is as bad as its worst partition."""
        assert worst(statuses) is expected

    def test_codes_are_burrows(self) -> None:
        """The numeric codes match Burrow's, so its dashboards read the same numbers."""
        assert [s.code for s in (NOTFOUND, OK, WARN, STOP, STALL, REWIND)] == [0, 1, 2, 4, 5, 6]
