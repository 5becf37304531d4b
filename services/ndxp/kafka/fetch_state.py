"""What an aiokafka consumer's fetcher is doing, read from outside it: whether its fetch
routine still runs, and where it stands with given partitions.

aiokafka runs each consumer's fetches in one background task (``Fetcher._fetch_task``) and
never looks at it again: if that task ends with an error, the consumer stays up and every
``getmany`` waits out its timeout with nothing, for good. A Faust worker in that state answers
its health checks and routes nothing. :func:`routine_failure` tells; the router exits on it
(``router/app.py``) so its supervisor starts it again.

:func:`describe` is for the log line a stalled table recovery writes (``router/app.py``):
the partition's position, whether records of it are buffered, paused or in a broker's fetch
session, and the fetcher's in-flight brokers and counters. ``ndxp.versions`` guards what is
read here; everything is read, nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def routine_failure(aio: Any) -> str | None:
    """Why this started aiokafka consumer's fetch routine ended (``None``: it runs, or the
    consumer was closed, or has not started)."""
    fetcher = getattr(aio, "_fetcher", None)
    if fetcher is None or fetcher._closed:
        return None
    task = fetcher._fetch_task
    if not task.done():
        return None
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return "ended" if exc is None else f"{type(exc).__name__}: {exc}"


def describe(aio: Any, tps: Iterable[Any]) -> dict[str, Any]:
    """The fetcher's state for these partitions, as plain values for a log line."""
    fetcher = getattr(aio, "_fetcher", None)
    if fetcher is None:
        return {"fetcher": "not started"}
    subscription = aio._subscription.subscription
    assignment = None if subscription is None else subscription.assignment
    holder = getattr(fetcher, "_ndxp_sessions", None)
    held: dict[tuple[str, int], Any] = {}
    if holder is not None:
        for node, session in holder.by_node.items():
            held.update({key: (node, *value) for key, value in session.held.items()})
    partitions = {}
    for tp in tps:
        key = (tp.topic, tp.partition)
        state = None if assignment is None else assignment.state_value(_aiokafka_tp(tp))
        partitions[f"{tp.topic}/{tp.partition}"] = {
            "assigned": state is not None,
            "position": None if state is None else state._position,
            "paused": None if state is None else state._paused,
            "highwater": None if state is None else state.highwater,
            "buffered": _buffered(fetcher._records.get(_aiokafka_tp(tp))),
            "in_session": held.get(key),  # (broker, fetch offset, max bytes)
        }
    return {
        "routine": routine_failure(aio) or "running",
        "in_flight": sorted(fetcher._in_flight),
        "waiters": len(fetcher._fetch_waiters),
        "buffered_partitions": len(fetcher._records),
        "sessions": None if holder is None else vars(holder.stats),
        "partitions": partitions,
    }


def _buffered(result: Any) -> str | None:
    """What aiokafka holds of a partition: nothing, fetched records or an error to raise."""
    return None if result is None else type(result).__name__


def _aiokafka_tp(tp: Any) -> Any:
    from aiokafka.structs import TopicPartition

    return TopicPartition(tp.topic, tp.partition)
