"""The shared state of one generated day: its seeded randomness, clock, people and references.

Every choice goes through :attr:`Day.rng`, seeded with the seed and the date, so the
same seed and day give the same bytes. Times are drawn by local hour of the day in
Europe/London (a 23- or 25-hour day at a clock change included) and kept in UTC.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from hub.demo.people import Population
from hub.demo.police import LONDON
from schemas.common import Partner

T = TypeVar("T")

# Relative weight of each local hour (0 to 23) for when requests are sent.
POLICE_HOURS = (6, 5, 4, 3, 2, 2, 2, 3, 4, 5, 5, 5, 5, 5, 5, 6, 6, 7, 7, 7, 7, 7, 7, 6)
"""Police work round the clock, busiest in the evening."""
OFFICE_HOURS = (0, 0, 0, 0, 0, 0, 0, 1, 5, 8, 8, 8, 6, 7, 8, 8, 7, 5, 2, 1, 1, 0, 0, 0)
"""GPs, health visitors, housing referrers and DA services work office hours."""
HOSPITAL_HOURS = (3, 3, 2, 2, 2, 2, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5, 4, 4)
"""Emergency departments refer at any hour, fewer at night."""


@dataclass(frozen=True)
class Draft:
    """A partner's document before it is written as bytes, with what it is and when sent."""

    partner: Partner
    document: dict[str, Any]
    label: str
    kind: str
    sent_at: datetime
    expect: str | None = None
    xml: bool = False
    spare: bool = True
    """Free to be made invalid, resent or batched: not part of a story or pair."""


class Day:
    """One day's randomness, clock, synthetic people and partner references."""

    def __init__(self, day: date, seed: int) -> None:
        self.day = day
        # Not for security: seeded pseudo-randomness makes the demo day reproducible.
        self.rng = random.Random(f"hub-demo|{seed}|{day.isoformat()}")  # noqa: S311
        self.people = Population(self.rng, day)
        self.start = datetime.combine(day, time(), LONDON).astimezone(UTC)
        self.end = datetime.combine(day + timedelta(days=1), time(), LONDON).astimezone(UTC)
        self._sequences: dict[str, int] = {}

    def at(self, hours: Sequence[int]) -> datetime:
        """A time in the day, drawn by local hour with the weights ``hours``."""
        hour = self.rng.choices(range(24), weights=hours)[0]
        local = datetime.combine(
            self.day,
            time(hour, self.rng.randrange(60), self.rng.randrange(60)),
            LONDON,
        )
        return min(max(local.astimezone(UTC), self.start), self.end - timedelta(seconds=1))

    def later(self, instant: datetime, low_minutes: int, high_minutes: int) -> datetime:
        """A time some minutes after ``instant``, but still in the day."""
        step = timedelta(minutes=self.rng.randint(low_minutes, high_minutes))
        return min(instant + step, self.end - timedelta(seconds=1))

    def earlier(self, instant: datetime, low_minutes: int, high_minutes: int) -> datetime:
        """A time some minutes before ``instant`` (an incident may be the day before)."""
        return instant - timedelta(minutes=self.rng.randint(low_minutes, high_minutes))

    def reference(self, series: str, start: int = 1000) -> int:
        """The next number of a partner's reference series, with gaps as real ones have."""
        current = self._sequences.get(series, start + self.rng.randrange(8000))
        self._sequences[series] = current + self.rng.randint(1, 4)
        return current

    def new_id(self) -> str:
        """A reproducible random UUID (version 4), for FHIR resources."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def chance(self, probability: float) -> bool:
        """True with ``probability``."""
        return self.rng.random() < probability

    def pick(self, weights: Mapping[T, float]) -> T:
        """One key of ``weights``, drawn with those weights."""
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]
