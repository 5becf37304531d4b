"""The router's watch: a worker whose fetching ended, or whose table recovery read nothing of
a partition it needs for too long, exits (so its supervisor starts it again); a recovery
that reads, a finished one, or a stopping app, do not end it."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace
from typing import Any

import pytest

from ndxp.router import recovery_watch


class Exits:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def app_in_recovery(
    started_ago: float, received_ago: dict[str, float], remaining: dict[str, int]
) -> Any:
    now = time.monotonic()
    recovery = SimpleNamespace(
        in_recovery=True,
        _recovery_started_at=now - started_ago,
        _active_events_received_at={tp: now - ago for tp, ago in received_ago.items()},
        active_remaining=lambda: remaining,
    )
    return SimpleNamespace(
        should_stop=False, tables=SimpleNamespace(recovery=recovery), _consumer=None
    )


def test_a_recovery_that_read_nothing_for_the_give_up_time_ends_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exits = Exits()
    app = app_in_recovery(150, {}, {"quota-changelog/1": 12, "quota-changelog/0": 0})
    with caplog.at_level(logging.ERROR, "ndxp.router.recovery"):
        recovery_watch.check_recovery(app, 30, 120, exits)
    assert exits.calls == 1
    stalled = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "read nothing of 1 partition(s)" in stalled[0]
    assert '"fetcher":"not started"' in stalled[0]  # the consumer's state is in the line


def test_a_stall_shorter_than_the_give_up_time_is_logged_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exits = Exits()
    with caplog.at_level(logging.ERROR, "ndxp.router.recovery"):
        recovery_watch.check_recovery(app_in_recovery(60, {}, {"p1": 3}), 30, 120, exits)
    assert exits.calls == 0
    assert any("for 60 s" in r.getMessage() for r in caplog.records)


def test_a_recovery_still_reading_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    exits = Exits()
    with caplog.at_level(logging.ERROR, "ndxp.router.recovery"):
        recovery_watch.check_recovery(app_in_recovery(600, {"p1": 2.0}, {"p1": 3}), 30, 120, exits)
    assert exits.calls == 0
    assert not caplog.records


def test_no_recovery_or_a_stopping_app_is_left_alone() -> None:
    exits = Exits()
    done = app_in_recovery(600, {}, {"p1": 3})
    done.tables.recovery.in_recovery = False
    recovery_watch.check_recovery(done, 30, 120, exits)
    stopping = app_in_recovery(600, {}, {"p1": 3})
    stopping.should_stop = True
    recovery_watch.check_recovery(stopping, 30, 120, exits)
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
