"""Sign-in rate limits: token buckets per username and per client address.

A password guesser is slowed whichever it varies: trying many passwords for one
account empties that account's bucket, trying one password on many accounts empties
the address's bucket. Every attempt counts, successful or not, and the buckets refill
with time. Memory is bounded: the oldest buckets are dropped past :data:`MAX_KEYS`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_KEYS = 10_000


@dataclass
class TokenBuckets:
    """``burst`` attempts at once per key, refilled at ``per_s`` a second."""

    burst: float
    per_s: float
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str) -> float:
        """Take one token for ``key``; return 0, or the seconds to wait when none is left."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_s)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_s
        self._buckets[key] = (tokens - 1, now)
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return 0.0


@dataclass
class SignInLimiter:
    """Limits sign-in attempts per username and per client address."""

    per_user: TokenBuckets = field(default_factory=lambda: TokenBuckets(burst=5, per_s=1 / 30))
    per_address: TokenBuckets = field(default_factory=lambda: TokenBuckets(burst=30, per_s=0.5))

    def wait_s(self, username: str, address: str) -> float:
        """Count one attempt; return 0 to go ahead, or the seconds to wait."""
        return max(self.per_user.take(username.strip().lower()), self.per_address.take(address))
