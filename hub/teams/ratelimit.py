"""Sign-in rate limits: token buckets (:class:`hub.web.TokenBuckets`) per username and address.

A password guesser is slowed whichever it varies: trying many passwords for one
account empties that account's bucket, trying one password on many accounts empties
the address's bucket. Every attempt counts, successful or not, and the buckets refill
with time. Memory is bounded: the oldest buckets are dropped past :data:`MAX_KEYS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.web import TokenBuckets


@dataclass
class SignInLimiter:
    """Limits sign-in attempts per username and per client address."""

    per_user: TokenBuckets = field(default_factory=lambda: TokenBuckets(burst=5, per_s=1 / 30))
    per_address: TokenBuckets = field(default_factory=lambda: TokenBuckets(burst=30, per_s=0.5))

    def wait_s(self, username: str, address: str) -> float:
        """Count one attempt; return 0 to go ahead, or the seconds to wait."""
        return max(self.per_user.take(username.strip().lower()), self.per_address.take(address))
