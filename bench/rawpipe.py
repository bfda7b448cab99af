"""The baseline: a raw aiokafka consume-transform-produce pipe, run as its own process.

It reads the same inbound topics the router reads (``read_committed``, at most
``--max-batch`` records a poll, like the router), parses each JSON value, writes one
record per input to ``route.mash`` with the same producer settings as the hub
(idempotent, ``acks=all``, ``linger_ms=5``) and commits the consumed offsets:

- ``--transactions on``: like the router's tasks, one transactional producer per input
  partition number; each poll's records of that partition number are one transaction
  holding the outputs and the offsets (``send_offsets_to_transaction``);
- ``--transactions off``: one idempotent producer; after every output of a poll is
  acknowledged, the consumer commits the offsets;
- ``--overlap`` (with transactions): the per-partition transactions of one poll run
  concurrently instead of one after another;
- ``--records-per-message R --bytes-per-message B``: the same records per message as
  the router writes (measured by the bench in the same invocation): R records a
  message on average (message ``i`` writes ``floor((i+1)R) - floor(iR)``), B bytes in
  all, spread over ``route.mash``, ``hub.decisions``, ``hub.subject-history`` and
  ``hub.routed-ids`` in the input's partition, as the router's are.

Usage: ``python -m bench.rawpipe --transactions on|off [--overlap] [--max-batch N]
[--records-per-message R --bytes-per-message B]``;
it reaches Kafka as the hub does (``HUB_KAFKA__*``, prefix included) and runs until
SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import kafka_from_env
from hub.cli._async import run_until_signalled
from hub.kafka import TopicPartition, make_consumer, make_producer
from hub.settings import KafkaSettings
from hub.topology import DECISIONS, HISTORY, INBOUND_PARTNER, ROUTED_IDS, route_topic
from schemas.common import Area

GROUP = "rawpipe"
OUTPUT = route_topic(Area.MASH)
EXTRA_TOPICS = (DECISIONS, HISTORY, ROUTED_IDS)
PARTITIONS = 6

Batch = dict[TopicPartition, list[Any]]


def transform(value: bytes) -> bytes:
    """Parse the inbound JSON and write a route-like record of it."""
    message = json.loads(value)
    meta = message["metadata"]
    return json.dumps(
        {"message_id": meta["message_id"], "kind": meta["kind"], "message": message}
    ).encode()


class Shape:
    """How many records, of what size, each input becomes (1 record: the plain pipe)."""

    def __init__(self, records_per_message: float = 1.0, bytes_per_message: int = 0) -> None:
        self.rate = records_per_message
        self.size = round(bytes_per_message / records_per_message) if bytes_per_message else 0
        self.seen = 0

    def outputs(self, m: Any) -> list[tuple[str, bytes, int]]:
        """(topic, value, partition) of every record input ``m`` becomes."""
        main = transform(m.value)
        if self.rate == 1.0 and not self.size:
            return [(OUTPUT, main, m.partition)]
        i, self.seen = self.seen, self.seen + 1
        count = int((i + 1) * self.rate) - int(i * self.rate)
        value = (main * (1 + self.size // max(len(main), 1)))[: self.size] if self.size else main
        topics = (OUTPUT, *EXTRA_TOPICS)
        return [(topics[j % len(topics)], value, m.partition) for j in range(count)]


async def run(
    kafka: KafkaSettings,
    *,
    transactions: bool,
    max_batch: int,
    stop: asyncio.Event,
    overlap: bool = False,
    shape: Shape | None = None,
) -> None:
    """Pipe until ``stop`` is set."""
    shape = shape or Shape()
    consumer = make_consumer(
        kafka, "rawpipe", group_id=GROUP, read_committed=True, max_poll_records=max_batch
    )
    await consumer.start()
    consumer.subscribe(topics=[kafka.topic(t) for t in INBOUND_PARTNER])
    if transactions:
        producers = {
            p: make_producer(kafka, f"rawpipe-{p}", transactional_id=f"rawpipe-task-{p}")
            for p in range(PARTITIONS)
        }
    else:
        producers = {0: make_producer(kafka, "rawpipe")}
    for producer in producers.values():
        await producer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=max_batch)
            if not batch:
                continue
            if transactions:
                await _transactional(kafka, producers, batch, shape, overlap=overlap)
            else:
                await _plain(kafka, consumer, producers[0], batch, shape)
    finally:
        for producer in producers.values():
            await producer.stop()
        await consumer.stop()


async def _transactional(
    kafka: KafkaSettings,
    producers: dict[int, AIOKafkaProducer],
    batch: Batch,
    shape: Shape,
    *,
    overlap: bool,
) -> None:
    by_task: dict[int, Batch] = defaultdict(dict)
    for tp, records in batch.items():
        by_task[tp.partition][tp] = records
    if overlap:
        await asyncio.gather(
            *(_one_task(kafka, producers[p], records, shape) for p, records in by_task.items())
        )
        return
    for partition, task_batch in by_task.items():
        await _one_task(kafka, producers[partition], task_batch, shape)


async def _send_outputs(
    kafka: KafkaSettings, producer: AIOKafkaProducer, batch: Batch, shape: Shape
) -> None:
    """Send every output of the batch's records and wait until each is acknowledged."""
    futures = [
        await producer.send(kafka.topic(topic), value, key=m.key, partition=partition)
        for msgs in batch.values()
        for m in msgs
        for topic, value, partition in shape.outputs(m)
    ]
    await asyncio.gather(*futures)


async def _one_task(
    kafka: KafkaSettings, producer: AIOKafkaProducer, task_batch: Batch, shape: Shape
) -> None:
    await producer.begin_transaction()
    offsets = {tp: msgs[-1].offset + 1 for tp, msgs in task_batch.items()}
    await producer.send_offsets_to_transaction(offsets, kafka.group(GROUP))
    await _send_outputs(kafka, producer, task_batch, shape)
    await producer.commit_transaction()


async def _plain(
    kafka: KafkaSettings,
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    batch: Batch,
    shape: Shape,
) -> None:
    await _send_outputs(kafka, producer, batch, shape)
    await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})


def main() -> None:
    """Parse the arguments and pipe until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", choices=("on", "off"), required=True)
    parser.add_argument("--max-batch", type=int, default=500)
    parser.add_argument(
        "--overlap", action="store_true", help="run the tasks' transactions concurrently"
    )
    parser.add_argument("--records-per-message", type=float, default=1.0)
    parser.add_argument("--bytes-per-message", type=int, default=0)
    args = parser.parse_args()
    kafka = kafka_from_env()

    async def service(stop: asyncio.Event) -> None:
        await run(
            kafka,
            transactions=args.transactions == "on",
            max_batch=args.max_batch,
            stop=stop,
            overlap=args.overlap,
            shape=Shape(args.records_per_message, args.bytes_per_message),
        )

    run_until_signalled(service)


if __name__ == "__main__":
    main()
