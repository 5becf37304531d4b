"""The router's watch over what can stop a worker without ending it: the consumer's fetch
routine, and Faust's recovery of the tables at a takeover.

Both have left a worker up, its health answering, and nothing routed: aiokafka never looks at
its fetch task again once it has ended (:mod:`ndxp.kafka.fetch_state`), and Faust's recovery
waits for a changelog partition's records with no time limit, logging "No event received for
active tp ... since recovery start" every few seconds (seen once in CI's dying-worker quota
test, 2.5 minutes with nothing routed). A worker exits in either case, so its supervisor
starts it again: nothing uncommitted is lost, and the next recovery reads the changelog anew.

Before a stalled recovery ends the worker, its log says where the consumer stood with each
waiting partition (position, buffered records, fetch session), every check, and the watch
tries once to fetch them again in place: each sought, on the consumer's thread, to the offset
Faust's recovery sought it to, and the consumer's fetch sessions dropped (its next fetch is a
full one). Records read twice are applied twice, in order: a table recovery writes each
key's latest value, so that is harmless."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ndxp.core.recovery import stalled
from ndxp.kafka.fetch_session import drop_sessions
from ndxp.kafka.fetch_state import describe, routine_failure

log = logging.getLogger("ndxp.router.recovery")


def aiokafka_consumer(app: Any) -> Any:
    """The aiokafka consumer inside Faust's consumer thread (``None`` before it started)."""
    consumer = getattr(app, "_consumer", None)  # app.consumer would create one
    return None if consumer is None else consumer._thread._consumer


def check_fetching(app: Any, exit_fatal: Callable[[], None]) -> None:
    """Exit when Faust's fetcher or aiokafka's fetch routine has ended while the app runs."""
    if app.should_stop:
        return
    if app._fetcher.crashed:
        log.critical("Faust's fetcher crashed; exiting so a supervisor restarts the worker")
        exit_fatal()
        return
    failure = routine_failure(aiokafka_consumer(app))
    if failure is not None:
        log.critical(
            "the consumer's fetch routine ended (%s); exiting so a supervisor restarts the worker",
            failure,
        )
        exit_fatal()


class Nudged:
    """The recovery (by its start time) whose stalled partitions were last fetched again."""

    def __init__(self) -> None:
        self.recovery_started_at: float | None = None


async def check_recovery(
    app: Any,
    stall_s: float,
    give_up_s: float,
    exit_fatal: Callable[[], None],
    nudged: Nudged,
) -> None:
    """Log a table recovery that read nothing of a partition it still needs for ``stall_s``,
    with the consumer's state for it, and fetch those partitions again (once per recovery);
    exit once that lasts ``give_up_s``."""
    recovery = app.tables.recovery
    started_at = recovery._recovery_started_at
    if app.should_stop or not recovery.in_recovery or started_at is None:
        return
    quiet = stalled(
        time.monotonic(),
        started_at,
        recovery._active_events_received_at,
        recovery.active_remaining(),
        stall_s,
    )
    if not quiet:
        return
    state = describe(aiokafka_consumer(app), quiet)
    longest = max(quiet.values())
    log.error(
        "table recovery read nothing of %d partition(s) it needs for %.0f s: %s",
        len(quiet),
        longest,
        orjson.dumps(state, default=str).decode(),
    )
    if longest >= give_up_s:
        log.critical(
            "table recovery stalled for %.0f s; exiting so a supervisor restarts the worker",
            longest,
        )
        exit_fatal()
    elif nudged.recovery_started_at != started_at:
        nudged.recovery_started_at = started_at
        offsets = {tp: max(recovery.active_offsets[tp], 0) for tp in quiet}
        thread = app.consumer._thread
        dropped = await thread.call_thread(refetch, thread._ensure_consumer(), offsets)
        log.warning(
            "fetching %s again from %s (%d fetch session(s) dropped)",
            ", ".join(f"{tp.topic}/{tp.partition}" for tp in offsets),
            ", ".join(str(offset) for offset in offsets.values()),
            dropped,
        )


async def refetch(aio: Any, offsets: Mapping[Any, int]) -> int:
    """On the consumer's thread: its fetch sessions dropped, each partition sought to its
    offset (aiokafka forgets what it buffered of it). The number of sessions dropped."""
    dropped = drop_sessions(aio._fetcher)
    for tp, offset in offsets.items():
        aio.seek(tp, offset)
    return dropped
