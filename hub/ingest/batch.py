"""One request's messages, handled without holding up everyone else's.

A request may carry tens of thousands of messages (a 20 MiB police CSV). Everything
that grows with it is kept off the event loop, where it would stall every other
request (measured before: a 20 MiB batch sealed and signed on the loop held every
single notification for tens of seconds):

- parsing, validating and sealing a large batch, and writing its lines of the answer,
  run in a worker process (:mod:`hub.ingest.worker`), which shares no GIL with the
  loop (in a worker thread, as before, the singles' p99 was 764 ms on the broker);
  the loop unpacks the worker's slices, checks duplicates, writes and answers;
- without worker processes (in-memory tests, ``hub connectors import``), that work
  runs in a worker thread (:meth:`Work.run`) once the request is large;
- the ledger records the messages in slices, between turns of the loop
  (:func:`record_accepted`);
- the batch's objects are freed in a worker thread, a slice at a time
  (:meth:`Work.release`): freed where they would otherwise die, in the handler's
  frame on the loop, they took about 70 ms of CPU per 12,000 messages, and freed in
  one go anywhere they hold the GIL throughout;
- while a large batch is in flight (:func:`batch_mode`), the cyclic garbage
  collector is paused: each full collection over millions of new objects stops
  every thread, the loop's included (measured: up to 0.4 s of CPU each, several per
  batch); reference counting still frees nearly everything meanwhile, and the
  collector resumes as soon as the last large batch is done, with what survived it
  frozen (``gc.freeze``: mostly the ledger's index of the batch's messages, which
  lives as long as the process; scanning it all at once on resuming took 0.3 s);
- and the interpreter's switch interval is shortened: the worker thread holds the
  GIL, and each time the loop gives it up for a system call (every read, write,
  ``stat`` and log line of every request) it waited up to the default 5 ms to get it
  back, several times per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from hub.ingest.ledger import Written
from hub.ingest.ports import Ledger
from hub.ingest.worker import BatchMessage
from hub.security.envelope import InboundRecord, Sealer
from schemas.envelope import Envelope

P = ParamSpec("P")
T = TypeVar("T")

LARGE_BYTES = 256 * 1024
"""A body larger than this is a large batch: its work leaves the event loop."""
ACCEPT_SLICE = 1000
"""Messages recorded in the ledger between two turns of the event loop."""
FREE_SLICE = 500
"""Messages freed at a time (the GIL can change hands between two slices)."""
BATCH_SWITCH_INTERVAL_S = 0.0005
"""The interpreter's switch interval while a large batch is in flight (default 5 ms)."""


@dataclass
class Work:
    """What one request holds while it is handled; big lists live only here."""

    large: bool
    envelopes: list[Envelope] = field(default_factory=list)
    fresh: list[Envelope] = field(default_factory=list)
    records: list[InboundRecord] = field(default_factory=list)
    messages: list[BatchMessage] = field(default_factory=list)
    fresh_messages: list[BatchMessage] = field(default_factory=list)

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work`` in a worker thread for a large batch, else here (small work costs less)."""
        if self.large:
            return await asyncio.to_thread(work, *args, **kwargs)
        return work(*args, **kwargs)

    async def release(self) -> None:
        """Drop the request's objects, in a worker thread for a large batch."""
        if self.large:
            await asyncio.to_thread(self._clear)
        else:
            self._clear()

    def _clear(self) -> None:
        # Freed a slice at a time: freeing a list of 60,000 messages is one long call
        # in C that holds the GIL, and so the event loop, from start to end.
        lists = (self.records, self.fresh, self.envelopes, self.fresh_messages, self.messages)
        for items in lists:
            while items:
                del items[-FREE_SLICE:]


def seal(sealer: Sealer, envelopes: Sequence[Envelope]) -> list[InboundRecord]:
    """The inbound records of ``envelopes``."""
    return [sealer.encode(e) for e in envelopes]


async def record_accepted(ledger: Ledger, envelopes: Sequence[Written]) -> None:
    """Record written messages in the ledger in slices, letting other requests run between."""
    for start in range(0, len(envelopes), ACCEPT_SLICE):
        if start:
            await asyncio.sleep(0)
        ledger.accept(envelopes[start : start + ACCEPT_SLICE])


class _BatchMode:
    """Counts the large batches in flight; the process runs normally when there are none."""

    def __init__(self) -> None:
        self._batches = 0
        self._collect = False
        self._interval = sys.getswitchinterval()

    @contextlib.contextmanager
    def __call__(self, large: bool) -> Iterator[None]:
        if not large:
            yield
            return
        if self._batches == 0:
            self._collect = gc.isenabled()
            self._interval = sys.getswitchinterval()
            gc.disable()
            sys.setswitchinterval(min(self._interval, BATCH_SWITCH_INTERVAL_S))
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            if self._batches == 0:
                sys.setswitchinterval(self._interval)
                if self._collect:
                    # What survived the batch (mostly the ledger's index of its messages,
                    # kept for the life of the process) would otherwise be scanned by the
                    # next collections of every generation at once, on the event loop.
                    gc.freeze()
                    gc.enable()


batch_mode = _BatchMode()
"""``with batch_mode(large):`` runs a large batch with the collector paused (see above)."""
