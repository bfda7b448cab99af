"""The router's batch window: a poll that found records gathers what arrives within it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.router.handler import RouterContext
from hub.router.service import Router
from hub.settings import KafkaSettings, RouterSettings

TP0 = TopicPartition("partner.police.inbound", 0)
TP1 = TopicPartition("partner.police.inbound", 1)


class ScriptedConsumer:
    """``getmany`` as aiokafka answers it, over records that arrive at scripted times."""

    def __init__(self, arrivals: list[tuple[float, TopicPartition, int]]) -> None:
        loop = asyncio.get_running_loop()
        self._start = loop.time()
        self._pending = sorted(arrivals, key=lambda a: a[0])
        self.polls = 0

    def _arrived(self, now: float) -> list[tuple[float, TopicPartition, int]]:
        return [a for a in self._pending if a[0] <= now - self._start]

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        """Whatever has arrived (at most ``max_records``), waiting up to the timeout for some."""
        self.polls += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while not self._arrived(loop.time()) and loop.time() < deadline:  # noqa: ASYNC110 -- a clock, not an event
            await asyncio.sleep(0.001)
        taken = self._arrived(loop.time())[:max_records]
        out: dict[TopicPartition, list[int]] = {}
        for arrival in taken:
            self._pending.remove(arrival)
            out.setdefault(arrival[1], []).append(arrival[2])
        return out


def router(window_ms: int, max_batch: int = 2000) -> Router:
    return Router(
        KafkaSettings(),
        cast("RouterContext", None),
        Path("unused"),
        max_batch=max_batch,
        batch_window_ms=window_ms,
    )


async def poll(r: Router, consumer: ScriptedConsumer) -> tuple[dict[Any, Any], float]:
    loop = asyncio.get_running_loop()
    began = loop.time()
    batch = await r._poll(cast("AIOKafkaConsumer", consumer))
    return batch, loop.time() - began


class TestBatchWindow:
    async def test_records_arriving_within_the_window_join_the_batch(self) -> None:
        consumer = ScriptedConsumer(
            [(0, TP0, 10), (0.01, TP1, 20), (0.02, TP0, 11), (0.3, TP0, 12)]
        )
        batch, took = await poll(router(60), consumer)
        assert batch == {TP0: [10, 11], TP1: [20]}  # offset 12 came after the window
        assert 0.05 <= took < 0.25

    async def test_no_window_routes_what_the_first_fetch_brought(self) -> None:
        consumer = ScriptedConsumer([(0, TP0, 10), (0.01, TP0, 11)])
        batch, took = await poll(router(0), consumer)
        assert batch == {TP0: [10]}
        assert took < 0.01
        assert consumer.polls == 1

    async def test_a_full_batch_does_not_wait_for_the_window(self) -> None:
        consumer = ScriptedConsumer([(0, TP0, o) for o in range(5)])
        batch, took = await poll(router(80, max_batch=3), consumer)
        assert batch == {TP0: [0, 1, 2]}
        assert took < 0.04

    async def test_the_window_is_bounded_by_max_batch(self) -> None:
        consumer = ScriptedConsumer([(0, TP0, 0), (0.01, TP0, 1), (0.01, TP0, 2), (0.02, TP1, 9)])
        batch, _took = await poll(router(60, max_batch=2), consumer)
        assert batch == {TP0: [0, 1]}

    async def test_an_idle_poll_does_not_open_a_window(self) -> None:
        consumer = ScriptedConsumer([(0.25, TP0, 1)])
        batch, took = await poll(router(100), consumer)
        assert batch == {}
        assert took < 0.24  # the poll's own timeout (200 ms), no window after it
        assert consumer.polls == 1


def test_the_window_is_a_bounded_router_setting() -> None:
    assert RouterSettings(batch_window_ms=25).batch_window_ms == 25
    for bad in (-1, 101):
        with pytest.raises(ValueError, match="batch_window_ms"):
            RouterSettings(batch_window_ms=bad)
