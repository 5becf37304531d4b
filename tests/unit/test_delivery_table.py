"""The status stage's table follows the group's assignment: partitions read when assigned,
dropped when they go elsewhere; an event waits only for its own partition's read."""

from __future__ import annotations

import asyncio

import pytest

from ndxp.core.topology import client_partition
from ndxp.router.delivery_table import DeliveryTable


def key_on(partition: int, n: int = 0) -> bytes:
    """A delivery key whose partition (of 3) is ``partition``."""
    while True:
        key = f"000.00.00.G22,2022/03/15,{n}/A|000.00.00.H41"
        if client_partition(key, 3) == partition:
            return key.encode()
        n += 1


def test_partitions_are_read_when_assigned_and_dropped_when_they_go() -> None:
    async def run() -> None:
        released = {p: asyncio.Event() for p in range(3)}
        reads: list[int] = []

        async def loader(p: int) -> dict[bytes, bytes]:
            reads.append(p)
            await released[p].wait()
            return {key_on(p): b'{"d":1}'}

        table = DeliveryTable(3, loader)
        table.assign({0, 1})
        released[0].set()
        await table.ready(0)  # partition 1 still reading: 0 is usable
        assert table.get(key_on(0)) == b'{"d":1}' and table.held() == {0}
        with pytest.raises(KeyError):
            table.get(key_on(1))  # not read yet: never taken for empty
        waiting = asyncio.ensure_future(table.ready(1))
        await asyncio.sleep(0.01)
        assert not waiting.done()  # an event of partition 1 waits for its read
        released[1].set()
        await waiting
        table[key_on(1, 50)] = b'{"d":1,"s":"01"}'
        table.assign({1, 2})  # 0 went to another worker; 2 came
        assert 0 not in table.held() and key_on(0) not in table
        assert table.get(key_on(1, 50)) == b'{"d":1,"s":"01"}'  # kept: still ours
        released[2].set()
        await table.ready(2)
        table.assign({0, 1, 2})  # 0 back: read again (its holder meanwhile wrote to the topic)
        released[0].set()
        await table.ready(0)
        assert reads == [0, 1, 2, 0] and len(table) == 4

    asyncio.run(run())


def test_a_partition_taken_away_while_read_is_not_kept() -> None:
    async def run() -> None:
        gate = asyncio.Event()

        async def loader(p: int) -> dict[bytes, bytes]:
            await gate.wait()
            return {key_on(p): b"{}"}

        table = DeliveryTable(3, loader)
        table.assign({0})
        await asyncio.sleep(0)
        table.assign(set())
        gate.set()
        await asyncio.sleep(0.01)
        assert table.held() == set() and not table.loading

    asyncio.run(run())


def test_an_event_of_a_partition_never_assigned_reads_it_first() -> None:
    async def run() -> None:
        async def loader(p: int) -> dict[bytes, bytes]:
            return {key_on(p): b"{}"}

        table = DeliveryTable(3, loader)
        await table.ready(2)
        assert table.held() == {2} and table.get(key_on(2)) == b"{}"

    asyncio.run(run())


def test_a_read_that_fails_is_tried_again_and_the_event_waits_for_it() -> None:
    async def run() -> None:
        calls: list[int] = []

        async def loader(p: int) -> dict[bytes, bytes]:
            calls.append(p)
            if len(calls) < 3:
                raise ConnectionError("broker down")
            return {key_on(p): b"{}"}

        table = DeliveryTable(3, loader)
        table.RETRY_S = 0.01
        table.assign({1})
        await asyncio.wait_for(table.ready(1), 5)
        assert calls == [1, 1, 1] and table.get(key_on(1)) == b"{}"

    asyncio.run(run())
