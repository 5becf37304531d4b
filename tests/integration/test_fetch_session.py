"""Incremental fetch sessions against the real broker: an aiokafka consumer with
:func:`ndxp.kafka.fetch_session.install` gets every record once, in order, through full and
incremental fetches — while partitions are paused and resumed (forgotten, then added again),
after a seek back, after a change of assignment, and after the broker refuses its session."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ndxp.core.fetch_session import FetchSession
from ndxp.kafka import fetch_buffer, fetch_plan, fetch_session, fetch_state
from ndxp.kafka.fetch_session import SessionHolder

from .conftest import Broker
from .kafka_tools import producer

pytestmark = pytest.mark.integration

PARTITIONS = 40


@pytest.fixture
def sessions() -> Iterator[None]:
    fetch_session.install()
    try:
        yield
    finally:
        fetch_session.uninstall()


def produce(bootstrap: str, topic: str, per_partition: int, tag: str) -> None:
    p = producer(bootstrap)
    for i in range(per_partition):
        for part in range(PARTITIONS):
            p.produce(topic, f"{tag}-{part}-{i}".encode(), partition=part)
    assert p.flush(30) == 0


async def create(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


async def read(
    consumer: AIOKafkaConsumer, count: int, timeout_s: float = 30
) -> list[tuple[int, int, bytes]]:
    got: list[tuple[int, int, bytes]] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < count and asyncio.get_running_loop().time() < deadline:
        for tp, records in (await consumer.getmany(timeout_ms=200)).items():
            got += [(tp.partition, r.offset, r.value) for r in records]
    await asyncio.sleep(0.3)  # anything more would come now
    for tp, records in (await consumer.getmany(timeout_ms=200)).items():
        got += [(tp.partition, r.offset, r.value) for r in records]
    return got


def in_order_once(got: list[tuple[int, int, bytes]]) -> bool:
    by_partition: dict[int, list[int]] = {}
    for partition, offset, _ in got:
        by_partition.setdefault(partition, []).append(offset)
    return all(offs == list(range(offs[0], offs[0] + len(offs))) for offs in by_partition.values())


def holder(consumer: AIOKafkaConsumer) -> SessionHolder:
    h = consumer._fetcher._ndxp_sessions
    assert isinstance(h, SessionHolder)
    return h


def test_every_record_once_in_order_through_incremental_fetches(
    kafka: Broker, sessions: None
) -> None:
    async def run() -> None:
        topic = f"fs-{uuid.uuid4().hex[:8]}"
        await create(kafka.bootstrap, topic)
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=4096,
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            produce(kafka.bootstrap, topic, 50, "a")
            got = await read(consumer, 50 * PARTITIONS)
            assert len(got) == 50 * PARTITIONS and in_order_once(got)
            h = holder(consumer)
            node = next(iter(h.by_node))
            assert h.by_node[node].id != 0  # the broker opened a session
            assert h.stats.full >= 1 and h.stats.dropped == 0

            # paused partitions are forgotten by the broker; resumed, they come back
            paused = tps[: PARTITIONS // 2]
            consumer.pause(*paused)
            produce(kafka.bootstrap, topic, 10, "b")
            got = await read(consumer, 10 * (PARTITIONS // 2))
            assert {p for p, _, _ in got} == set(range(PARTITIONS // 2, PARTITIONS))
            assert len(got) == 10 * (PARTITIONS // 2)
            consumer.resume(*paused)
            got = await read(consumer, 10 * (PARTITIONS // 2))
            assert {p for p, _, _ in got} == set(range(PARTITIONS // 2))
            assert len(got) == 10 * (PARTITIONS // 2) and in_order_once(got)
            assert next(v for p, _, v in got if p == 0) == b"b-0-0"
            assert h.stats.incremental > h.stats.full  # the session was used

            # a seek back is sent to the broker: the partition is read again from there
            consumer.seek(tps[3], 0)
            got = await read(consumer, 60)
            assert [o for p, o, _ in got if p == 3] == list(range(60))
            assert all(p == 3 for p, _, _ in got)

            # the broker forgets a session it is asked about out of turn: a full fetch opens
            # a new one and nothing is lost
            consumer.pause(*tps)  # no fetch in flight to move the session on meanwhile
            for _ in range(100):  # the one in flight may be a long poll (500 ms)
                await asyncio.sleep(0.05)
                if not consumer._fetcher._in_flight:
                    break
            assert not consumer._fetcher._in_flight
            stale = h.by_node[node]
            h.by_node[node] = FetchSession(stale.id, stale.epoch + 5, stale.held)
            consumer.resume(*tps)
            produce(kafka.bootstrap, topic, 5, "c")
            got = await read(consumer, 5 * PARTITIONS)
            assert len(got) == 5 * PARTITIONS and in_order_once(got)
            assert h.stats.dropped >= 1 and h.by_node[node].id not in (0, stale.id)

            # a new assignment (read from the start again: no committed offsets): the
            # partitions no longer read are forgotten, none lost
            consumer.assign(tps[:5])
            produce(kafka.bootstrap, topic, 5, "d")
            got = await read(consumer, 5 * 70)
            assert sorted({p for p, _, _ in got}) == [0, 1, 2, 3, 4]
            assert len(got) == 5 * 70 and in_order_once(got)  # a 50, b 10, c 5, d 5 each
            assert set(h.by_node[node].held) == {(topic, p) for p in range(5)}
        finally:
            await consumer.stop()

    asyncio.run(run())


def test_a_consumer_holds_no_more_than_its_buffer_budget(kafka: Broker) -> None:
    """Not consuming, a consumer with a budget stops fetching once it holds it (at most one
    fetch more); without one it fetches a partition fetch's worth for every partition. Then
    every record is read once, in order, and partitions the consumer paused do not count
    against the budget (the others are still fetched)."""
    budget = 64 * 1024

    async def buffered_after(topic: str, with_budget: bool) -> tuple[int, AIOKafkaConsumer]:
        fetch_session.install(buffer_budget=budget if with_budget else None)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=16 * 1024,
            fetch_max_bytes=budget,
        )
        await consumer.start()
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await asyncio.sleep(2.0)  # twenty fetch rounds and more, nothing consumed
        fetcher = consumer._fetcher
        return fetch_buffer.buffered_bytes(
            fetcher, fetcher._subscriptions.subscription.assignment
        ), consumer

    async def run() -> None:
        topic = f"fb-{uuid.uuid4().hex[:8]}"
        await create(kafka.bootstrap, topic)
        p = producer(kafka.bootstrap)
        for i in range(40):  # 40 KB a partition
            for part in range(PARTITIONS):
                p.produce(topic, f"{part}-{i}-".encode().ljust(1000, b"x"), partition=part)
        assert p.flush(30) == 0

        unbounded, consumer = await buffered_after(topic, with_budget=False)
        await consumer.stop()
        assert unbounded > 10 * budget  # ~16 KiB for each of 40 partitions

        held, consumer = await buffered_after(topic, with_budget=True)
        try:
            assert budget <= held <= 2 * budget  # the budget, and at most one fetch more
            assert holder(consumer).stats.held_back > 0
            got = await read(consumer, 40 * PARTITIONS)
            assert len(got) == 40 * PARTITIONS and in_order_once(got)
        finally:
            await consumer.stop()

        # paused partitions' records do not hold back the others
        _, consumer = await buffered_after(topic, with_budget=True)
        try:
            fetcher = consumer._fetcher
            full = set(fetcher._records)
            consumer.pause(*full)
            await asyncio.sleep(1.0)
            assert set(fetcher._records) - full  # partitions not paused were fetched
            got = await read(consumer, 40 * (PARTITIONS - len(full)))
            assert {p for p, _, _ in got} == set(range(PARTITIONS)) - {tp.partition for tp in full}
        finally:
            await consumer.stop()

    try:
        asyncio.run(run())
    finally:
        fetch_session.uninstall()


def test_records_are_handed_over_before_the_next_fetch_is_planned(
    kafka: Broker, sessions: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One record at a time, each read before the next is sent (a quiet platform's round
    trips): each answer is planned after once, when its record has been taken. aiokafka plans
    right after the answer, while the record is still buffered, sends nothing (it waits for
    the record to be taken), then plans again: two plans of every partition per record."""
    plans = 0
    planner = fetch_session.fetch_plan.actions  # the plan in use (one pass, as aiokafka's)

    def counted(fetcher: object, assignment: object, idle_wait_ms: int = 0) -> object:
        nonlocal plans
        plans += 1
        return planner(fetcher, assignment, idle_wait_ms)

    monkeypatch.setattr(fetch_session.fetch_plan, "actions", counted)

    async def run() -> None:
        # no fetch comes back empty while a record is awaited
        topic, consumer = await reading_every_partition(kafka.bootstrap, fetch_max_wait_ms=5000)
        p = producer(kafka.bootstrap)
        try:
            nonlocal plans
            plans, records = 0, 30
            for i in range(records):
                p.produce(topic, f"r{i}".encode(), partition=i % PARTITIONS)
                assert p.flush(10) == 0
                got = await read_one(consumer)
                assert got == f"r{i}".encode()
            handed = holder(consumer).stats.handed_over
            # one plan a record (the first may come in a fetch planned before the count)
            assert records - 3 <= plans <= records + 3, f"{plans} plans for {records} records"
            assert handed >= records - 3
        finally:
            await consumer.stop()

    asyncio.run(run())


