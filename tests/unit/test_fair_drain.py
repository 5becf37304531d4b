"""``kafka/fair_drain.py``: a poll's records shared between topics and partitions, on
aiokafka's own ``FetchResult`` and subscription state; against aiokafka 0.14's walk, which
gives a partition that holds more than a poll every poll."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.consumer.fetcher import FetchError, FetchResult
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.errors import TopicAuthorizationFailedError
from aiokafka.structs import TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.kafka import fair_drain, fetch_buffer, fetch_plan

FLOOD = TopicPartition("ndxp.in.0100100079", 0)
OTHERS = [TopicPartition(f"ndxp.in.m{i:03d}", p) for i in range(10) for p in range(3)]


class Partition:
    """A partition's fetched records, as aiokafka's ``PartitionRecords`` yields them."""

    def __init__(self, tp: TopicPartition, start: int, count: int) -> None:
        self.tp = tp
        self.next_fetch_offset = start
        self.end = start + count

    def __iter__(self) -> Partition:
        return self

    def __next__(self) -> Any:
        if self.next_fetch_offset >= self.end:
            raise StopIteration
        self.next_fetch_offset += 1
        return SimpleNamespace(tp=self.tp, offset=self.next_fetch_offset - 1)


def fetcher(buffered: dict[TopicPartition, int], errors: tuple[TopicPartition, ...] = ()) -> Any:
    """A fetcher holding ``buffered[tp]`` records for each partition, in that order (then an
    error for each of ``errors``), on a real assignment."""

    async def build() -> Any:
        subscription = SubscriptionState()
        subscription.assign_from_user(set(buffered) | set(errors))
        assignment = subscription.subscription.assignment
        records: dict[TopicPartition, Any] = {}
        for n, (tp, count) in enumerate(buffered.items()):
            assignment.state_value(tp).reset_to(1000 * n)
            records[tp] = FetchResult(
                tp,
                assignment=assignment,
                partition_records=Partition(tp, 1000 * n, count),
                backoff=0,
            )
        for tp in errors:
            assignment.state_value(tp).reset_to(0)
            records[tp] = FetchError(error=TopicAuthorizationFailedError(), backoff=0)
        return SimpleNamespace(
            _records=records,
            _subscriptions=subscription,
            _notify=lambda fut: woken.append(fut),
            _wait_consume_future=None,
            _closed=False,
        )

    woken: list[Any] = []
    loop = asyncio.new_event_loop()
    try:
        f = loop.run_until_complete(build())
    finally:
        loop.close()
    f.woken = woken
    return f


def poll(f: Any, max_records: int, ours: bool = True) -> dict[TopicPartition, list[Any]]:
    walk = fair_drain.fetched_records if ours else fetch_plan.ORIGINAL_FETCHED_RECORDS
    loop = asyncio.new_event_loop()
    try:
        return dict(loop.run_until_complete(walk(f, None, 0, max_records)))
    finally:
        loop.close()


def counts(drained: dict[TopicPartition, list[Any]]) -> dict[TopicPartition, int]:
    return {tp: len(records) for tp, records in drained.items()}


def flood_first() -> dict[TopicPartition, int]:
    return {FLOOD: 65_000, **{tp: 2 for tp in OTHERS}}


def test_aiokafka_gives_a_flood_every_poll() -> None:
    """What this replaces: the partition first in the buffer takes the whole poll."""
    assert counts(poll(fetcher(flood_first()), 1000, ours=False)) == {FLOOD: 1000}


def test_every_member_gets_its_records_in_the_next_poll_beside_a_flood() -> None:
    f = fetcher(flood_first())
    got = counts(poll(f, 1000))
    assert got == {FLOOD: 940, **{tp: 2 for tp in OTHERS}}
    assert list(f._records) == [FLOOD]  # the others drained, left the buffer
    assert len(f.woken) == len(OTHERS)  # and each woke the fetch routine, as aiokafka


def test_topics_share_a_poll_equally_whatever_their_partitions() -> None:
    many = {TopicPartition("ndxp.in.big", p): 10_000 for p in range(9)}
    one = {TopicPartition("ndxp.in.small", 0): 10_000}
    got = counts(poll(fetcher({**many, **one}), 900))
    assert got[TopicPartition("ndxp.in.small", 0)] == 450
    assert sum(got.values()) == 900
    assert all(got[tp] == 50 for tp in many)


def test_records_come_in_offset_order_and_the_position_moves_on() -> None:
    f = fetcher(flood_first())
    first = poll(f, 1000)[FLOOD]
    second = poll(f, 1000)[FLOOD]
    offsets = [r.offset for r in first + second]
    assert offsets == list(range(0, len(offsets)))
    assert f._subscriptions.subscription.assignment.state_value(FLOOD).position == len(offsets)


def test_an_error_is_raised_once_the_records_before_it_are_returned() -> None:
    bad = TopicPartition("ndxp.in.bad", 0)
    f = fetcher({OTHERS[0]: 3}, errors=(bad,))
    assert counts(poll(f, 1000)) == {OTHERS[0]: 3}
    with pytest.raises(TopicAuthorizationFailedError):
        poll(f, 1000)
    assert bad not in f._records


def test_partitions_not_asked_for_are_left_and_unassigned_ones_dropped() -> None:
    f = fetcher({OTHERS[0]: 3, OTHERS[1]: 3})

    async def revoke_then_poll() -> Any:
        f._subscriptions.assign_from_user({OTHERS[1]})  # OTHERS[0] revoked
        return await fair_drain.fetched_records(f, {OTHERS[2]}, 0, 1000)

    loop = asyncio.new_event_loop()
    try:
        got = loop.run_until_complete(revoke_then_poll())
    finally:
        loop.close()
    assert got == {}
    assert list(f._records) == [OTHERS[1]]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=12),
    st.integers(1, 700),
)
def test_same_records_as_aiokafka_in_the_end(sizes: list[int], max_records: int) -> None:
    """Poll after poll, each partition's records all come, once, in order, as aiokafka's;
    no poll returns more than asked, and none returns nothing while records are buffered."""
    buffered = {OTHERS[n]: size for n, size in enumerate(sizes)}
    ours, theirs = fetcher(buffered), fetcher(buffered)
    got: dict[TopicPartition, list[int]] = {}
    want: dict[TopicPartition, list[int]] = {}
    for f, into, fair in ((ours, got, True), (theirs, want, False)):
        while f._records:
            drained = poll(f, max_records, fair)
            assert sum(map(len, drained.values())) <= max_records
            if not drained:
                assert not any(r.has_more() for r in f._records.values())
                break
            for tp, records in drained.items():
                into.setdefault(tp, []).extend(r.offset for r in records)
    assert got == want
    assert {tp: len(v) for tp, v in got.items()} == {tp: n for tp, n in buffered.items() if n}


@pytest.fixture
def no_holds() -> Any:
    fair_drain.release_all()
    yield
    fair_drain.release_all()


def test_a_topic_on_hold_keeps_its_records_buffered_and_the_others_drain(no_holds: Any) -> None:
    """A member whose refusals spent their allowance (core/refusal_allowance.py): its fetched
    records stay in aiokafka's buffer, where they also keep its partition out of the next
    fetch; every other member's records are handed out as before."""
    f = fetcher(flood_first())
    assert fair_drain.hold(FLOOD.topic, time.monotonic() + 60)
    assert counts(poll(f, 1000)) == {tp: 2 for tp in OTHERS}
    assert list(f._records) == [FLOOD]  # still buffered, untouched
    assert poll(f, 1000) == {}
    fair_drain.hold(FLOOD.topic, time.monotonic() - 1)  # an earlier end does not shorten it
    assert poll(f, 1000) == {}
    fair_drain.release_all()
    assert counts(poll(f, 1000)) == {FLOOD: 1000}
    assert [r.offset for r in poll(f, 10)[FLOOD]] == list(range(1000, 1010))  # in order


