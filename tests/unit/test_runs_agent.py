"""The router's thin agent: each run's records go to the handler in order, the in-order guard
learns where each partition got to, and after the run its metrics are observed and the
interpreter's switch interval follows its length (as ``create_app`` wires it)."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from ndxp.core.switching import BUSY_RUN_RECORDS
from ndxp.router.runs import Record, after_run, agent
from ndxp.router.stats import RouterStats


class Order:
    """The in-order guard as the agent sees it: admits every record, remembers ``done``."""

    def __init__(self) -> None:
        self.done_at: dict[str, int] = {}

    async def admit(self, tp: str, records: Sequence[Record]) -> Sequence[Record]:
        return records

    def done(self, tp: str, offset: int) -> None:
        self.done_at[tp] = offset


def run(tp: str, n: int) -> tuple[str, list[Record]]:
    return tp, [Record(tp, 0, i, 0, 1, None, b"", []) for i in range(n)]


@pytest.fixture
def interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def wired(stats: RouterStats, handled: list[int]) -> Any:
    async def handler(record: Record) -> None:
        handled.append(record.offset)

    on_run = functools.partial(after_run, stats.on_run, "route", 0.2, 5.0)
    return agent(handler, Order(), True, 1, on_run, lambda: None)


def deliver(thin: Any, *fetches: list[tuple[str, list[Record]]]) -> None:
    async def stream() -> Any:
        for value in fetches:
            yield SimpleNamespace(message=SimpleNamespace(value=value))

    asyncio.run(thin(SimpleNamespace(events=stream)))


def observed(stats: RouterStats) -> tuple[float, float]:
    """How many runs the records histogram saw, and their records in all."""
    m = stats.metrics
    return (
        m.get_sample_value("ndxp_router_run_records_count", {"stage": "route"}) or 0.0,
        m.get_sample_value("ndxp_router_run_records_sum", {"stage": "route"}) or 0.0,
    )


def test_a_backlogs_run_sets_pythons_interval_and_a_quiet_one_the_short_one(
    interval: None,
) -> None:
    stats, handled = RouterStats(), []
    thin = wired(stats, handled)
    sys.setswitchinterval(0.0002)
    deliver(thin, [run("a", BUSY_RUN_RECORDS - 10), run("b", 10)])  # one fetch, two partitions
    assert sys.getswitchinterval() == pytest.approx(0.005)
    deliver(thin, [run("a", 1)])
    assert sys.getswitchinterval() == pytest.approx(0.0002)
    assert observed(stats) == (2.0, BUSY_RUN_RECORDS + 1.0)
    assert handled == [*range(BUSY_RUN_RECORDS - 10), *range(10), 0]


def test_a_run_below_the_threshold_keeps_the_short_interval(interval: None) -> None:
    stats, handled = RouterStats(), []
    sys.setswitchinterval(0.005)
    deliver(wired(stats, handled), [run("a", BUSY_RUN_RECORDS - 1)])
    assert sys.getswitchinterval() == pytest.approx(0.0002)
    assert observed(stats) == (1.0, BUSY_RUN_RECORDS - 1.0)


def test_an_empty_fetch_changes_nothing(interval: None) -> None:
    stats, handled = RouterStats(), []
    sys.setswitchinterval(0.005)
    deliver(wired(stats, handled), [run("a", 0)])
    assert sys.getswitchinterval() == pytest.approx(0.005)
    assert observed(stats) == (0.0, 0.0)
    assert handled == []
