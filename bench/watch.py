"""A ``read_committed`` reader of every route topic that notes when each message appears.

Run as its own process (so the load generator's event loop cannot delay it):
``python -m bench.watch --out FILE``, reaching Kafka as the hub does (``HUB_KAFKA__*``).
Each routed copy read appends ``<message_id> <unix time>`` to FILE (flushed after every
poll); it runs until SIGTERM. The first line, ``ready <unix time>``, says it is reading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path

from bench.common import kafka_from_env
from hub.kafka import TopicPartition, make_consumer, partitions_of
from hub.settings import KafkaSettings
from hub.topology import route_topic
from schemas.common import Area


async def watch(kafka: KafkaSettings, out: Path, stop: asyncio.Event) -> None:
    """Read every route topic from the start until ``stop``; note first sight of each id."""
    consumer = make_consumer(kafka, "bench-watch", read_committed=True, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        topics = [kafka.topic(route_topic(a)) for a in Area]
        partitions: list[TopicPartition] = await partitions_of(consumer, topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        with out.open("a") as sink:
            sink.write(f"ready {time.time():.6f}\n")
            sink.flush()
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=2000)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        message_id = json.loads(record.value)["message_id"]
                        sink.write(f"{message_id} {now:.6f}\n")
                sink.flush()
    finally:
        await consumer.stop()


def read_sightings(path: Path) -> dict[str, float]:
    """The first time each message id was seen, from a watch file."""
    seen: dict[str, float] = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return seen
    # The last piece is empty or a line still being written: never read it.
    for line in text.split("\n")[:-1]:
        parts = line.split()
        if len(parts) == 2 and parts[0] != "ready":
            seen.setdefault(parts[0], float(parts[1]))
    return seen


def main() -> None:
    """Parse the arguments and watch until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    kafka = kafka_from_env()

    async def service() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await watch(kafka, args.out, stop)

    asyncio.run(service())


if __name__ == "__main__":
    main()
