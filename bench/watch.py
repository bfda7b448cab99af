"""A ``read_committed`` reader of every route topic that notes when each message appears.

Run as its own process (so the load generator's event loop cannot delay it):
``python -m bench.watch --out FILE``, reaching Kafka as the hub does (``HUB_KAFKA__*``).
Each routed copy read appends ``<message_id> <unix time> <sent> <decided>`` to FILE
(flushed after every poll): when it was read, the copy's Kafka timestamp (when the
router's producer was handed it) and the decision's ``decided_at`` (when the router
routed it). It also reads the police inbound topic and appends ``in <message_id> <unix
time> <sent>`` for each inbound record: when it became visible to a ``read_committed``
reader, and when the ingest's producer was handed it. Those times give the stages of
the latency bench's breakdown; no line holds anything but ids and times. It runs until
SIGTERM. The first line, ``ready <unix time>``, says it is reading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.common import kafka_from_env
from hub.kafka import TopicPartition, make_consumer, partitions_of
from hub.settings import KafkaSettings
from hub.topology import inbound_topic, route_topic
from schemas.common import Area, Partner

INBOUND = "in"


async def watch(
    kafka: KafkaSettings, out: Path, stop: asyncio.Event, *, stages: bool = False
) -> None:
    """Read every route topic (and the police inbound one, for ``stages``) until ``stop``."""
    consumer = make_consumer(kafka, "bench-watch", read_committed=True, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        inbound = kafka.topic(inbound_topic(Partner.POLICE))
        topics = [kafka.topic(route_topic(a)) for a in Area]
        if stages:
            topics.append(inbound)
        partitions: list[TopicPartition] = await partitions_of(consumer, topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        with out.open("a") as sink:
            sink.write(f"ready {time.time():.6f}\n")
            sink.flush()
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=2000)
                now = time.time()
                for tp, records in batch.items():
                    for record in records:
                        value = json.loads(record.value)
                        sent = record.timestamp / 1000
                        if tp.topic == inbound:
                            message_id = value["metadata"]["message_id"]
                            sink.write(f"{INBOUND} {message_id} {now:.6f} {sent:.3f}\n")
                            continue
                        decided = datetime.fromisoformat(value["decision"]["decided_at"])
                        sink.write(
                            f"{value['message_id']} {now:.6f} {sent:.3f} "
                            f"{decided.timestamp():.6f}\n"
                        )
                sink.flush()
    finally:
        await consumer.stop()


@dataclass
class Sighting:
    """The times (unix seconds) the watch noted for one message."""

    visible: float
    routed_sent: float = 0.0
    decided: float = 0.0
    inbound_visible: float | None = None
    inbound_sent: float | None = None


@dataclass
class Sightings:
    """Everything in a watch file, by message id."""

    routed: dict[str, Sighting] = field(default_factory=dict)
    inbound: dict[str, tuple[float, float]] = field(default_factory=dict)

    def stages(self, accepted: dict[str, float]) -> dict[str, list[float]]:
        """Each stage's duration (s) for every accepted message seen on both sides.

        ``accepted`` maps a message id to the time its 202 arrived. The last four
        stages add up to the latency bench's figure (202 to visible).
        """
        out: dict[str, list[float]] = {k: [] for k in STAGES}
        for message_id, answered in accepted.items():
            seen = self.routed.get(message_id)
            inbound = self.inbound.get(message_id)
            if seen is None or inbound is None:
                continue
            in_visible, in_sent = inbound
            out["ingest_sent_to_202"].append(answered - in_sent)
            out["202_to_inbound_visible"].append(in_visible - answered)
            out["inbound_visible_to_decided"].append(seen.decided - in_visible)
            out["decided_to_routed_sent"].append(seen.routed_sent - seen.decided)
            out["routed_sent_to_visible"].append(seen.visible - seen.routed_sent)
        return out


STAGES = (
    "ingest_sent_to_202",
    "202_to_inbound_visible",
    "inbound_visible_to_decided",
    "decided_to_routed_sent",
    "routed_sent_to_visible",
)
"""The stages from the ingest's send to the routed copy's visibility, in order."""


def read_watch(path: Path) -> Sightings:
    """Every first sighting in a watch file (routed copies and inbound records)."""
    found = Sightings()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return found
    # The last piece is empty or a line still being written: never read it.
    for line in text.split("\n")[:-1]:
        parts = line.split()
        if parts[0] == INBOUND and len(parts) == 4:
            found.inbound.setdefault(parts[1], (float(parts[2]), float(parts[3])))
        elif parts[0] not in {INBOUND, "ready"} and len(parts) == 4:
            times = [float(p) for p in parts[1:]]
            found.routed.setdefault(parts[0], Sighting(*times))
    return found


def read_sightings(path: Path) -> dict[str, float]:
    """The first time each message id was seen on a route topic, from a watch file."""
    return {m: s.visible for m, s in read_watch(path).routed.items()}


def main() -> None:
    """Parse the arguments and watch until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stages", action="store_true", help="read the inbound topic too")
    args = parser.parse_args()
    kafka = kafka_from_env()

    async def service() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await watch(kafka, args.out, stop, stages=args.stages)

    asyncio.run(service())


if __name__ == "__main__":
    main()
