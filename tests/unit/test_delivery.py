"""The router's delivery guard over Faust (ndxp.router.faust_fixes): commit points and the
in-order check, without a broker."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from typing import Any

from ndxp.router.faust_fixes import InOrder, commit_point

TP = namedtuple("TP", "topic partition")
Msg = namedtuple("Msg", "tp offset")
A = TP("ndxp.in.x", 0)


def test_commit_covers_only_a_run_starting_at_the_committed_offset() -> None:
    acked = [12, 10, 11, 14]
    assert commit_point(acked, 10, None) == 13
    assert acked == [14]  # what the commit covers is removed, the rest kept


def test_no_commit_over_a_hole_at_the_head() -> None:
    # Faust's own _new_offset commits 1001 here when nothing was committed before (base 0)
    acked = list(range(1000, 1001))
    assert commit_point(acked, 0, None) is None
    assert acked == [1000]
    # and allows a one-message hole when something was: 11 - 10 > 1 is false
    assert commit_point([11, 12], 10, None) is None


def test_commit_never_passes_the_next_offset_to_process() -> None:
    # messages skipped at a hole are acked by Faust before they are processed
    acked = [5, 6, 7, 8]
    assert commit_point(acked, 5, 7) == 7
    assert acked == [7, 8]


def test_offsets_below_the_committed_one_are_dropped() -> None:
    acked = [3, 4, 9, 10]
    assert commit_point(acked, 9, None) == 11
    assert acked == []
    assert commit_point([], 9, None) is None
    assert commit_point([9], None, None) is None


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[Any, int]] = []
        self.high: dict[Any, int] = {}

    async def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))

    def assignment(self) -> set[Any]:
        return set(self.high)

    def highwater(self, tp: Any) -> int:
        return self.high[tp]


def run(order: InOrder, offsets: list[int]) -> list[int]:
    processed = []

    async def go() -> None:
        for offset in offsets:
            m = Msg(A, offset)
            if await order.admit(m):
                processed.append(offset)
                order.done(m)

    asyncio.run(go())
    return processed


def tracker(consumer: FakeConsumer) -> InOrder:
    order = InOrder(consumer, lambda tp: True)
    order.assigned = {A}
    return order


def test_messages_are_processed_once_and_in_order() -> None:
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 100})
    # 100, 101; a hole (Faust dropped 102..104): seek back, skip; redelivery; duplicates
    assert run(order, [100, 101, 105, 102, 103, 104, 105, 101, 106]) == [
        100,
        101,
        102,
        103,
        104,
        105,
        106,
    ]
    assert consumer.seeks == [(A, 102)]
    assert order.holes == 1


def test_a_repeated_hole_seeks_once_until_the_retry_time() -> None:
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 0})
    assert run(order, [5, 6, 7]) == []
    assert consumer.seeks == [(A, 0)]
    order.seeking[A] -= InOrder.RESEEK_AFTER_S + 1  # time passes, the messages did not come
    assert run(order, [8]) == []
    assert consumer.seeks == [(A, 0), (A, 0)]


def test_bases_never_move_processing_backwards() -> None:
    order = InOrder(FakeConsumer(), lambda tp: tp.topic.startswith("ndxp.in."))
    order.on_bases({A: 10, TP("changelog", 0): 3})
    order.done(Msg(A, 40))
    order.on_bases({A: 20})  # a rebalance: committed 20, but this worker got to 41
    assert order.next == {A: 41}


def test_messages_of_a_revoked_partition_are_not_processed() -> None:
    order = tracker(FakeConsumer())
    order.on_bases({A: 0})
    assert run(order, [0, 1]) == [0, 1]
    order.assigned.discard(A)  # a rebalance gave it to another worker
    assert run(order, [2, 3]) == []
    assert order.next[A] == 2


def test_an_idle_partition_fetched_past_is_sought_back() -> None:
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 50})
    consumer.high[A] = 50
    asyncio.run(order.sweep())
    assert consumer.seeks == []  # nothing past the next offset
    consumer.high[A] = 80  # Faust dropped the tail of a batch: nothing more arrives
    asyncio.run(order.sweep())
    assert consumer.seeks == []  # not idle long enough yet
    order.progress[A] -= InOrder.IDLE_S + 1
    asyncio.run(order.sweep())
    assert consumer.seeks == [(A, 50)]


def test_lag_counts_what_waits_after_the_next_offset() -> None:
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 50})
    consumer.high[A] = 80
    assert order.lag() == [((A.topic, "0"), 30.0)]
    order.assigned.clear()
    assert order.lag() == []


def test_direct_delivery_finishes_in_place_or_through_faust_when_it_must_wait() -> None:
    from types import SimpleNamespace

    from ndxp.router.faust_fixes import direct_delivery

    async def go() -> list[str]:
        log: list[str] = []
        suspend = asyncio.Event()

        async def faust_wait_first(*coros: Any, **kw: Any) -> None:
            log.append("faust" + (f" {kw}" if kw else ""))
            await coros[0]
            for c in coros[1:]:
                c.close()

        consumer = SimpleNamespace(suspend_flow=suspend, wait_first=faust_wait_first)
        direct_delivery(SimpleNamespace(consumer=consumer))

        async def quick(n: int) -> None:
            log.append(f"quick {n}")

        gate = asyncio.get_running_loop().create_future()

        async def blocked() -> None:
            await gate  # a full stream buffer
            log.append("delivered after waiting")

        await consumer.wait_first(quick(1), suspend.wait())
        asyncio.get_running_loop().call_later(0.01, gate.set_result, None)
        await consumer.wait_first(blocked(), suspend.wait())
        suspend.set()
        await consumer.wait_first(quick(2), suspend.wait())  # suspended: dropped
        await consumer.wait_first(quick(3), timeout=1.0)  # Service.wait(): Faust's own
        return log

    assert asyncio.run(go()) == [
        "quick 1",
        "faust",
        "delivered after waiting",
        "faust {'timeout': 1.0}",
        "quick 3",
    ]
