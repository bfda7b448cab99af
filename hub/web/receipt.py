"""A deadline for receiving each request: slow or half-sent requests cannot hold the server.

uvicorn's only timer is the keep-alive timeout, armed after a response and cancelled
by the first byte of the next request, so a client that sends part of a request line
or of its headers (or trickles a body) would hold its connection, and a file
descriptor, for ever; a thousand such clients once made the ingest answer every new
request ``503`` (uvicorn's ``limit_concurrency`` counts them). This HTTP protocol,
given to uvicorn as ``http=``, bounds the receipt of every request instead:

- the request line and headers must arrive within ``header_s`` of the connection
  opening, or of the previous response on a kept-alive connection;
- the body gets ``body_grace_s`` plus one second per ``body_min_rate`` bytes received
  (a legitimate large upload on a slow line completes; a trickle does not);
- once the whole request is in, no deadline runs while the app works on it;
- on expiry a ``408`` problem (with the security headers) is written if no response
  has started, and the connection is closed; the app, if it was reading the body,
  sees the client disconnect;
- at most ``per_peer`` connections per client address (configured proxies exempt):
  a single host cannot take every descriptor;
- above ``max_connections`` open connections the oldest one still receiving a request
  is shed, so a flood from many addresses never starves new clients.

It also writes each response's head together with the start of its body: uvicorn
writes the status line and headers in one socket write and the body in another, and
each write is a system call (and on loopback, the receiver's TCP path too) costing
about as much as a tenth of a small request. :class:`_HeldHead` holds the head until
the first body write (or the close) and sends both in one write; a streamed response's
head leaves with its first chunk.

One :class:`ReceiptGuard` per server holds the counts; :meth:`ReceiptGuard.protocol`
is the class uvicorn instantiates per connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hub.web.problems import problem_bytes

__all__ = ["ReceiptGuard", "ReceiptLimits"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ReceiptLimits:
    """How long a request may take to arrive, and how many connections a client may hold."""

    header_s: float = 10.0
    body_grace_s: float = 10.0
    body_min_rate: int = 16 * 1024
    per_peer: int = 256
    max_connections: int = 0
    """Shed the oldest connection still receiving above this many; 0 never sheds."""
    exempt: tuple[Network, ...] = ()
    """Peers with no per-address cap: the configured reverse proxies."""


class _Phase(Enum):
    HEADERS = "headers"  # waiting for a request line and headers
    BODY = "body"  # headers in, the body still arriving
    SERVED = "served"  # the whole request is in; the app has it


@dataclass
class ReceiptGuard:
    """The per-server state of the deadline protocol: counts per peer, who is receiving."""

    limits: ReceiptLimits
    per_peer: Counter[str] = field(default_factory=Counter)
    receiving: OrderedDict[_GuardedProtocol, None] = field(default_factory=OrderedDict)
    timeout_response: bytes = field(
        default_factory=lambda: problem_bytes(408, "The request did not arrive in time.")
    )
    busy_response: bytes = field(
        default_factory=lambda: problem_bytes(
            429, "Too many connections from this address.", [("retry-after", "1")]
        )
    )
    invalid_response: bytes = field(
        default_factory=lambda: problem_bytes(400, "The request is not valid HTTP/1.1.")
    )
    timed_out: int = 0
    """Requests cut off for arriving too slowly (for tests and metrics)."""
    refused: int = 0
    """Connections refused for the per-address cap."""
    shed: int = 0
    """Connections shed to stay under ``max_connections``."""

    def protocol(self) -> type[HttpToolsProtocol]:
        """The protocol class to give uvicorn (``uvicorn.Config(http=...)``)."""
        owner = self

        class ReceiptDeadlineProtocol(_GuardedProtocol):
            guard = owner

        return ReceiptDeadlineProtocol

    def exempt(self, peer: str) -> bool:
        """True for a configured proxy (no per-address cap)."""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.limits.exempt)


class _HeldHead:
    """A request cycle's transport that writes the response head with the first body write.

    The cycle writes the head once it has set ``response_started`` (a ``100 Continue``
    is written before that, and goes at once); the head is held until the next write
    or a close, whichever comes first, so that nothing is ever lost or reordered.
    """

    __slots__ = ("_cycle", "_head", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        """Hold the head; send it with the next write."""
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif self._cycle is not None and self._cycle.response_started:
            self._cycle = None  # the head: every later write goes straight through
            self._head = bytes(data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send a head still held."""
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def close(self) -> None:
        """Send a head still held, then close."""
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        """The transport's own answer."""
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on receiving each request.

    httptools (llhttp, in C) rather than h11 (pure Python): parsing a request and
    writing its response in h11 took about a quarter of the ingest's CPU a request.
    """

    guard: ReceiptGuard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._peer = ""
        self._phase = _Phase.SERVED
        self._timer: asyncio.TimerHandle | None = None
        self._before: object = None  # the cycle that existed when the deadline was armed
        self._body_from = 0.0
        self._body_bytes = 0

    # -------------------------------------------------------------- protocol events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the peer, refuse it above its cap, shed the oldest above the maximum."""
        super().connection_made(transport)
        guard, limits = self.guard, self.guard.limits
        self._peer = self.client[0] if self.client else ""
        guard.per_peer[self._peer] += 1
        if (
            limits.per_peer
            and guard.per_peer[self._peer] > limits.per_peer
            and not guard.exempt(self._peer)
        ):
            guard.refused += 1
            self._close_with(guard.busy_response)
            return
        if limits.max_connections and len(self.connections) > limits.max_connections:
            self._shed_oldest()
        self._await_request(self.cycle)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self._disarm()
        count = self.guard.per_peer[self._peer] - 1
        if count > 0:
            self.guard.per_peer[self._peer] = count
        else:
            self.guard.per_peer.pop(self._peer, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Let the parser read ``data``, then move the deadline to the request's new phase."""
        super().data_received(data)
        if self._phase is _Phase.BODY:
            self._body_bytes += len(data)
        self._follow()

    def on_headers_complete(self) -> None:
        """Give a new request's cycle the transport that holds its response head."""
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before:
            cycle.transport = _HeldHead(self.transport, cycle)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        """The next request on this connection must arrive in time too."""
        # A pipelined request already parsed is the current cycle, queued: it is in
        # (its headers at least), so it is followed from its body on, not awaited.
        pipelined = bool(self.pipeline)
        finished = None if pipelined else self.cycle
        super().on_response_complete()
        if self.transport.is_closing():
            self._disarm()
            return
        self._await_request(finished)
        self._follow()

    def send_400_response(self, msg: str) -> None:
        """Not HTTP: a problem with the security headers, then close (uvicorn sends text)."""
        del msg
        self._close_with(self.guard.invalid_response)

    # -------------------------------------------------------------- deadline

    def _await_request(self, before: object) -> None:
        self._phase = _Phase.HEADERS
        self._before = before
        self._arm(self.guard.limits.header_s)
        self.guard.receiving.pop(self, None)
        self.guard.receiving[self] = None

    def _follow(self) -> None:
        cycle = self.cycle
        if self._phase is _Phase.HEADERS and cycle is not None and cycle is not self._before:
            self._phase = _Phase.BODY
            self._body_from = self.loop.time()
            self._body_bytes = 0
            self._arm(self.guard.limits.body_grace_s)
        if self._phase is _Phase.BODY and (cycle is None or not cycle.more_body):
            self._phase = _Phase.SERVED
            self._disarm()

    def _arm(self, delay_s: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(delay_s, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.guard.receiving.pop(self, None)

    def _expire(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            self._disarm()
            return
        if self._phase is _Phase.BODY:
            limits = self.guard.limits
            allowed = (
                self._body_from + limits.body_grace_s + self._body_bytes / limits.body_min_rate
            )
            if allowed > self.loop.time():  # still at the minimum rate: the body may go on
                self._arm(allowed - self.loop.time())
                return
        if self._phase is not _Phase.SERVED:
            self.guard.timed_out += 1
            self._time_out()

    def _shed_oldest(self) -> None:
        while self.guard.receiving:
            oldest, _ = self.guard.receiving.popitem(last=False)
            if oldest is not self and not oldest.transport.is_closing():
                self.guard.shed += 1
                oldest._time_out()  # noqa: SLF001 -- a connection of the same guard
                return

    def _time_out(self) -> None:
        cycle = self.cycle
        responding = cycle is not None and cycle is not self._before and cycle.response_started
        if not responding:
            self._close_with(self.guard.timeout_response)
        else:
            self._disarm()
            held: object = getattr(cycle, "transport", None)
            if isinstance(held, _HeldHead):
                held.flush()
            self.transport.close()

    def _close_with(self, response: bytes) -> None:
        self._disarm()
        self._phase = _Phase.SERVED
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()