def test_a_hold_ends_by_itself_and_is_forgotten(no_holds: Any) -> None:
    now = time.monotonic()
    assert fair_drain.hold("ndxp.in.a", now + 0.05)
    assert not fair_drain.hold("ndxp.in.a", now + 0.01)  # already held longer
    assert not fair_drain.hold("ndxp.in.a", now + 0.06)  # lengthened, not a new hold
    assert fair_drain.holds(now) == {"ndxp.in.a": now + 0.06}
    assert fair_drain.holds(now + 0.06) == {}
    assert fair_drain.hold("ndxp.in.a", now + 1)  # held again after it ended: a new hold


def test_an_error_of_a_held_topic_waits_for_the_hold_too(no_holds: Any) -> None:
    bad = TopicPartition("ndxp.in.bad", 0)
    f = fetcher({OTHERS[0]: 3}, errors=(bad,))
    fair_drain.hold(bad.topic, time.monotonic() + 60)
    assert counts(poll(f, 1000)) == {OTHERS[0]: 3}
    assert poll(f, 1000) == {}
    fair_drain.release_all()
    with pytest.raises(TopicAuthorizationFailedError):
        poll(f, 1000)


def test_a_poll_waiting_for_a_fetch_takes_a_held_topics_records_when_the_hold_ends(
    no_holds: Any,
) -> None:
    """Not after the whole wait: a poll with nothing else to hand out waits (for a fetch that
    never lands here) only until the hold ends, then returns the held topic's records. A poll
    that waited its whole timeout would return nothing."""
    f = fetcher({FLOOD: 10})
    waiters: list[asyncio.Future[Any]] = []

    def waiter() -> asyncio.Future[Any]:
        waiters.append(asyncio.get_running_loop().create_future())
        return waiters[-1]

    f._create_fetch_waiter = waiter
    fair_drain.hold(FLOOD.topic, time.monotonic() + 0.1)
    loop = asyncio.new_event_loop()
    try:
        got = loop.run_until_complete(fair_drain.fetched_records(f, None, 60.0, 1000))
    finally:
        loop.close()
    assert counts(got) == {FLOOD: 10}
    assert waiters, "held records were handed out before the hold ended"
    assert all(w.cancelled() for w in waiters)  # none left waiting


