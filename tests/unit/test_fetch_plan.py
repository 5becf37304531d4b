"""``kafka/fetch_plan.py``: the next fetch planned in one pass decides every partition as
aiokafka 0.14's ``Fetcher._get_actions_per_node`` does, on real subscription state (the
order of the partitions in a request aside: both start it at a random one)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.structs import TopicPartition

from ndxp.bench.fetch_plan import consumer_state
from ndxp.kafka import fair_drain, fetch_plan

TOPICS = [f"ndxp.in.m{i:03d}" for i in range(40)]
TPS = [TopicPartition(t, p) for t in TOPICS for p in range(3)]


class Buffered:
    """A partition's fetched records not yet taken, as the fetcher's ``_records`` holds."""

    def __init__(self, backoff: float) -> None:
        self.backoff = backoff

    def calculate_backoff(self) -> float:
        return self.backoff


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def assignment_of(leaders: dict[TopicPartition, int | None] | None = None) -> Any:
    return consumer_state(TPS, leaders)[1]


def fetcher(leaders: dict[TopicPartition, int | None]) -> Any:
    return consumer_state(TPS, leaders)[0]


def decided(actions: Any) -> Any:
    """What a plan decided, with each request's partitions in one order."""
    requests, awaiting_reset, backoff, invalid, resume = actions
    return (
        sorted(
            (
                node,
                req._max_wait_ms,
                req._min_bytes,
                req._max_bytes,
                sorted((t, p) for t, parts in req.topics for p in parts),
            )
            for node, req in requests
        ),
        {node: sorted(tps) for node, tps in awaiting_reset.items()},
        backoff,
        invalid,
        sorted(id(f) for f in resume),
    )


def both(f: Any, assignment: Any) -> tuple[Any, Any]:
    ours = fetch_plan.actions(f, assignment)
    theirs = fetch_plan.ORIGINAL(f, assignment)
    return decided(ours), decided(theirs)


def two_brokers() -> dict[TopicPartition, int | None]:
    return {tp: 1 + n % 2 for n, tp in enumerate(TPS)}


def test_every_partition_fetched_from_its_leader(loop: asyncio.AbstractEventLoop) -> None:
    ours, theirs = both(fetcher(two_brokers()), assignment_of())
    assert ours == theirs
    assert [node for node, *_ in ours[0]] == [1, 2]
    assert sum(len(parts) for *_, parts in ours[0]) == len(TPS)


def test_buffered_in_flight_reset_paused_and_unknown_partitions(
    loop: asyncio.AbstractEventLoop,
) -> None:
    assignment = assignment_of()
    leaders = two_brokers()
    leaders[TPS[5]] = None  # a topic's partition the metadata does not know
    leaders[TPS[7]] = -1  # no leader now
    f = fetcher(leaders)
    f._records = {TPS[0]: Buffered(0), TPS[2]: Buffered(0.05)}  # node 1 waits on a backoff

    async def pause_and_reset() -> None:  # both make futures: in the loop, as in aiokafka
        assignment.state_value(TPS[3]).pause()
        assignment.state_value(TPS[9]).await_reset(1)  # no valid position: a reset first

    loop.run_until_complete(pause_and_reset())
    ours, theirs = both(f, assignment)
    assert ours == theirs
    requests, awaiting_reset, backoff, invalid, resume = ours
    assert requests == []  # node 1 waits out a buffered backoff, node 2 a reset
    assert awaiting_reset == {2: [TPS[9]]} and backoff == 0.05 and invalid is True
    assert len(resume) == 1
    f._records = {}
    f._in_flight = {2}  # nothing of node 2's is planned, not even its reset
    ours, theirs = both(f, assignment)
    assert ours == theirs
    assert [node for node, *_ in ours[0]] == [1] and ours[1] == {}


def test_a_preferred_read_replica_is_aiokafkas_to_plan(loop: asyncio.AbstractEventLoop) -> None:
    f = fetcher(two_brokers())
    f._client.cluster.broker_metadata = lambda node_id: object()
    f._preferred_read_replica = {TPS[0]: (3, float("inf"))}
    ours, theirs = both(f, assignment_of())
    assert ours == theirs
    assert [node for node, *_ in ours[0]] == [1, 2, 3]


def waits(actions: Any) -> dict[int, int]:
    return {node: req._max_wait_ms for node, req in actions[0]}


