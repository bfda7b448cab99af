"""The benches' traffic, and reading back what the hub wrote.

Traffic is real partner data in shape and size: the demo's county-sized day
(:func:`hub.demo.traffic.generate_day`) parsed by the real connectors, then repeated
with fresh message ids and subject keys, so that each subject appears a few times
(history matters) and no message is a replay. Police notification bodies for the HTTP
benches come from the same day, with unique references and people.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from connectors.errors import ParseFailed
from connectors.protocol import ParseContext
from connectors.registry import connector_for
from hub.audit import verify_chain
from hub.bootstrap import Hub
from hub.bootstrap.ingest import sealer_for
from hub.demo.traffic import generate_day
from hub.errors import KafkaUnavailableError
from hub.kafka import KafkaAdmin, TopicPartition, make_consumer, make_producer, started
from hub.security.envelope import InboundRecord
from hub.settings import KafkaSettings
from hub.topology import DECISIONS, INBOUND_PARTNER, route_topic
from schemas.common import Area, Partner
from schemas.decision import DecisionRecorded
from schemas.envelope import Envelope

DAY = date(2026, 11, 25)
INBOUND = tuple(INBOUND_PARTNER)
PARTITIONS = 6
REPEATS_PER_SUBJECT = 4
"""Each subject appears in this many copies of the day, so the router's history is used."""


# ---------------------------------------------------------------------- envelopes


@cache
def day_envelopes() -> tuple[Envelope, ...]:
    """Every accepted envelope of the demo day, parsed by the real connectors."""
    context = ParseContext(received_at=datetime.now(UTC), subject_key_secret=b"bench" * 8)
    found: dict[uuid.UUID, Envelope] = {}
    for request in generate_day(DAY):
        try:
            parsed = connector_for(request.partner).parse(
                request.body, request.content_type, context
            )
        except ParseFailed:
            continue
        found.update((e.message_id, e) for e in parsed)
    return tuple(found.values())


