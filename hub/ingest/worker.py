"""A large batch's CPU work in worker processes, away from the ingest's event loop.

A 20 MiB police CSV holds about 62,000 notifications. Parsing, validating and sealing
them (encryption and the record MAC of each) takes tens of seconds of CPU. In a
thread of the ingest process it held the GIL that the event loop needs for every
other request; in a worker process it holds nothing the loop needs.

:class:`BatchWorkers` is a small pool of ``spawn``-ed processes, created by the app's
lifespan (never at import) and started by the first large batch. Each worker lowers
its priority (``os.nice``) so that the single requests the loop serves win the CPU,
and builds its connectors and sealers once, in the worker, with the factory the
composition root gave the pool: keys are read from the keyring there (or, for tests,
passed through the initializer), never per batch and never logged.

A worker hands back, for each message, what the app needs and no more: the id, the
organisation and reference (the ledger's duplicate checks), the sealed record's bytes
and the message's line of the ``202`` answer, in pickled slices of :data:`SLICE`
messages that the event loop unpacks one at a time between other requests
(:func:`unpack`). Nothing is written before the worker has finished: a worker that
dies (killed, out of memory) fails its batch with :class:`~hub.errors.BatchWorkerError`
(the app answers ``503`` with ``Retry-After``; nothing of the batch was kept, so a
resend writes each message exactly once) and the pool is replaced for the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog

from connectors.errors import FieldError, ParseFailed
from connectors.protocol import Connector, ParseContext
from hub.errors import BatchWorkerError
from hub.ingest.accepted import accepted_json
from hub.security.envelope import InboundRecord, Sealer
from schemas.common import Partner

log = structlog.get_logger("hub.ingest.worker")

WORKERS = 1
"""Worker processes: one batch at a time per worker (the machine keeps a core for the loop)."""
NICE = 10
"""How much a worker lowers its priority: the event loop's requests come first."""
SLICE = 1000
"""Messages per slice handed back (what the event loop unpacks in one turn)."""


@dataclass(frozen=True)
class BatchTools:
    """What a worker parses and seals with, built once in the worker."""

    connectors: Mapping[Partner, Connector]
    sealers: Mapping[Partner, Sealer]
    subject_key_secret: bytes = field(repr=False)


ToolsFactory = Callable[[], BatchTools]
"""Builds a worker's tools; must pickle (a module-level function, or a partial of one)."""

_Row = tuple[bytes, str, str, str, bytes, bytes, bytes, tuple[tuple[str, bytes], ...], int]
"""message id, org code, reference, kind, answer line, record key, value, headers, partition"""


@dataclass(frozen=True)
class Prepared:
    """What a worker made of one batch: its errors, or its messages sealed, in slices."""

    worker_pid: int
    errors: tuple[FieldError, ...] = ()
    orgs: tuple[str, ...] = ()
    """Every organisation code the batch sends as."""
    count: int = 0
    slices: list[bytes] = field(default_factory=list)
    """Pickled lists of rows (:data:`_Row`), :data:`SLICE` messages each."""


@dataclass(frozen=True, slots=True)
class BatchSource:
    """Who sent one message of a batch (what the ledger keeps of its source)."""

    org_code: str
    partner_reference: str


@dataclass(frozen=True, slots=True)
class BatchMessage:
    """One message of a large batch as the event loop holds it: no envelope, no content."""

    message_id: UUID
    partner: Partner
    source: BatchSource
    kind: str
    received_at: datetime
    record: InboundRecord
    answer: bytes
    """Its line of the ``202`` answer (not a duplicate)."""


_tools: BatchTools | None = None


def _start(make_tools: ToolsFactory, nice: int) -> None:
    """A worker's initializer: lower its priority, then build its tools."""
    global _tools  # noqa: PLW0603 -- one set of tools per worker process
    with contextlib.suppress(OSError):
        os.nice(nice)
    _tools = make_tools()


def prepare(partner: Partner, raw: bytes, content_type: str, received_at: datetime) -> Prepared:
    """Parse, validate and seal one batch (in a worker process)."""
    tools = _tools
    if tools is None:
        raise BatchWorkerError("the batch worker was not initialised")
    context = ParseContext(received_at=received_at, subject_key_secret=tools.subject_key_secret)
    try:
        envelopes = tools.connectors[partner].parse(raw, content_type, context)
    except ParseFailed as exc:
        return Prepared(os.getpid(), errors=exc.errors)
    del raw
    sealer = tools.sealers[partner]
    slices = []
    for start in range(0, len(envelopes), SLICE):
        rows: list[_Row] = []
        for e in envelopes[start : start + SLICE]:
            r = sealer.encode(e)
            source = e.source
            answer = accepted_json(e, duplicate=False)
            row = (e.message_id.bytes, source.org_code, source.partner_reference, e.kind, answer)
            rows.append((*row, r.key, r.value, r.headers, r.partition))
        slices.append(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
    orgs = tuple(sorted({e.source.org_code for e in envelopes}))
    return Prepared(os.getpid(), orgs=orgs, count=len(envelopes), slices=slices)


def unpack(chunk: bytes, topic: str, partner: Partner, received_at: datetime) -> list[BatchMessage]:
    """One slice of a :class:`Prepared` batch as messages (on the event loop: small)."""
    rows: list[_Row] = pickle.loads(chunk)  # noqa: S301 -- written by our own worker
    return [
        BatchMessage(
            UUID(bytes=message_id),
            partner,
            BatchSource(org, reference),
            kind,
            received_at,
            InboundRecord(topic, key, value, headers, partition),
            answer,
        )
        for message_id, org, reference, kind, answer, key, value, headers, partition in rows
    ]


class BatchWorkers:
    """The ingest's pool of batch worker processes (start and stop with the app)."""

    def __init__(
        self, make_tools: ToolsFactory, *, workers: int = WORKERS, nice: int = NICE
    ) -> None:
        self._make_tools = make_tools
        self._workers = workers
        self._nice = nice
        self._pool: ProcessPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"BatchWorkers(workers={self._workers})"

    def start(self) -> None:
        """Make the pool ready; its process starts with the first batch (a second or so)."""
        if self._pool is None:
            self._pool = self._new_pool()

    def stop(self) -> None:
        """Stop the workers; a batch in progress fails."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self._make_tools, self._nice),
        )

    async def prepare(
        self, partner: Partner, raw: bytes, content_type: str, received_at: datetime
    ) -> Prepared:
        """The batch parsed, validated and sealed by a worker; raise if the worker died."""
        pool = self._pool
        if pool is None:
            raise BatchWorkerError("the batch workers are not running")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                pool, prepare, partner, raw, content_type, received_at
            )
        except BrokenProcessPool as exc:
            log.error("batch_worker_died", partner=partner.value)  # noqa: TRY400 -- no trace
            if self._pool is pool:  # the next batch gets new workers
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            raise BatchWorkerError("the batch's worker process stopped") from exc


@contextlib.contextmanager
def batch_workers_running(workers: BatchWorkers | None) -> Iterator[None]:
    """Run ``workers`` (if any) for the life of the block."""
    if workers is None:
        yield
        return
    workers.start()
    try:
        yield
    finally:
        workers.stop()