def test_a_fetch_that_holds_nothing_back_waits_long(loop: asyncio.AbstractEventLoop) -> None:
    """A long poll holds back no partition when the fetch leaves none out: the broker answers
    it at the first record of any. One that leaves a partition out (records not yet taken,
    paused) keeps the consumer's short wait, so that partition is fetched again soon."""
    f = fetcher(two_brokers())  # the consumer's own wait: 20 ms
    assignment = assignment_of()
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 500, 2: 500}
    assert waits(fetch_plan.actions(f, assignment, 0)) == {1: 20, 2: 20}  # as aiokafka
    assert waits(fetch_plan.actions(f, assignment, 5)) == {1: 20, 2: 20}  # never shorter
    f._records = {TPS[0]: Buffered(0)}  # node 1's partition: records the consumer has not taken
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}
    f._records = {}

    async def pause() -> None:
        assignment.state_value(TPS[1]).pause()  # node 2's

    loop.run_until_complete(pause())
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 500, 2: 20}


def test_records_of_a_topic_on_hold_do_not_keep_the_wait_short(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """A member's topic on hold (its refusals spent their allowance) has its records kept in
    the buffer until the hold ends, whatever the fetch in flight: they leave its partition out
    of the fetch (aiokafka's decision) but do not cut every other partition's long poll short."""
    f = fetcher(two_brokers())
    assignment = assignment_of()
    f._records = {TPS[0]: Buffered(0)}  # node 1's
    try:
        fair_drain.hold(TPS[0].topic, time.monotonic() + 60)
        assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 500, 2: 500}
        ours, theirs = both(f, assignment)
        assert ours[0] == theirs[0]  # still left out of the fetch
        fetch_plan.share_fairly(False)  # aiokafka's walk takes them at once: no hold
        assert not fetch_plan.shares_fairly()
        assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}
        fetch_plan.share_fairly(True)
        fair_drain.release_all()
        assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}
    finally:
        fetch_plan.share_fairly(True)
        fair_drain.release_all()


def test_no_long_poll_while_a_partition_has_no_leader(loop: asyncio.AbstractEventLoop) -> None:
    leaders = two_brokers()
    leaders[TPS[4]] = -1  # an election: fetched once the metadata names the new leader
    actions = fetch_plan.actions(fetcher(leaders), assignment_of(), 500)
    assert actions[3] is True and waits(actions) == {1: 20, 2: 20}


def test_records_of_a_recovered_changelog_do_not_keep_the_wait_short(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Faust worker's table changelog is read at takeover, then no longer asked for; its
    last fetched records stay buffered. They hold the wait short while the consumer asks for
    that partition (recovery), and not once it asks only for others."""
    f = fetcher(two_brokers())
    assignment = assignment_of()
    changelog = TPS[0]  # node 1's
    f._records = {changelog: Buffered(0)}
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}  # not declared
    monkeypatch.setattr(fetch_plan, "_recovery_only", frozenset({changelog.topic}))
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}  # nothing asked yet
    f._ndxp_asked = set(TPS)  # recovering: the consumer asks for the changelog too
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}
    f._ndxp_asked = set(TPS) - {changelog}  # recovered: it asks for its streams only
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 500, 2: 500}
    f._records = {changelog: Buffered(0), TPS[2]: Buffered(0)}  # a stream's records still held
    assert waits(fetch_plan.actions(f, assignment, 500)) == {1: 20, 2: 500}
    # what is fetched is aiokafka's decision either way: a buffered partition is left out
    monkeypatch.setattr(fetch_plan, "_recovery_only", frozenset())
    ours, theirs = both(f, assignment)
    assert ours[0] == theirs[0]


def test_fetched_records_remembers_what_the_consumer_asked_for(
    loop: asyncio.AbstractEventLoop,
) -> None:
    f = fetcher(two_brokers())
    f._records = {}
    f._subscriptions = type("S", (), {"reassignment_in_progress": False})()
    asked = {TPS[1], TPS[2]}
    got = loop.run_until_complete(fetch_plan.fetched_records(f, asked, timeout=0))
    assert got == {} and f._ndxp_asked is asked
    assert fetch_plan.held(TPS[1], asked, frozenset({TPS[1].topic}))
    assert not fetch_plan.held(TPS[0], asked, frozenset({TPS[0].topic}))
    assert fetch_plan.held(TPS[0], asked, frozenset())  # not a recovery topic
    assert fetch_plan.held(TPS[0], (), frozenset({TPS[0].topic}))  # nothing asked: all
    assert not fetch_plan.held(TPS[1], asked, frozenset(), {TPS[1].topic: 1.0})  # on hold
