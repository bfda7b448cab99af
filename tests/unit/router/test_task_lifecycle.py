"""Every task producer the router starts is stopped: at shutdown, mid-rebalance, on failure."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from hub.errors import KafkaError
from hub.router import service
from hub.router.handler import RouterContext
from hub.router.service import Router
from hub.settings import KafkaSettings


class FakeProducer:
    """A task producer that records whether it was started and stopped."""

    def __init__(self, fail_start: bool = False) -> None:
        self.fail_start = fail_start
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        if self.fail_start:
            raise KafkaError("the transaction coordinator is not available")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


class Producers:
    """``make_producer`` for the tests: hands out fakes and keeps them."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.made: list[FakeProducer] = []
        self.fail_at = fail_at

    def __call__(self, *_args: Any, **_kwargs: Any) -> FakeProducer:
        producer = FakeProducer(fail_start=len(self.made) == self.fail_at)
        self.made.append(producer)
        return producer


class LeavingConsumer:
    """A consumer whose rebalance completes while it leaves the group.

    aiokafka runs the rebalance listener from its coordinator: a join under way when
    the router stops can call ``on_partitions_assigned`` from inside ``stop()``.
    """

    def __init__(self, partitions: list[int]) -> None:
        self.partitions = partitions
        self.listener: Any = None

    async def start(self) -> None:
        return None

    def subscribe(self, **kwargs: Any) -> None:
        self.listener = kwargs["listener"]

    async def getmany(self, **_kwargs: Any) -> dict[Any, Any]:
        await asyncio.sleep(0.01)
        return {}

    async def stop(self) -> None:
        await self.listener.on_partitions_assigned(
            [TopicPartition("partner.police.inbound", p) for p in self.partitions]
        )


class IdleReader:
    """The household view reader, with nothing to read; remembers the last one made."""

    last: IdleReader | None = None

    def __init__(self, *_args: Any) -> None:
        self.following = False
        self.stopped = False
        IdleReader.last = self

    async def catch_up(self) -> None:
        return None

    async def follow(self, stop: asyncio.Event) -> None:
        self.following = True
        try:
            await stop.wait()
        finally:
            self.following = False

    async def stop(self) -> None:
        self.stopped = True


class UnreachableConsumer(LeavingConsumer):
    """A consumer whose broker cannot be reached."""

    async def start(self) -> None:
        raise KafkaConnectionError("no broker at 127.0.0.1:1")


async def no_restore(*_args: Any) -> None:
    return None


@pytest.fixture
def producers(monkeypatch: pytest.MonkeyPatch) -> Producers:
    made = Producers()
    monkeypatch.setattr(service, "make_producer", made)
    monkeypatch.setattr(service, "restore_tasks", no_restore)
    monkeypatch.setattr(service, "HouseholdReader", IdleReader)
    return made


def router(tmp_path: Path) -> Router:
    ctx = cast("RouterContext", SimpleNamespace(checkpoints=None))
    return Router(KafkaSettings(), ctx, tmp_path, batch_window_ms=0)


class TestTaskLifecycle:
    async def test_tasks_assigned_while_leaving_are_not_left_running(
        self, tmp_path: Path, producers: Producers, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        consumer = LeavingConsumer([0, 1, 2])
        monkeypatch.setattr(service, "make_consumer", lambda *_a, **_k: consumer)
        r = router(tmp_path)
        stop = asyncio.Event()
        running = asyncio.create_task(r.run(stop))
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, 5)
        assert all(p.stopped for p in producers.made if p.started)
        assert not r._tasks

    async def test_tasks_opened_before_the_stop_are_closed_at_shutdown(
        self, tmp_path: Path, producers: Producers
    ) -> None:
        r = router(tmp_path)
        await r.on_partitions_assigned(
            [TopicPartition("partner.police.inbound", p) for p in (0, 1)]
        )
        assert [p.started for p in producers.made] == [True, True]
        assert r.ready.is_set()
        await r._close_tasks(list(r._tasks))
        assert all(p.stopped for p in producers.made)

    async def test_a_task_that_fails_to_open_leaves_no_producer_running(
        self, tmp_path: Path, producers: Producers
    ) -> None:
        producers.fail_at = 2
        r = router(tmp_path)
        with pytest.raises(KafkaError, match="coordinator"):
            await r._open_tasks([0, 1, 2, 3])
        assert len(producers.made) == 3  # the fourth was never made
        assert all(p.stopped for p in producers.made)
        assert not r._tasks

    async def test_a_router_that_cannot_start_leaves_nothing_running(
        self, tmp_path: Path, producers: Producers, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        consumer = UnreachableConsumer([0])
        monkeypatch.setattr(service, "make_consumer", lambda *_a, **_k: consumer)
        with pytest.raises(KafkaError, match="starting the router consumer"):
            await router(tmp_path).run(asyncio.Event())
        reader = IdleReader.last
        assert reader is not None
        assert reader.stopped
        assert not reader.following
        assert not producers.made
