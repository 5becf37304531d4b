"""A bound on what one aiokafka consumer holds fetched but not yet consumed.

aiokafka's fetcher asks the broker again for every partition that has nothing buffered, as
long as the buffered partitions of that broker were fetched more than ``prefetch_backoff``
(0.1 s) ago. A consumer that reads slower than the broker serves (a router behind a backlog)
therefore ends up holding one partition fetch's worth for **every** partition it reads,
whatever the bound on one fetch: 297 ingress partitions at 1 MiB held a router at 370-400 MB
in a national day's first minute. The Java consumer has the same shape; librdkafka bounds it
with ``queued.max.messages.kbytes``.

This is that bound for aiokafka: while the records buffered for partitions the consumer can
read (not paused) add up to ``budget`` bytes or more, the fetcher sends no fetch request; it
sends again once the consumer has drained a partition (aiokafka's own wake-up,
``_wait_consume_future``) or after its poll interval. Paused partitions do not count: the
consumer cannot drain them, and they must not hold back the others; nor do partitions of a
topic on hold (:func:`ndxp.kafka.fair_drain.hold`: a member held for its refusals), for the
same reason. Memory is then bounded by the budget plus one fetch (``fetch_max_bytes``) plus
what paused and held partitions hold (one partition fetch each: a partition with records
buffered is not fetched again), and the partition fetch can stay large (fewer, fuller fetches)
without memory growing with the number of partitions.

:func:`limit` sets the budget for the fetchers of the process; the check is applied in
:func:`ndxp.kafka.fetch_session._get_actions_per_node`, the one place ndxp plans aiokafka's
fetches (``ndxp.versions`` guards the attributes read here).
"""

from __future__ import annotations

from typing import Any, Final

from aiokafka.consumer.fetcher import FetchResult

from ndxp.kafka import fair_drain

DEFAULT_BUDGET: Final = 32 * 1024 * 1024

_budget: int | None = None


def limit(budget: int | None) -> None:
    """Bound every fetcher of this process to ``budget`` buffered bytes (``None`` or 0: no
    bound, aiokafka's own behaviour). Read at each fetch planning, so it applies at once."""
    global _budget
    _budget = budget or None


def budget() -> int | None:
    return _budget


def buffered_bytes(fetcher: Any, assignment: Any) -> int:
    """Bytes fetched and not yet drained, over the partitions the consumer can read now
    (``assignment``: the fetcher's, as its planning gets it): not paused, not on hold."""
    total = 0
    on_hold = fair_drain.holds()
    for tp, result in fetcher._records.items():
        if type(result) is not FetchResult:  # an error waiting to be raised: no bytes
            continue
        if on_hold and tp.topic in on_hold:
            continue
        state = assignment.state_value(tp)
        if state is not None and state.paused:
            continue
        records = result._partition_records  # None once drained
        if records is not None:
            total += records._records.size_in_bytes()
    return total


def held_back(fetcher: Any, assignment: Any) -> bool:
    """Whether the fetcher must not ask for more now."""
    return _budget is not None and buffered_bytes(fetcher, assignment) >= _budget
