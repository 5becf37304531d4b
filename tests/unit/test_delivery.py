"""The router's delivery guard over Faust (ndxp.router.in_order): commit points and the
in-order check, without a broker."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from typing import Any

from ndxp.router.in_order import InOrder, commit_point

TP = namedtuple("TP", "topic partition")
Msg = namedtuple("Msg", "tp offset")
A = TP("ndxp.in.x", 0)


def test_commit_point_is_the_next_offset_to_process() -> None:
    assert commit_point(13, 10) == 13
    assert commit_point(13, None) == 13  # nothing committed yet (the base is recorded later)
    assert commit_point(10, 10) is None  # nothing new processed
    assert commit_point(9, 10) is None  # never backwards
    assert commit_point(None, 10) is None  # not an agent's partition, or nothing processed


class FakeThread:
    """Faust's consumer thread: seeks must go through ``call_thread`` (run on the thread that
    owns aiokafka's consumer), never straight to aiokafka from the event loop's thread."""

    def __init__(self, consumer: FakeConsumer) -> None:
        self.consumer = consumer
        self.in_thread = False

    def _ensure_consumer(self) -> Any:
        return self

    def seek(self, tp: Any, offset: int) -> None:
        assert self.in_thread, "aiokafka's seek called outside the consumer thread"
        self.consumer.seeks.append((tp, offset))
        self.consumer.fetch_at[tp] = offset

    async def position(self, tp: Any) -> int:
        assert self.in_thread, "aiokafka's position read outside the consumer thread"
        return self.consumer.fetch_at[tp]

    async def call_thread(self, fn: Any, *args: Any) -> Any:
        self.in_thread = True
        try:
            result = fn(*args)
            return (await result) if asyncio.iscoroutine(result) else result
        finally:
            self.in_thread = False


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[Any, int]] = []
        self.high: dict[Any, int] = {}
        self.fetch_at: dict[Any, int] = {}  # aiokafka's fetch position
        self._thread = FakeThread(self)

    async def seek(self, tp: Any, offset: int) -> None:
        raise AssertionError("Faust's seek calls aiokafka from the wrong thread")

    def assignment(self) -> set[Any]:
        return set(self.high)

    def highwater(self, tp: Any) -> int:
        return self.high[tp]


def run(order: InOrder, offsets: list[int]) -> list[int]:
    """Deliver each offset as a run of one record."""
    return runs(order, [[o] for o in offsets])


def runs(order: InOrder, batches: list[list[int]]) -> list[int]:
    processed: list[int] = []

    async def go() -> None:
        for batch in batches:
            todo = await order.admit(A, [Msg(A, o) for o in batch])
            processed.extend(r.offset for r in todo)
            if todo:
                order.done(A, todo[-1].offset)

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
    order.done(A, 40)
    order.on_bases({A: 20})  # a rebalance: committed 20, but this worker got to 41
    assert order.next == {A: 41}


def test_a_run_is_processed_from_the_next_offset_while_consecutive() -> None:
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 100})
    # a whole run; a run overlapping what was processed; a run with a hole inside
    assert runs(order, [[100, 101, 102], [101, 102, 103, 104], [105, 106, 109, 110]]) == [
        *range(100, 107)
    ]
    assert consumer.seeks == [(A, 107)]  # fetch again from the hole
    # a run past the next offset: nothing processed, sought back once
    order.seeking.clear()
    assert runs(order, [[110, 111]]) == []
    assert consumer.seeks == [(A, 107), (A, 107)]
    # redelivered from the next offset: processed, and nothing sought
    assert runs(order, [[107, 108, 109, 110, 111]]) == [107, 108, 109, 110, 111]
    assert order.next[A] == 112
    assert order.holes == 2
    # a run of what was processed already is left out entirely
    assert runs(order, [[104, 105]]) == []


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
    consumer.fetch_at[A] = 80
    asyncio.run(order.sweep())
    assert consumer.seeks == []  # not idle long enough yet
    order.progress[A] -= InOrder.IDLE_S + 1
    asyncio.run(order.sweep())
    assert consumer.seeks == [(A, 50)]


def test_a_partition_whose_fetched_records_wait_in_the_stream_is_not_sought() -> None:
    """Under a backlog on hundreds of partitions, runs wait in the stream buffer for longer
    than the idle time: they were delivered, not dropped. (Seeking them back made the router
    refetch again and again.)"""
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 50})
    consumer.high[A] = 80
    order.fetched[A] = 79  # the run 50..79 is in the stream buffer
    order.progress[A] -= InOrder.IDLE_S + 1
    asyncio.run(order.sweep())
    assert consumer.seeks == []
    assert run(order, list(range(50, 80))) == list(range(50, 80))
    consumer.high[A] = 90  # processed all of it, then 80..89 never came: dropped
    consumer.fetch_at[A] = 90
    order.progress[A] -= InOrder.IDLE_S + 1
    asyncio.run(order.sweep())
    assert consumer.seeks == [(A, 80)]


def test_a_partition_not_fetched_yet_is_not_sought() -> None:
    """Under a backlog on hundreds of partitions, the fetch bound serves a few partitions at
    a time: one can wait its turn longer than the idle time. Nothing was fetched past the
    next offset, so nothing was dropped. (Seeking it anyway threw the fetcher's work away:
    875 seeks in a national day.)"""
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 50})
    consumer.high[A] = 80_000
    consumer.fetch_at[A] = 50  # the fetcher has not got to it
    order.progress[A] -= InOrder.QUEUED_S + 1
    asyncio.run(order.sweep())
    assert consumer.seeks == []
    consumer.fetch_at[A] = 51  # one record fetched and never delivered: dropped
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


def test_commits_consider_every_partition_the_guard_moved_not_only_acked_ones() -> None:
    """An event carrying the runs of a fetch is acked by Faust for its first partition only:
    the others must still be committed (before: hundreds of ingress partitions were never
    committed, and a restart re-read them from the start)."""
    from collections import defaultdict
    from types import SimpleNamespace

    from ndxp.router.in_order import deliver_in_order

    B = TP("ndxp.in.y", 1)
    consumer = FakeConsumer()
    consumer._read_offset = {}
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._filter_tps_with_pending_acks = lambda topics=None: iter(list(consumer._acked))
    consumer.on_partitions_assigned = consumer.on_partitions_revoked = None
    order = deliver_in_order(SimpleNamespace(consumer=consumer), lambda tp: True)
    order.assigned = {A, B}
    consumer._acked[A].append(10)  # Faust saw the event: acked for its first partition
    order.done(A, 10)
    order.done(B, 7)  # the same event's run of another partition: no ack of Faust's
    assert sorted(consumer._filter_tps_with_pending_acks()) == sorted([A, B])
    assert consumer._new_offset(B) == 8
    consumer._acked.pop(B, None)  # (Faust's own list: only what it saw acks for)
    order.assigned = {A}  # B revoked: the guard does not offer it for a commit
    assert list(consumer._filter_tps_with_pending_acks()) == [A]


def test_queued_counts_what_was_handed_to_the_stream_and_not_processed() -> None:
    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 50})
    assert order.queued() == 0
    order.fetched[A] = 79  # the run 50..79 is in the stream buffer
    assert order.queued() == 30
    assert run(order, list(range(50, 60))) == list(range(50, 60))
    assert order.queued() == 20
    order.assigned.clear()  # revoked: its runs are not this worker's any more
    assert order.queued() == 0


def test_a_fetch_waits_for_room_but_never_for_ever() -> None:
    """``runs.room``: the next fetch waits while more than the limit is queued, and goes on
    after ``most_s`` however much is counted (a run dropped with the flow counts until the
    sweep seeks its partition back)."""
    from ndxp.router import runs as runs_module

    consumer = FakeConsumer()
    order = tracker(consumer)
    order.on_bases({A: 0})
    order.fetched[A] = 2999  # 3,000 records queued

    async def waits_until_processed() -> None:
        waiting = asyncio.create_task(runs_module.room(order, 2000))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # 3,000 queued: the fetch waits
        order.done(A, 1999)  # the agent processed 2,000: 1,000 left
        await asyncio.wait_for(waiting, 5)

    asyncio.run(waits_until_processed())
    order.fetched[A] = 9999  # counted, and nothing will process it

    async def stuck() -> None:  # returns all the same, after most_s
        await asyncio.wait_for(runs_module.room(order, 2000, most_s=0.1), 5)

    asyncio.run(stuck())


def test_the_last_fetches_bound_what_can_be_queued() -> None:
    """``runs.Recent``: the sum of the last n fetches handed over, so the queue is counted
    only when it could be over its limit."""
    from ndxp.router.runs import Recent

    recent = Recent(3)
    for size in (100, 200, 300):
        recent.add(size)
    assert recent.total == 600
    recent.add(0)  # the first falls out
    assert recent.total == 500
    for _ in range(3):
        recent.add(1)
    assert recent.total == 3