async def reading_every_partition(
    bootstrap: str, fetch_max_wait_ms: int
) -> tuple[str, AIOKafkaConsumer]:
    """A new topic and a started consumer assigned all its partitions, positions found and its
    first fetch answered (a topic just created may have no leader for a moment)."""
    topic = f"fs-{uuid.uuid4().hex[:8]}"
    await create(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, n) for n in range(PARTITIONS)])
    for _ in range(50):
        await consumer.getmany(timeout_ms=200)
        sessions = getattr(consumer._fetcher, "_ndxp_sessions", None)
        if sessions is not None and sessions.stats.full:
            break
    return topic, consumer


async def read_one(consumer: AIOKafkaConsumer) -> bytes | None:
    for _ in range(50):
        for records in (await consumer.getmany(timeout_ms=200)).values():
            assert len(records) == 1
            return records[0].value
    return None


@pytest.fixture(params=[0, 500])
def idle_wait_ms(request: pytest.FixtureRequest) -> Iterator[int]:
    """ndxp's fetches with this idle wait (0: every fetch at the consumer's own wait)."""
    fetch_session.install(idle_wait_ms=request.param)
    try:
        yield request.param
    finally:
        fetch_session.uninstall()


def test_a_quiet_consumer_long_polls_and_still_gets_each_record(
    kafka: Broker, idle_wait_ms: int
) -> None:
    """With nothing held back, a fetch waits the idle wait (500 ms) instead of the consumer's
    own 20 ms: a quiet consumer of 40 partitions sends a few fetches a second instead of fifty,
    and each record sent meanwhile still comes (the broker answers the long poll with it)."""

    async def run() -> None:
        topic, consumer = await reading_every_partition(kafka.bootstrap, fetch_max_wait_ms=20)
        p = producer(kafka.bootstrap)
        try:
            stats = holder(consumer).stats
            before = stats.full + stats.incremental
            await asyncio.sleep(3)  # quiet
            fetches = stats.full + stats.incremental - before
            if idle_wait_ms:
                assert fetches <= 10, f"{fetches} fetches in 3 s"
            else:
                assert fetches >= 50, f"{fetches} fetches in 3 s"
            for i in range(5):
                p.produce(topic, f"q{i}".encode(), partition=(7 * i) % PARTITIONS)
                assert p.flush(10) == 0
                assert await read_one(consumer) == f"q{i}".encode()
        finally:
            await consumer.stop()

    asyncio.run(run())