def test_a_held_topics_buffered_records_do_not_count_against_the_fetch_buffer(
    no_holds: Any,
) -> None:
    """The consumer's buffer budget (kafka/fetch_buffer.py) stops fetching while what it holds
    adds up to the budget. A held topic's records cannot be taken before the hold ends, so,
    as a paused partition's, they must not stop the others being fetched."""
    f = fetcher(flood_first())
    for result in f._records.values():  # each partition's fetch: 256 KiB
        result._partition_records._records = SimpleNamespace(size_in_bytes=lambda: 256 * 1024)
    assignment = f._subscriptions.subscription.assignment
    everything = fetch_buffer.buffered_bytes(f, assignment)
    assert everything == (1 + len(OTHERS)) * 256 * 1024
    fair_drain.hold(FLOOD.topic, time.monotonic() + 60)
    assert fetch_buffer.buffered_bytes(f, assignment) == everything - 256 * 1024
    fair_drain.hold(OTHERS[0].topic, time.monotonic() + 60)  # a topic of 3 partitions
    assert fetch_buffer.buffered_bytes(f, assignment) == everything - 4 * 256 * 1024


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=12),
    st.integers(1, 700),
    st.lists(st.sets(st.integers(0, 11)), max_size=30),
)
def test_holds_never_lose_reorder_or_repeat_a_record(
    sizes: list[int], max_records: int, held_at: list[set[int]]
) -> None:
    """Poll after poll with some topics on hold (another set each poll), then none: every
    partition's records all come, once, in order, and none of a topic while it is held."""
    fair_drain.release_all()
    buffered = {OTHERS[n]: size for n, size in enumerate(sizes)}
    f = fetcher(buffered)
    got: dict[TopicPartition, list[int]] = {}
    try:
        for held in [*held_at, set()]:
            fair_drain.release_all()
            topics = {OTHERS[n].topic for n in held if n < len(sizes)}
            for topic in topics:
                fair_drain.hold(topic, time.monotonic() + 60)
            for _ in range(2 if held else 10_000):
                drained = poll(f, max_records)
                if not drained:
                    break
                assert not {tp.topic for tp in drained} & topics
                for tp, records in drained.items():
                    got.setdefault(tp, []).extend(r.offset for r in records)
    finally:
        fair_drain.release_all()
    want = {
        tp: list(range(1000 * n, 1000 * n + size))
        for n, (tp, size) in enumerate(buffered.items())
        if size
    }
    assert got == want
