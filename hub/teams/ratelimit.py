"""Sign-in throttling that slows password guessing without locking anyone out.

Two token buckets (:class:`hub.web.TokenBuckets`) per attempt:

- per (normalised username, client address): a guesser at one address soon waits
  for each try at one account, while the practitioner at her own address, whose
  bucket is her own, is not slowed at all by someone guessing elsewhere (a bucket
  per username alone let anyone lock any account out with one wrong password every
  30 seconds);
- per client address: one address spraying one password across many accounts.

Only failures count: every attempt takes a token from both, and a successful sign-in
gives the address its token back and refills its (username, address) bucket. There
is deliberately no per-account lock; slow guessing spread over many addresses is
bounded by the cost of the password hash and by each address's own buckets. The
client address is the connection's peer, or the client a configured proxy names
(:mod:`hub.web.throttle`); an IPv6 client is keyed by its /64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.web import TokenBuckets


def _per_account() -> TokenBuckets:
    return TokenBuckets(burst=5, per_s=1 / 60)


def _per_address() -> TokenBuckets:
    return TokenBuckets(burst=30, per_s=0.5)


@dataclass
class SignInLimiter:
    """Limits failed sign-in attempts per (username, address) and per address."""

    per_account: TokenBuckets = field(default_factory=_per_account)
    per_address: TokenBuckets = field(default_factory=_per_address)

    @staticmethod
    def _account(username: str, address: str) -> str:
        return f"{username.strip().lower()}\x00{address}"

    def attempt(self, username: str, address: str) -> float:
        """Count one attempt; return 0 to go ahead, or the seconds to wait (nothing taken)."""
        account = self._account(username, address)
        wait = self.per_address.take(address)
        if wait:
            return wait
        wait = self.per_account.take(account)
        if wait:
            self.per_address.give_back(address)
        return wait

    def succeeded(self, username: str, address: str) -> None:
        """A right password: this attempt does not count, and the account starts afresh."""
        self.per_address.give_back(address)
        self.per_account.forget(self._account(username, address))
