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
  concurrently instead of one after another (the router runs them one after another).

Usage: ``python -m bench.rawpipe --transactions on|off [--overlap] [--max-batch N]``;
it reaches Kafka as the hub does (``HUB_KAFKA__*``, prefix included) and runs until
SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import kafka_from_env
from hub.kafka import TopicPartition, make_consumer, make_producer
from hub.settings import KafkaSettings
from hub.topology import INBOUND_PARTNER, route_topic
from schemas.common import Area

GROUP = "rawpipe"
OUTPUT = route_topic(Area.MASH)
PARTITIONS = 6

Batch = dict[TopicPartition, list[Any]]


def transform(value: bytes) -> bytes:
    """Parse the inbound JSON and write a route-like record of it."""
    message = json.loads(value)
    meta = message["metadata"]
    return json.dumps(
        {"message_id": meta["message_id"], "kind": meta["kind"], "message": message}
    ).encode()


async def run(
    kafka: KafkaSettings,
    *,
    transactions: bool,
    max_batch: int,
    stop: asyncio.Event,
    overlap: bool = False,
) -> None:
    """Pipe until ``stop`` is set."""
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
                await _transactional(kafka, producers, batch, overlap=overlap)
            else:
                await _plain(kafka, consumer, producers[0], batch)
    finally:
        for producer in producers.values():
            await producer.stop()
        await consumer.stop()


async def _transactional(
    kafka: KafkaSettings,
    producers: dict[int, AIOKafkaProducer],
    batch: Batch,
    *,
    overlap: bool,
) -> None:
    by_task: dict[int, Batch] = defaultdict(dict)
    for tp, records in batch.items():
        by_task[tp.partition][tp] = records
    if overlap:
        await asyncio.gather(
            *(_one_task(kafka, producers[p], records) for p, records in by_task.items())
        )
        return
    for partition, task_batch in by_task.items():
        await _one_task(kafka, producers[partition], task_batch)


async def _one_task(kafka: KafkaSettings, producer: AIOKafkaProducer, task_batch: Batch) -> None:
    await producer.begin_transaction()
    offsets = {tp: msgs[-1].offset + 1 for tp, msgs in task_batch.items()}
    await producer.send_offsets_to_transaction(offsets, kafka.group(GROUP))
    futures = [
        await producer.send(kafka.topic(OUTPUT), transform(m.value), key=m.key)
        for msgs in task_batch.values()
        for m in msgs
    ]
    await asyncio.gather(*futures)
    await producer.commit_transaction()


async def _plain(
    kafka: KafkaSettings, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, batch: Batch
) -> None:
    futures = [
        await producer.send(kafka.topic(OUTPUT), transform(m.value), key=m.key)
        for msgs in batch.values()
        for m in msgs
    ]
    await asyncio.gather(*futures)
    await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})


def main() -> None:
    """Parse the arguments and pipe until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", choices=("on", "off"), required=True)
    parser.add_argument("--max-batch", type=int, default=500)
    parser.add_argument(
        "--overlap", action="store_true", help="run the tasks' transactions concurrently"
    )
    args = parser.parse_args()
    kafka = kafka_from_env()

    async def service() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(
            kafka,
            transactions=args.transactions == "on",
            max_batch=args.max_batch,
            stop=stop,
            overlap=args.overlap,
        )

    asyncio.run(service())


if __name__ == "__main__":
    main()
