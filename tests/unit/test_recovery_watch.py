"""The router's watch: a worker whose fetching ended, or whose table recovery read nothing of
a partition it needs for too long, exits (so its supervisor starts it again); a recovery
that reads, a finished one, or a stopping app, do not end it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from ndxp.core.fetch_session import FetchSession
from ndxp.kafka.fetch_session import SessionHolder
from ndxp.router import recovery_watch


class Exits:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


class Aio:
    """The aiokafka consumer as the watch uses it: its fetcher's sessions, and seek."""

    def __init__(self) -> None:
        self._fetcher = SimpleNamespace(
            _ndxp_sessions=SessionHolder(),
            _closed=False,
            _fetch_task=SimpleNamespace(done=lambda: False),
            _records={},
            _in_flight=set(),
            _fetch_waiters=set(),
        )
        self._subscription = SimpleNamespace(subscription=None)  # between assignments
        self._fetcher._ndxp_sessions.by_node[1] = FetchSession(
            7, 3, {("quota-changelog", 1): (0, 9)}
        )
        self.sought: dict[Any, int] = {}

    def seek(self, tp: Any, offset: int) -> None:
        self.sought[tp] = offset


class Thread:
    """Faust's consumer thread: runs what it is given (here, at once)."""

    def __init__(self) -> None:
        self._consumer = Aio()

    def _ensure_consumer(self) -> Aio:
        return self._consumer

    async def call_thread(self, fun: Any, *args: Any) -> Any:
        return await fun(*args)


def app_in_recovery(
    started_ago: float, received_ago: dict[Any, float], remaining: dict[Any, int]
) -> Any:
    now = time.monotonic()
    recovery = SimpleNamespace(
        in_recovery=True,
        _recovery_started_at=now - started_ago,
        _active_events_received_at={tp: now - ago for tp, ago in received_ago.items()},
        active_remaining=lambda: remaining,
        active_offsets=Counter({tp: -1 for tp in remaining}),
    )
    thread = Thread()
    return SimpleNamespace(
        should_stop=False,
        tables=SimpleNamespace(recovery=recovery),
        _consumer=SimpleNamespace(_thread=thread),
        consumer=SimpleNamespace(_thread=thread),
    )


def check(app: Any, exits: Exits, nudged: recovery_watch.Nudged | None = None) -> None:
    asyncio.run(
        recovery_watch.check_recovery(app, 30, 120, exits, nudged or recovery_watch.Nudged())
    )


P0, P1 = TP("quota-changelog", 0), TP("quota-changelog", 1)


def test_a_recovery_that_read_nothing_for_the_give_up_time_ends_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exits = Exits()
    app = app_in_recovery(150, {}, {P1: 12, P0: 0})
    with caplog.at_level(logging.ERROR, "ndxp.router.recovery"):
        check(app, exits)
    assert exits.calls == 1
    stalled = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "read nothing of 1 partition(s)" in stalled[0]
    # where the consumer stood with it is in the line
    assert '"quota-changelog/1":{"assigned":false' in stalled[0]
    assert '"in_session":[1,0,9]' in stalled[0]


def test_a_stalled_partition_is_fetched_again_once_per_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exits, nudged = Exits(), recovery_watch.Nudged()
    app = app_in_recovery(60, {}, {P1: 3, P0: 0})
    aio = app.consumer._thread._consumer
    with caplog.at_level(logging.WARNING, "ndxp.router.recovery"):
        check(app, exits, nudged)
    assert exits.calls == 0
    assert aio.sought == {P1: 0}  # where Faust's recovery sought it (offset -1: from 0)
    assert aio._fetcher._ndxp_sessions.by_node == {}  # the next fetch is a full one
    assert any("fetching quota-changelog/1 again from 0" in r.getMessage() for r in caplog.records)
    aio.sought.clear()
    check(app, exits, nudged)  # the same recovery: logged again, not fetched again
    assert aio.sought == {}
    app.tables.recovery._recovery_started_at -= 1  # a recovery started anew
    check(app, exits, nudged)
    assert aio.sought == {P1: 0}


def test_a_recovery_still_reading_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    exits = Exits()
    app = app_in_recovery(600, {P1: 2.0}, {P1: 3})
    with caplog.at_level(logging.WARNING, "ndxp.router.recovery"):
        check(app, exits)
    assert exits.calls == 0
    assert not caplog.records
    assert app.consumer._thread._consumer.sought == {}


def test_no_recovery_or_a_stopping_app_is_left_alone() -> None:
    exits = Exits()
    done = app_in_recovery(600, {}, {P1: 3})
    done.tables.recovery.in_recovery = False
    check(done, exits)
    stopping = app_in_recovery(600, {}, {P1: 3})
    stopping.should_stop = True
    check(stopping, exits)
    assert exits.calls == 0


def consumer_with_routine(task: Any, closed: bool = False) -> Any:
    fetcher = SimpleNamespace(_fetch_task=task, _closed=closed)
    aio = SimpleNamespace(_fetcher=fetcher)
    return SimpleNamespace(
        should_stop=False,
        _fetcher=SimpleNamespace(crashed=False),
        _consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=aio)),
    )


def test_a_fetch_routine_that_ended_with_an_error_ends_the_worker() -> None:
    async def fails() -> None:
        raise KeyError("partition")

    async def runs() -> None:
        await asyncio.sleep(10)

    async def main() -> tuple[int, int, int]:
        failed = asyncio.create_task(fails())
        running = asyncio.create_task(runs())
        await asyncio.sleep(0.01)
        counts = []
        for app in (
            consumer_with_routine(failed),
            consumer_with_routine(running),
            consumer_with_routine(failed, closed=True),  # the consumer was closed: not a failure
        ):
            exits = Exits()
            recovery_watch.check_fetching(app, exits)
            counts.append(exits.calls)
        running.cancel()
        return counts[0], counts[1], counts[2]

    assert asyncio.run(main()) == (1, 0, 0)


def test_a_crashed_faust_fetcher_ends_the_worker() -> None:
    exits = Exits()
    app = consumer_with_routine(None)
    app._fetcher.crashed = True
    recovery_watch.check_fetching(app, exits)
    assert exits.calls == 1
