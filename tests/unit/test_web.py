"""The per-partner token bucket."""

from __future__ import annotations

from hub.ingest.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestRateLimiter:
    def test_burst_then_refusal_then_refill(self) -> None:
        """A burst passes, the next request waits for a token, time refills."""
        clock = Clock()
        limiter = RateLimiter(rate=2.0, burst=3.0, clock=clock)
        assert [limiter.allow("police") for _ in range(4)] == [True, True, True, False]
        clock.now = 0.5
        assert limiter.allow("police")
        assert not limiter.allow("police")

    def test_partners_have_their_own_buckets(self) -> None:
        """One partner's burst does not starve another."""
        limiter = RateLimiter(rate=1.0, burst=1.0, clock=Clock())
        assert limiter.allow("police")
        assert not limiter.allow("police")
        assert limiter.allow("health")
