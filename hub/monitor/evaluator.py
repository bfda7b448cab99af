"""Consumer status after Burrow's rules, over a sliding window of lag samples.

Burrow (linkedin/Burrow, ``core/internal/evaluator/caching.go``) judges each partition
of a consumer group over its last N offset commits. The admin API the monitor uses
shows no commit times (OffsetFetch carries none), so the monitor *samples* instead:
every interval it records each partition's committed offset and lag, and the time it
last saw the committed offset change stands in for Burrow's "last commit time".

Rules for one partition, the first that matches wins (``now`` is the newest sample's
time, the *span* is the newest sample's time minus the oldest's):

1. no lag now: ``OK``;
2. no member in the group (nobody can be consuming): ``STOP``;
3. fewer than two samples, or no lag at some sample in the window: ``OK``;
4. the committed offset went backwards between two samples: ``REWIND``;
5. the offset has not changed for longer than the span (``now - last change > span``,
   so the change happened before the window began): ``STOP``;
6. the committed offset is the same in every sample: ``STALL``;
7. the offset advances but the lag never decreases: ``WARN`` (a slow consumer);
8. otherwise ``OK``.

Rule 2 is the hub's addition: Burrow would reach ``STOP`` too, one window later. A
group's status is its worst partition's, in the order ``OK < WARN < REWIND < STALL <
STOP``; a group that has neither members nor committed offsets is ``NOTFOUND``. The
numeric codes are Burrow's, so dashboards built for Burrow read the same numbers.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["ConsumerStatus", "LagSample", "PartitionWindow", "evaluate", "worst"]


class ConsumerStatus(StrEnum):
    """The health of a consumer group, or of one of its partitions."""

    NOTFOUND = "NOTFOUND"
    OK = "OK"
    WARN = "WARN"
    STOP = "STOP"
    STALL = "STALL"
    REWIND = "REWIND"

    @property
    def code(self) -> int:
        """Burrow's number for the status (3, ERR, is a Burrow group summary not used here)."""
        return _CODES[self]

    @property
    def severity(self) -> int:
        """How bad the status is; a group takes its worst partition's."""
        return _SEVERITY[self]


_CODES = {
    ConsumerStatus.NOTFOUND: 0,
    ConsumerStatus.OK: 1,
    ConsumerStatus.WARN: 2,
    ConsumerStatus.STOP: 4,
    ConsumerStatus.STALL: 5,
    ConsumerStatus.REWIND: 6,
}
_SEVERITY = {
    ConsumerStatus.NOTFOUND: 0,
    ConsumerStatus.OK: 1,
    ConsumerStatus.WARN: 2,
    ConsumerStatus.REWIND: 3,
    ConsumerStatus.STALL: 4,
    ConsumerStatus.STOP: 5,
}


@dataclass(frozen=True)
class LagSample:
    """One observation of a partition: when, the committed offset (None: none) and the lag."""

    at: datetime
    offset: int | None
    lag: int


def evaluate(
    samples: Sequence[LagSample],
    last_change_at: datetime | None,
    *,
    consumers_present: bool = True,
) -> ConsumerStatus:
    """Return the status of one partition from its window of samples, oldest first."""
    if not samples or samples[-1].lag == 0:
        return ConsumerStatus.OK
    if not consumers_present:
        return ConsumerStatus.STOP
    if len(samples) < 2 or any(s.lag == 0 for s in samples):  # noqa: PLR2004
        return ConsumerStatus.OK
    return _lagging_window(samples, last_change_at)


def _lagging_window(
    samples: Sequence[LagSample], last_change_at: datetime | None
) -> ConsumerStatus:
    """Rules 4 to 8, for a window of two or more samples that all show lag."""
    offsets = [s.offset for s in samples]
    if _rewound(offsets):
        return ConsumerStatus.REWIND
    now, span = samples[-1].at, samples[-1].at - samples[0].at
    if last_change_at is not None and now - last_change_at > span:
        return ConsumerStatus.STOP
    if all(o == offsets[0] for o in offsets):
        return ConsumerStatus.STALL
    if all(b.lag >= a.lag for a, b in itertools.pairwise(samples)):
        return ConsumerStatus.WARN
    return ConsumerStatus.OK


def _rewound(offsets: Sequence[int | None]) -> bool:
    known = [o for o in offsets if o is not None]
    return any(b < a for a, b in itertools.pairwise(known))


def worst(statuses: Iterable[ConsumerStatus]) -> ConsumerStatus:
    """The most severe of ``statuses``; ``OK`` when there are none."""
    return max(statuses, key=lambda s: s.severity, default=ConsumerStatus.OK)


class PartitionWindow:
    """The last ``size`` samples of one partition of one group, and its last offset change."""

    def __init__(self, size: int) -> None:
        if size < 2:  # noqa: PLR2004
            raise ValueError(f"a window needs at least two samples, got {size}")
        self._samples: deque[LagSample] = deque(maxlen=size)
        self._last_change_at: datetime | None = None

    @property
    def samples(self) -> tuple[LagSample, ...]:
        """The samples in the window, oldest first."""
        return tuple(self._samples)

    @property
    def last_change_at(self) -> datetime | None:
        """When the committed offset was last seen to change (first seen, at the latest)."""
        return self._last_change_at

    def observe(self, sample: LagSample) -> None:
        """Add a sample, dropping the oldest when the window is full."""
        if not self._samples or self._samples[-1].offset != sample.offset:
            self._last_change_at = sample.at
        self._samples.append(sample)

    def status(self, *, consumers_present: bool = True) -> ConsumerStatus:
        """The partition's status now."""
        return evaluate(self.samples, self._last_change_at, consumers_present=consumers_present)
