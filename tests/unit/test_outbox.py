"""The router's outbox over aiokafka's accumulator (a stand-in for its batches): partitions as
aiokafka's DefaultPartitioner picks them, keyless records stay on one partition until its
batch is full, a full batch waits for the sender, a refused batch is fatal."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from ndxp.router.forwarding import Outgoing
from ndxp.router.outbox import Outbox

PARTS = {"ndxp.out.a": [0, 1, 2, 3, 4, 5], "ndxp.out.b": [0, 1, 2]}


class Builder:
    def __init__(self, room: int) -> None:
        self.room, self.records = room, []  # type: ignore[var-annotated]

    def append(self, *, timestamp: Any, key: Any, value: Any, headers: Any) -> object | None:
        if len(self.records) >= self.room:
            return None
        self.records.append((key, value, list(headers), timestamp))
        return object()


class Batch:
    def __init__(self, builder: Builder) -> None:
        self._builder = builder
        loop = asyncio.get_running_loop()
        self.future: asyncio.Future[Any] = loop.create_future()
        self._drain_waiter: asyncio.Future[None] = loop.create_future()

    async def wait_drain(self, timeout: float) -> None:
        await asyncio.wait([self._drain_waiter], timeout=timeout)


class Accumulator:
    def __init__(self, room: int) -> None:
        self.room = room
        self._exception = None
        self._batches: dict[Any, list[Batch]] = defaultdict(list)
        self.all: list[tuple[Any, Batch]] = []

    def create_builder(self) -> Builder:
        return Builder(self.room)

    def _append_batch(self, builder: Builder, tp: Any) -> Batch:
        batch = Batch(builder)
        self._batches[tp].append(batch)
        self.all.append((tp, batch))
        return batch

    def drain(self) -> None:  # the sender takes every open batch
        for batches in self._batches.values():
            for b in batches:
                b._drain_waiter.set_result(None)
        self._batches.clear()


ASKED: list[str] = []  # topics whose metadata the producer's client was asked for


def outbox(room: int = 1000) -> tuple[Outbox, Accumulator, list[str]]:
    acc = Accumulator(room)

    async def wait_on_metadata(topic: str) -> None:
        ASKED.append(topic)

    cluster = SimpleNamespace(
        partitions_for_topic=lambda t: set(PARTS[t]),
        available_partitions_for_topic=lambda t: set(PARTS[t]),
    )
    producer = SimpleNamespace(
        _message_accumulator=acc,
        _request_timeout_ms=1000,
        client=SimpleNamespace(cluster=cluster, _wait_on_metadata=wait_on_metadata),
    )
    failures: list[str] = []
    box = Outbox(SimpleNamespace(producer=producer), lambda: failures.append("fatal"))
    box._producer = producer
    return box, acc, failures


def out(topic: str, key: bytes | None, n: int = 0) -> Outgoing:
    return Outgoing(topic, key, b"v%d" % n, [("ndxp-id", b"%d" % n)], 1_795_000_000_000)


def test_keyed_records_go_where_aiokafka_would_put_them() -> None:
    async def go() -> None:
        box, acc, _ = outbox()
        keys = [b"VN:GOV:000.00.00.H41:motcua", b"k1", b"", b"\xff" * 40]
        for topic in PARTS:
            for key in keys:
                await box.put(out(topic, key))
        expect = DefaultPartitioner()
        got = [(tp.topic, tp.partition) for tp, _ in acc.all]
        want = [(t, expect(k, PARTS[t], PARTS[t])) for t in PARTS for k in keys]
        assert sorted(set(got)) == sorted(set(want))
        # an explicit partition is kept
        await box.put(Outgoing("ndxp.out.b", b"k1", b"x", [], None, partition=2))
        assert acc._batches[next(tp for tp in acc._batches if tp.partition == 2)]

    asyncio.run(go())


def test_a_record_with_its_partition_chosen_still_makes_the_topic_known() -> None:
    """A home copy goes to a partition the router chose, on an ingress topic the producer
    never wrote to: without asking for the topic's metadata its batch waited for a leader
    forever (the router stalled in the quota crash test)."""

    async def go() -> None:
        box, acc, _ = outbox()
        ASKED.clear()
        await box.put(Outgoing("ndxp.out.a", b"k", b"x", [], None, partition=4))
        await box.put(Outgoing("ndxp.out.a", b"k", b"y", [], None, partition=4))
        assert ASKED == ["ndxp.out.a"]  # once, then the topic is known
        assert [tp.partition for tp, _ in acc.all] == [4]

    asyncio.run(go())


def test_keyless_records_share_a_partition_until_its_batch_is_full() -> None:
    async def go() -> None:
        box, acc, _ = outbox(room=3)
        for i in range(3):  # one after another, as an agent puts them
            await box.put(out("ndxp.out.a", None, i))
        fourth = asyncio.ensure_future(box.put(out("ndxp.out.a", None, 3)))
        await asyncio.sleep(0.01)
        assert not fourth.done()  # the batch is full: it waits for the sender
        assert [len(b._builder.records) for _, b in acc.all] == [3]
        acc.drain()
        await fourth
        await box.put(out("ndxp.out.a", None, 4))
        assert [len(b._builder.records) for _, b in acc.all] == [3, 2]
        order = [v for _, b in acc.all for _, v, _, _ in b._builder.records]
        assert order == [b"v0", b"v1", b"v2", b"v3", b"v4"]

    asyncio.run(go())


def test_a_record_is_appended_whole_and_a_refused_batch_is_fatal() -> None:
    async def go() -> list[str]:
        box, acc, failures = outbox()
        record = out("ndxp.out.b", b"k", 7)
        await box.put(record)
        ((_tp, batch),) = acc.all
        assert batch._builder.records == [(b"k", b"v7", [("ndxp-id", b"7")], record.timestamp_ms)]
        batch.future.set_exception(RuntimeError("broker said no"))
        await asyncio.sleep(0)
        return failures

    assert asyncio.run(go()) == ["fatal"]


def test_no_room_in_time_raises() -> None:
    async def go() -> None:
        box, acc, _ = outbox(room=1)
        acc.room = 1
        box._producer._request_timeout_ms = 10
        await box.put(out("ndxp.out.b", b"k", 0))
        with pytest.raises(Exception, match="no room"):
            await box.put(out("ndxp.out.b", b"k", 1))

    asyncio.run(go())
