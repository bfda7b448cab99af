"""Rate limits: token buckets per key, and the client address they are keyed by.

The client address is the connection's peer, or, when the peer is one of the
configured reverse proxies, the right-most address in ``X-Forwarded-For`` that is not
a proxy (uvicorn's ``ProxyHeadersMiddleware``, set up by :func:`hub.web.http_config`
from ``HUB_HTTP__TRUSTED_PROXIES`` only). An IPv6 client is keyed by its /64: one
host commonly holds a whole /64, and would otherwise have 2**64 buckets.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

MAX_KEYS = 10_000
"""Token buckets kept at most; the least recently used are dropped past it."""

IPV6_PREFIX = 64


@dataclass
class TokenBuckets:
    """``burst`` requests at once per key, refilled at ``per_s`` a second."""

    burst: float
    per_s: float
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def _level(self, key: str) -> float:
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_s)
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return tokens

    def take(self, key: str) -> float:
        """Take one token for ``key``; return 0, or the seconds to wait when none is left."""
        tokens = self._level(key)
        if tokens < 1:
            return (1 - tokens) / self.per_s
        self._buckets[key] = (tokens - 1, self._buckets[key][1])
        return 0.0

    def allow(self, key: str) -> bool:
        """Take one token for ``key``; False when none is left."""
        return self.take(key) == 0.0

    def give_back(self, key: str) -> None:
        """Return one token to ``key`` (an attempt that turned out not to count)."""
        tokens = self._level(key)
        self._buckets[key] = (min(self.burst, tokens + 1), self._buckets[key][1])

    def forget(self, key: str) -> None:
        """Refill ``key`` completely."""
        self._buckets.pop(key, None)


def address_key(host: str) -> str:
    """The rate-limit key of a client address: itself, or its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def client_key(connection: HTTPConnection) -> str:
    """The rate-limit key of the client of a request."""
    host = connection.client.host if connection.client is not None else "unknown"
    return address_key(host)