def envelopes(n: int) -> list[Envelope]:
    """``n`` distinct envelopes: the day, repeated with new ids and subjects."""
    base = day_envelopes()
    return [_copy(base[i % len(base)], i // len(base)) for i in range(n)]


def _copy(envelope: Envelope, generation: int) -> Envelope:
    salt = generation // REPEATS_PER_SUBJECT

    def rekey(key: str) -> str:
        return hashlib.sha256(f"{key}|{salt}".encode()).hexdigest()

    subjects = tuple(
        s.model_copy(update={"subject_key": rekey(s.subject_key)}) for s in envelope.subjects
    )
    source = envelope.source.model_copy(
        update={"partner_reference": f"{envelope.source.partner_reference}/{generation}"}
    )
    return envelope.model_copy(
        update={
            "message_id": uuid.uuid5(envelope.message_id, str(generation)),
            "subject_key": rekey(envelope.subject_key),
            "subjects": subjects,
            "source": source,
        }
    )


def encode(hub: Hub, batch: list[Envelope]) -> list[InboundRecord]:
    """The inbound records a connector would write (sealed and MACed per the settings)."""
    sealers = {p: sealer_for(hub, p) for p in Partner}
    return [sealers[e.partner].encode(e) for e in batch]


def encompass_notices(envelope: Envelope) -> int:
    """How many Encompass notices the router writes if it routes to ``encompass``."""
    return sum(
        1
        for s in envelope.subjects
        if s.is_child
        and s.age_years is not None
        and 4 <= s.age_years <= 17
        and (s.school_urn or s.elective_home_education)
    )


async def produce(kafka: KafkaSettings, records: list[InboundRecord]) -> dict[TopicPartition, int]:
    """Write ``records`` (idempotent, acks=all); return the end offsets of the inbound topics."""
    producer = make_producer(kafka, "bench-partner")
    async with started(producer, "bench producer"):
        futures = [
            await producer.send(
                kafka.topic(r.topic),
                r.value,
                key=r.key,
                partition=r.partition,
                headers=list(r.headers),
            )
            for r in records
        ]
        await asyncio.gather(*futures)
    return await inbound_ends(kafka)


async def inbound_ends(kafka: KafkaSettings) -> dict[TopicPartition, int]:
    """The log-end offsets of every inbound partition."""
    tps = [TopicPartition(kafka.topic(t), p) for t in INBOUND for p in range(PARTITIONS)]
    consumer = make_consumer(kafka, "bench-offsets", read_committed=False)
    async with started(consumer, "bench offsets"):
        return dict(await consumer.end_offsets(tps))


# ---------------------------------------------------------------------- police bodies


@cache
def _police_documents() -> tuple[dict[str, Any], ...]:
    context = ParseContext(received_at=datetime.now(UTC), subject_key_secret=b"bench" * 8)
    police = connector_for(Partner.POLICE)
    found = []
    for request in generate_day(DAY):
        if request.partner is not Partner.POLICE or request.content_type != "application/json":
            continue
        try:
            police.parse(request.body, request.content_type, context)
        except ParseFailed:
            continue
        found.append(json.loads(request.body))
    return tuple(found)


def police_notification(run: str, index: int) -> bytes:
    """A valid police notification with a unique reference and people of its own."""
    documents = _police_documents()
    document = copy.deepcopy(documents[index % len(documents)])
    document["reference"] = f"B{run}/{index}"
    for number, person in enumerate(document["persons"]):
        if person.get("nhs_number"):
            person["nhs_number"] = nhs_number(index * 8 + number)
        else:
            person["family_name"] = f"{person.get('family_name', 'Person')}{_letters(index)}"
    return json.dumps(document).encode()


def nhs_number(n: int) -> str:
    """A valid NHS number in the unissued 999 range, distinct for each ``n`` < 10**6."""
    while True:
        nine = f"999{n % 1_000_000:06d}"
        check = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return nine + str(check)
        n += 1


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out += chr(ord("a") + r)
        if n == 0:
            return out


# ---------------------------------------------------------------------- reading back


async def read_all(kafka: KafkaSettings, topic: str, timeout_s: float = 180) -> list[Any]:
    """Every committed record of ``topic`` (logical), reading up to its end offsets."""
    consumer = make_consumer(kafka, "bench-reader", read_committed=True)
    records: list[Any] = []
    async with started(consumer, "bench reader"):
        physical = kafka.topic(topic)
        tps = [TopicPartition(physical, p) for p in await _partitions(consumer, physical)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending and time.monotonic() < deadline:
            batch = await consumer.getmany(*pending, timeout_ms=300, max_records=5000)
            for msgs in batch.values():
                records.extend(msgs)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        if pending:
            raise TimeoutError(f"{topic}: not read to the end in {timeout_s:.0f}s")
    return records


async def _partitions(consumer: Any, topic: str) -> list[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 -- no public refresh
    return sorted(consumer.partitions_for_topic(topic) or ())


@dataclass
class OnceCheck:
    """The exactly-once check of a run: decisions and routed copies per message."""

    sent: int
    decisions: int = 0
    missing: int = 0
    duplicated: int = 0
    unexpected: int = 0
    copies_wrong: int = 0
    chain_breaks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every message has exactly one decision and its copies, chains intact."""
        return (
            not (self.missing or self.duplicated or self.unexpected or self.copies_wrong)
            and not self.chain_breaks
            and self.decisions == self.sent
        )

    def as_dict(self) -> dict[str, Any]:
        """For the JSON result."""
        return {**self.__dict__, "ok": self.ok}


async def exactly_once(kafka: KafkaSettings, sent: list[Envelope]) -> OnceCheck:
    """Read hub.decisions and route.* back (read_committed) and check each message once."""
    by_id = {e.message_id: e for e in sent}
    decisions = await read_all(kafka, DECISIONS)
    check = OnceCheck(sent=len(sent), decisions=len(decisions))
    counts: collections.Counter[uuid.UUID] = collections.Counter()
    want: collections.Counter[tuple[str, str]] = collections.Counter()
    by_partition: dict[int, list[tuple[int, bytes]]] = collections.defaultdict(list)
    for record in decisions:
        decision = DecisionRecorded.model_validate_json(record.value)
        counts[decision.message_id] += 1
        by_partition[record.partition].append((record.offset, record.value))
        envelope = by_id.get(decision.message_id)
        for area in decision.destinations:
            n = encompass_notices(envelope) if envelope and area is Area.ENCOMPASS else 1
            want[(str(decision.message_id), area.value)] += n
    check.duplicated = sum(1 for c in counts.values() if c > 1)
    check.unexpected = sum(1 for m in counts if m not in by_id)
    check.missing = sum(1 for m in by_id if m not in counts)
    got: collections.Counter[tuple[str, str]] = collections.Counter()
    for area_name in {a for _m, a in want}:
        for record in await read_all(kafka, route_topic(area_name)):
            got[(json.loads(record.value)["message_id"], area_name)] += 1
    check.copies_wrong = sum(1 for k in want.keys() | got.keys() if want[k] != got[k])
    for partition, chain in sorted(by_partition.items()):
        _count, broken = verify_chain(partition, sorted(chain))
        if broken is not None:
            check.chain_breaks.append(str(broken))
    return check


# ---------------------------------------------------------------------- draining


@dataclass
class Drain:
    """How a consumer group drained a pre-produced backlog (monotonic seconds)."""

    total: int
    first_commit_at: float | None = None
    done_at: float | None = None
    backlog_at_first_commit: int = 0
    stable_at: float | None = None
    """When the group was first seen Stable with every expected member."""
    backlog_at_stable: int = 0

    def rate(self) -> float | None:
        """Messages a second from the first commit to lag zero."""
        return _rate(self.backlog_at_first_commit, self.first_commit_at, self.done_at)

    def rate_when_stable(self) -> float | None:
        """Messages a second once every member had joined, to lag zero."""
        return _rate(self.backlog_at_stable, self.stable_at, self.done_at)


def _rate(backlog: int, start: float | None, end: float | None) -> float | None:
    if start is None or end is None or end <= start or backlog <= 0:
        return None
    return backlog / (end - start)


async def drain(
    kafka: KafkaSettings,
    group: str,
    ends: dict[TopicPartition, int],
    *,
    timeout_s: float,
    poll_s: float = 0.1,
    until_lag: int = 0,
    members: int = 0,
) -> Drain:
    """Poll the group's committed offsets until its lag on ``ends`` is ``until_lag`` or less.

    ``group`` is the logical group name. The first poll that sees a committed offset
    marks the start: the rate then excludes process start-up and group joining. With
    ``members``, the first poll that finds the group Stable with that many members is
    noted too (the rate of the whole group, once it has formed).
    """
    total = sum(ends.values())
    result = Drain(total)
    deadline = time.monotonic() + timeout_s
    async with KafkaAdmin(kafka, "bench-lag") as admin:
        while time.monotonic() < deadline:
            committed = await _committed(admin, kafka.group(group))
            done = sum(min(committed.get(tp, 0), end) for tp, end in ends.items())
            now = time.monotonic()
            if done and result.first_commit_at is None:
                result.first_commit_at = now
                result.backlog_at_first_commit = total - done
            if members and result.stable_at is None:
                state, joined = await _described(admin, kafka.group(group))
                if state == "Stable" and joined >= members:
                    result.stable_at = now
                    result.backlog_at_stable = total - done
            if total - done <= until_lag:
                result.done_at = now
                return result
            await asyncio.sleep(poll_s)
    return result


async def _committed(admin: KafkaAdmin, group: str) -> dict[TopicPartition, int]:
    """Committed offsets; none while the group coordinator is not there yet (fresh broker)."""
    try:
        return await admin.committed_offsets(group)
    except KafkaUnavailableError:
        return {}


async def _described(admin: KafkaAdmin, group: str) -> tuple[str, int]:
    try:
        return await admin.describe_group(group)
    except KafkaUnavailableError:
        return "Unknown", 0


async def lag(kafka: KafkaSettings, group: str, ends: dict[TopicPartition, int]) -> int:
    """The group's lag on ``ends`` now."""
    async with KafkaAdmin(kafka, "bench-lag") as admin:
        committed = await _committed(admin, kafka.group(group))
    return sum(end - min(committed.get(tp, 0), end) for tp, end in ends.items())
