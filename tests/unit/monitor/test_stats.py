"""Percentiles and shares."""

from __future__ import annotations

import pytest

from hub.monitor.stats import percentile, ratio


class TestPercentile:
    @pytest.mark.parametrize(
        ("values", "q", "expected"),
        [
            ([], 50, None),
            ([7.0], 50, 7.0),
            ([7.0], 90, 7.0),
            ([1.0, 2.0, 3.0], 50, 2.0),
            ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
            ([3.0, 1.0, 4.0, 2.0], 50, 2.5),  # order does not matter
            ([10.0, 20.0, 30.0, 40.0, 50.0], 90, 46.0),
            ([float(i) for i in range(1, 11)], 90, 9.1),
            ([float(i) for i in range(1, 101)], 50, 50.5),
            ([5.0, 1.0], 0, 1.0),
            ([5.0, 1.0], 100, 5.0),
        ],
    )
    def test_linear_between_ranks(self, values: list[float], q: float, expected: float) -> None:
        """Linear interpolation between the nearest ranks, as numpy's default."""
        assert percentile(values, q) == pytest.approx(expected)

    @pytest.mark.parametrize("q", [-1, 100.5])
    def test_out_of_range(self, q: float) -> None:
        """A percentile outside 0..100 is a programming error."""
        with pytest.raises(ValueError, match="between 0 and 100"):
            percentile([1.0], q)


class TestRatio:
    @pytest.mark.parametrize(
        ("part", "whole", "expected"),
        [(0, 0, None), (0, 4, 0.0), (1, 4, 0.25), (4, 4, 1.0), (2, 3, 2 / 3)],
    )
    def test_share(self, part: int, whole: int, expected: float | None) -> None:
        """The part over the whole, undefined for an empty whole."""
        assert ratio(part, whole) == expected

    @pytest.mark.parametrize(("part", "whole"), [(5, 4), (-1, 3), (1, -1)])
    def test_impossible_shares(self, part: int, whole: int) -> None:
        """A part larger than the whole, or a negative count, is refused."""
        with pytest.raises(ValueError, match="share"):
            ratio(part, whole)