def test_a_recovered_changelog_does_not_keep_a_consumer_off_its_long_poll(
    kafka: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Faust worker reads its tables' changelogs at takeover, then asks only for its
    streams; the changelog's last fetched records stay in aiokafka's buffer. Declared read
    for recovery (as the router declares its quota table's), they no longer keep every fetch
    at the consumer's short wait once it stops asking for them; while it asks, they do."""
    fetch_session.install(idle_wait_ms=500)

    async def run() -> None:
        topic, consumer = await reading_every_partition(kafka.bootstrap, fetch_max_wait_ms=20)
        changelog = TopicPartition(topic, 0)  # stands in for a changelog partition
        streams = {TopicPartition(topic, n) for n in range(1, PARTITIONS)}
        p = producer(kafka.bootstrap)
        try:
            stats = holder(consumer).stats

            async def fetches_while_quiet() -> int:
                before = stats.full + stats.incremental
                end = asyncio.get_running_loop().time() + 3
                while asyncio.get_running_loop().time() < end:
                    await consumer.getmany(*streams, timeout_ms=200)  # the streams only
                return stats.full + stats.incremental - before

            p.produce(topic, b"state", partition=0)
            assert p.flush(10) == 0
            await fetches_while_quiet()  # the changelog's record is fetched and kept
            assert changelog in consumer._fetcher._records
            undeclared = await fetches_while_quiet()
            monkeypatch.setattr(fetch_plan, "_recovery_only", frozenset({topic}))
            declared = await fetches_while_quiet()
            assert undeclared >= 50, f"{undeclared} fetches in 3 s, the changelog not declared"
            assert declared <= 10, f"{declared} fetches in 3 s, the changelog declared"
            p.produce(topic, b"call", partition=5)  # a stream's record still comes at once
            assert p.flush(10) == 0
            got = await consumer.getmany(*streams, timeout_ms=2000)
            assert [r.value for rs in got.values() for r in rs] == [b"call"]
            recovering = await consumer.getmany(changelog, timeout_ms=2000)  # asked: taken
            assert [r.value for rs in recovering.values() for r in rs] == [b"state"]
        finally:
            await consumer.stop()
            fetch_session.uninstall()

    asyncio.run(run())


def test_a_fetch_routine_that_ended_is_told_with_where_the_consumer_stood(
    kafka: Broker, sessions: None
) -> None:
    """aiokafka never looks at its fetch task again: once it ends with an error, the consumer
    is up and every getmany returns nothing. :func:`fetch_state.routine_failure` tells (the
    router exits on it), and :func:`fetch_state.describe` says where each partition stood."""

    async def run() -> None:
        topic, consumer = await reading_every_partition(kafka.bootstrap, fetch_max_wait_ms=20)
        tp = TopicPartition(topic, 3)
        try:
            assert fetch_state.routine_failure(consumer) is None
            running = fetch_state.describe(consumer, [tp])
            assert running["routine"] == "running"
            assert running["partitions"][f"{topic}/3"]["position"] == 0
            assert running["partitions"][f"{topic}/3"]["in_session"][1:] == (0, 1024 * 1024)

            def broken(assignment: object) -> None:
                raise RuntimeError("planning failed")

            consumer._fetcher._get_actions_per_node = broken  # the next plan ends the routine
            p = producer(kafka.bootstrap)
            p.produce(topic, b"after", partition=3)
            assert p.flush(10) == 0
            for _ in range(50):
                if fetch_state.routine_failure(consumer) is not None:
                    break
                await asyncio.sleep(0.1)
            failure = fetch_state.routine_failure(consumer)
            assert failure is not None and "KafkaError" in failure, failure
            assert fetch_state.describe(consumer, [tp])["routine"] == failure
            # a fetch already in flight when the planner broke may have brought "after"
            # (seen once in make test): take it, then nothing more is ever fetched
            await consumer.getmany(timeout_ms=100)
            p.produce(topic, b"later", partition=3)
            assert p.flush(10) == 0
            assert await consumer.getmany(timeout_ms=500) == {}  # up, and reading nothing
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
        assert fetch_state.routine_failure(consumer) is None  # closed: not a failure

    asyncio.run(run())
