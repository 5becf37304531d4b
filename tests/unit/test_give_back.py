"""Records of a table's changelog taken from aiokafka and not delivered are sought back, unless
the partition moved since; the agents' partitions are left to the in-order guard. And Faust's
consumer thread drains what Faust asked for when it asked (a copy of its active set)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka.structs import TopicPartition
from faust.types import TP

from ndxp.router.faust_fixes import fetch_as_asked
from ndxp.router.in_order import seek_unmoved, unread

CHANGELOG, INGRESS = TP("quota-changelog", 1), TP("ndxp.in.000.00.00.H85", 1)


def records(tp: TP, *offsets: int) -> list[Any]:
    return [SimpleNamespace(offset=o) for o in offsets]


def test_only_the_changelogs_records_are_given_back() -> None:
    taken = {
        CHANGELOG: records(CHANGELOG, 0, 1, 2),
        INGRESS: records(INGRESS, 3000, 3001),
        TP("x", 0): [],
    }
    assert unread(taken, lambda tp: tp.topic.startswith("ndxp.in.")) == {CHANGELOG: (0, 3)}


class Aio:
    """aiokafka's consumer as seek_unmoved reads it: positions, and seek."""

    def __init__(self, positions: dict[TopicPartition, int]) -> None:
        states = {tp: SimpleNamespace(_position=p) for tp, p in positions.items()}
        assignment = SimpleNamespace(state_value=states.get)
        self._subscription = SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))
        self.sought: dict[Any, int] = {}

    def seek(self, tp: Any, offset: int) -> None:
        self.sought[tp] = offset


def test_a_partition_still_after_what_was_taken_is_sought_back_to_its_first() -> None:
    aio = Aio({TopicPartition("quota-changelog", 1): 3})
    assert seek_unmoved(aio, {CHANGELOG: (0, 3)}) == [CHANGELOG]
    assert aio.sought == {CHANGELOG: 0}


def test_a_partition_that_moved_since_is_left_where_it_is() -> None:
    aio = Aio({TopicPartition("quota-changelog", 1): 0})  # the recovery sought it to 0 meanwhile
    assert seek_unmoved(aio, {CHANGELOG: (5, 8)}) == []
    gone = Aio({})  # revoked
    assert seek_unmoved(gone, {CHANGELOG: (0, 3)}) == []
    assert aio.sought == gone.sought == {}


def test_the_consumer_thread_gets_a_copy_of_the_partitions_faust_asked_for() -> None:
    asked: list[Any] = []

    async def getmany(active_partitions: Any, timeout: float) -> dict[Any, Any]:
        asked.append(active_partitions)
        return {}

    consumer = SimpleNamespace(_thread=SimpleNamespace(getmany=getmany))
    fetch_as_asked(SimpleNamespace(consumer=consumer))
    active = {CHANGELOG}
    asyncio.run(consumer._getmany(active, 1.0))
    active.clear()  # Faust pauses everything at a rebalance: the call keeps what was asked
    assert asked == [frozenset({CHANGELOG})]
    assert asked[0] is not active
    asyncio.run(consumer._getmany(None, 1.0))
    assert asked[1] is None
