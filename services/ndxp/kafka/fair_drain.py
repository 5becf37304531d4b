"""Fetched records handed out fairly: each topic (a member's ingress topic) gets an equal share
of a poll's ``max_records``, and within it each partition, instead of aiokafka's first come,
first served.

aiokafka's ``Fetcher.fetched_records`` walks its buffered partitions in the order their fetches
landed and gives each everything it holds until ``max_records`` is reached. A partition whose
fetch holds more than that stays first, so every poll is all of it until it is drained. One
member's flood of small compressed records (zstd: ~4 B a record on the wire, so a 256 KiB
partition fetch is ~65,000 records) thus kept every other member's fetched records waiting for
seconds behind it (a hostile run: another member's gateway calls from a 25 ms to a 3 s median,
``docs/hostile-runs/round2/f6``).

Here a poll goes round: each topic with records buffered gets ``budget // topics`` of what is
left, split over its partitions (at least one record each), round after round until the budget
is spent or nothing is left. A flood then takes what the others leave of each poll and waits
in its own backlog; a member with a few records buffered gets them all in the next poll. Order
within a partition is unchanged, and so is everything else aiokafka does: the wait for a
reassignment, the clean-up of partitions no longer assigned, errors raised once the records
fetched before them have been returned, the wake-up of the fetch routine when a partition is
drained, and the wait for a fetch (``ndxp.versions`` guards what is read and replaced here,
``ndxp.internals.fetching``). With no ``max_records`` everything is returned, so aiokafka's own
walk runs.

**Topics on hold** (:func:`hold`). A topic held until a time gives nothing until then: its
partitions' fetched records stay in aiokafka's buffer, where they also keep the partition out of
the next fetches (aiokafka fetches a partition again only once its buffer is taken), so what a
held topic costs the consumer is one fetch a partition, and the broker keeps the rest. The router
holds a member's ingress topic whose refusals have spent its allowance
(:mod:`ndxp.core.refusal_allowance`). The holds are the process's (its consumers share the
patched fetcher) and are read by the consumer's thread while the agents' thread sets them: each
change replaces the mapping whole, never changes one being read."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from aiokafka.consumer.fetcher import FetchResult

_held: dict[str, float] = {}  # topic: until (time.monotonic()); replaced whole, never changed


def hold(topic: str, until: float) -> bool:
    """Hand out none of ``topic``'s fetched records before ``until`` (``time.monotonic()``),
    or a hold it already has, whichever ends later. Whether the topic was not held before."""
    global _held
    held = _held
    before = held.get(topic)
    if before is not None and before >= until:
        return False
    _held = {**held, topic: until}
    return before is None or before <= time.monotonic()


def holds(now: float | None = None) -> dict[str, float]:
    """The holds in force at ``now`` (``time.monotonic()``: by default, now, and the clock is
    read only while a topic is held); those that have ended are forgotten."""
    global _held
    held = _held
    if not held:
        return held
    if now is None:
        now = time.monotonic()
    if min(held.values()) <= now:
        held = {topic: until for topic, until in held.items() if until > now}
        _held = held
    return held


def release_all() -> None:
    """Forget every hold (a process's consumers starting afresh; tests)."""
    global _held
    _held = {}


def drain(fetcher: Any, partitions: Any, max_records: int) -> dict[Any, list[Any]]:
    """Up to ``max_records`` records of ``fetcher``'s buffered partitions (those in
    ``partitions``; none: all), shared fairly between topics, then between each topic's
    partitions. Raises the first buffered error when no records come before it."""
    records = fetcher._records
    ready: dict[str, list[tuple[Any, Any]]] = {}
    error_tp = None
    held = holds()
    for tp in list(records):
        if partitions and tp not in partitions:
            if not fetcher._subscriptions.is_assigned(tp):
                del records[tp]  # as aiokafka: results of partitions no longer assigned
            continue
        if held and tp.topic in held:
            continue  # kept in the buffer until the hold ends (an error too: raised then)
        result = records[tp]
        if type(result) is FetchResult:
            ready.setdefault(tp.topic, []).append((tp, result))
        else:  # an error: raised now if nothing comes before it, else at the next poll
            error_tp = tp
            break
    drained = share(ready, max_records, functools.partial(_drained, fetcher))
    if not drained and error_tp is not None:
        error = records.pop(error_tp)
        fetcher._notify(fetcher._wait_consume_future)
        error.check_raise()
    return drained


def share(
    ready: dict[str, list[tuple[Any, Any]]], budget: int, on_drained: Callable[[Any], None]
) -> dict[Any, list[Any]]:
    """Take up to ``budget`` records from the results in ``ready`` (per topic, its partitions'
    ``(tp, result)`` pairs; a result has ``getall(n)`` and ``has_more()``) in rounds: each
    topic gets an equal part of what is left, split over its partitions, at least one record
    each. ``on_drained(tp)`` is called for each result found empty."""
    drained: dict[Any, list[Any]] = {}
    while budget > 0 and ready:
        per_topic = max(budget // len(ready), 1)
        for topic in list(ready):
            if budget <= 0:
                break
            parts = ready[topic]
            per_part = max(min(per_topic, budget) // len(parts), 1)
            more = []
            for tp, result in parts:
                take = min(per_part, budget)
                if take <= 0:
                    more.append((tp, result))
                    continue
                got = result.getall(take)
                if got:
                    drained.setdefault(tp, []).extend(got)
                    budget -= len(got)
                if not result.has_more():
                    on_drained(tp)
                elif len(got) == take:
                    more.append((tp, result))
            if more:
                ready[topic] = more
            else:
                del ready[topic]
    return drained


def _drained(fetcher: Any, tp: Any) -> None:
    """As aiokafka: a drained partition leaves the buffer and the fetch routine is woken."""
    del fetcher._records[tp]
    fetcher._notify(fetcher._wait_consume_future)


async def fetched_records(
    fetcher: Any, partitions: Any, timeout: float, max_records: int
) -> dict[Any, list[Any]]:
    """aiokafka's ``Fetcher.fetched_records`` (0.14) with :func:`drain` for its walk."""
    while True:
        if fetcher._subscriptions.reassignment_in_progress:
            await fetcher._subscriptions.wait_for_assignment()
        start_time = time.monotonic()
        drained = drain(fetcher, partitions, max_records)
        if drained or not timeout:
            return drained
        waiter = fetcher._create_fetch_waiter()
        wait = timeout
        if _held:  # a hold's end hands its records out: not after a whole wait
            wait = min(wait, max(min(_held.values()) - start_time, 0.001))
        done, pending = await asyncio.wait([waiter], timeout=wait)
        if pending:
            pending.pop().cancel()
        if fetcher._closed or (not done and wait >= timeout):
            return {}
        if done:
            waiter.result()  # as aiokafka: raises an authorization error
        timeout = max(0, timeout - (time.monotonic() - start_time))  # a hold ended: drain again
