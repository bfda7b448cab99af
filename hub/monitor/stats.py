"""The small sums behind the scorecard: percentiles and shares."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile", "ratio"]


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0 to 100) of ``values``; None when there are none.

    Linear interpolation between the two nearest ranks (numpy's default, "type 7"),
    so the 50th percentile of an even count is the mean of the middle two.
    """
    if not 0 <= q <= 100:  # noqa: PLR2004
        raise ValueError(f"a percentile is between 0 and 100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or None when ``whole`` is zero (no share of nothing)."""
    if part < 0 or whole < 0 or part > whole:
        raise ValueError(f"a share needs 0 <= part <= whole, got {part}/{whole}")
    return part / whole if whole else None
