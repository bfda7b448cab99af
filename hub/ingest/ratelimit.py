"""A token bucket per partner: a partner's burst cannot starve the others."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """``rate`` requests a second per partner, with bursts up to ``burst``."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, partner: str) -> bool:
        """Take one token for ``partner``; False when none is left."""
        now = self.clock()
        tokens, last = self._buckets.get(partner, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[partner] = (tokens, now)
            return False
        self._buckets[partner] = (tokens - 1, now)
        return True
