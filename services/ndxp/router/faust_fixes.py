"""Faust settings an app cannot make, made by replacing what reads them (faust-streaming
0.15.3; :mod:`ndxp.versions` guards each): the consumer's fetch wait and whole-fetch bound, an
idempotent producer outside transactions, messages handed to the streams without two tasks
each, and commits that read the assignment once. The in-order delivery guard is
:mod:`ndxp.router.in_order`'s."""

from __future__ import annotations

from time import monotonic
from typing import Any

from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata
from faust.transport.drivers.aiokafka import ensure_aiokafka_TP


def fetch_limits(app: Any, max_wait_ms: int, max_bytes: int) -> None:
    """The consumer's fetch wait and the bound on one fetch's size, which Faust does not let
    an app set.

    Faust hard-codes ``fetch_max_wait_ms=1500`` for its consumer. aiokafka keeps one fetch
    request in flight per broker, so when a router subscribes to a hundred ingress topics,
    the long poll for the idle ones holds up the next fetch for the busy ones: a router on
    the sample registry routed 3,000 msg/s at a third of one core, and a bare Faust agent
    dropped from 7,700 to 3,000 events/s when subscribed to the same topics. A short wait
    (a few idle fetches a second more) restores the rate and keeps latency low.

    Faust passes no ``fetch_max_bytes``, so aiokafka's 50 MiB default bounds one fetch: with a
    partition limit of 1 MiB and hundreds of ingress partitions behind, the fetched records
    (and the runs buffered after them) held the router at 440-500 MB through a national day.
    ``max_bytes`` bounds the whole fetch (a busy partition can still fill its 1 MiB), so the
    router's memory no longer grows with the number of partitions that have a backlog."""
    thread = app.consumer._thread
    create = thread._create_worker_consumer

    def create_worker_consumer(transport: Any) -> Any:
        consumer = create(transport)
        # both read by AIOKafkaConsumer.start() for its Fetcher
        consumer._fetch_max_wait_ms = max_wait_ms
        consumer._fetch_max_bytes = max_bytes
        return consumer

    thread._create_worker_consumer = create_worker_consumer


def fetch_as_asked(app: Any) -> None:
    """The consumer thread drains aiokafka's records of the partitions Faust asked for *when
    it asked*, not of whatever the set it asked with holds later.

    Faust hands its active-partition set itself to the consumer thread
    (``ThreadDelegateConsumer._getmany``), and aiokafka's ``fetched_records`` reads it again
    each time its wait (up to a second) is woken. Faust changes that set in place: a rebalance
    pauses every partition (the set empties; aiokafka then drains *all* partitions), its table
    recovery resumes the changelog partitions. A wait that began before a rebalance could so
    drain records of partitions Faust had not asked for — a changelog partition the worker had
    just taken over, after its recovery had sought it — and Faust dropped them (not active,
    or the flow stopped), their offsets consumed. The recovery then waited for ever for a
    record already read: seen in tests/integration/test_quota.py's dying-worker test (once in
    CI, 3 times in 54 runs beside a CPU hog), the survivor's changelog position 1 and highwater 1,
    "No event received for active tp … since recovery start". Each call now passes a copy."""
    consumer = app.consumer
    thread = consumer._thread

    async def _getmany(active_partitions: Any, timeout: float) -> Any:
        asked = None if active_partitions is None else frozenset(active_partitions)
        return await thread.getmany(asked, timeout)

    consumer._getmany = _getmany


def commit_once(app: Any) -> None:
    """Faust's commit in its consumer thread (``AIOKafkaConsumerThread._commit``), with the
    assignment read once per commit instead of once per partition committed, and without
    the table of offsets Faust formats for a log line it never shows (:func:`no_commit_table`).

    Faust filters the offsets with ``tp in self.assignment()`` in a comprehension, and
    ``assignment()`` builds a new set of every assigned partition each time: for a router's
    297 ingress partitions, up to 297 × 297 conversions a commit. py-spy on a router at
    200 req/s of the round-trip probe (``python -m ndxp.bench.roundtrip --rate 200``, one
    commit a second) found it in 21 % of the consumer thread's busy samples, 30-60 ms at a
    time during which that thread held the interpreter and no fetch was planned or read.
    Everything else is Faust's code as it is: the same partitions are committed, and the
    same errors end the same way (``NDXP_ROUTER_COMMIT_ONCE=off`` gives Faust's own).

    Round trips, p50 (p99) in ms, two interleaved pairs of ``python -m ndxp.bench.roundtrip
    --bootstrap B --rate 20 --rate 200 --rate 1000 --seconds 15``, Faust's commit against
    this one (2026-12-03, the assignment read once, before the table was left out too; a third
    pair, its Faust run on a broker still warming up, left out): at 20 req/s 26.1 / 27.9 →
    17.0 / 22.9; at 200 req/s 60.2 (142) / 67.7 (174) → 48.7 (121) / 32.3 (74); at 1,000 tx/s
    226 (523) / 209 (434) → 230 (501) / 88 (227). With both, against
    ``--router-setting NDXP_ROUTER_COMMIT_ONCE=off``: docs/PERFORMANCE.md, "Faust's commit, the
    fetch plan and the Locust user's wait"."""
    thread = app.consumer._thread

    async def _commit(offsets: Any) -> bool:
        consumer = thread._ensure_consumer()
        now = monotonic()
        assigned = thread.assignment()
        commitable_offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        try:
            aiokafka_offsets = {
                ensure_aiokafka_TP(tp): OffsetAndMetadata(offset, "")
                for tp, offset in commitable_offsets.items()
            }
            thread.tp_last_committed_at.update({tp: now for tp in commitable_offsets})
            await consumer.commit(aiokafka_offsets)
        except CommitFailedError as exc:
            if "already rebalanced" in str(exc):
                return False
            thread.log.exception("Committing raised exception: %r", exc)
            await thread.crash(exc)
            return False
        except IllegalStateError as exc:
            thread.log.exception(
                "Got exception: %r\nCurrent assignment: %r", exc, thread.assignment()
            )
            await thread.crash(exc)
            return False
        except Exception as exc:
            thread.log.exception(
                "Got exception: %r\nCurrent assignment: %r", exc, thread.assignment()
            )
            await thread.crash(exc)
            return False
        return True

    thread._commit = _commit
    no_commit_table()


def no_commit_table() -> None:
    """Faust's consumer formats a table of every offset it commits
    (``faust.utils.terminal.logtable``) for a log line at mode's ``dev`` level, and builds it
    whether that level is logged or not (it never is in ndxp). For a router's 297 ingress
    partitions that is 12.9 ms of the agents' thread at every commit, once a second (timed
    here on the table Faust builds: 297 rows). The table is left out for the whole process
    (Faust's consumer module reads ``terminal`` for nothing else)."""
    import faust.transport.consumer as faust_consumer

    faust_consumer.terminal = _NoTable  # type: ignore[attr-defined,assignment]


class _NoTable:
    """What Faust's consumer module reads of ``faust.utils.terminal``."""

    @staticmethod
    def logtable(*args: Any, **kwargs: Any) -> str:
        return "(not tabulated: ndxp.router.faust_fixes.no_commit_table)"


def idempotent_producer(app: Any) -> None:
    """Faust makes its producer idempotent only inside Kafka transactions. The router wants it
    always: with ``acks=all`` and idempotence, a record retried after a broker died (the
    leader moved mid-request) is written once, in order, on a replicated cluster."""
    producer = app.producer

    def settings_extra() -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}

    producer._settings_extra = settings_extra


def direct_delivery(app: Any) -> None:
    """On by default (``NDXP_ROUTER_DIRECT_DELIVERY=off`` restores Faust's): hand each
    fetched message to the streams without ``wait_first(callback, suspend_flow.wait())``,
    which creates two tasks per message. A bare Faust agent went from 6,100 to 9,900
    events/s without it.

    The delivery coroutine is run in place until it finishes or has to wait (a full stream
    buffer). Only then does it go through Faust's ``wait_first``, so a delivery that waits is
    still abandoned when a rebalance suspends the flow. Every other use of ``wait_first``
    (``Service.wait(..., timeout=...)`` during rebalances) goes to Faust's own: a first
    version that replaced those too crashed a worker's fetcher at its first rebalance, which
    is how a surviving worker "stalled" in the crash tests. When the flow is already suspended
    the message is dropped as before: the in-order guard seeks back for it. The default since
    the quota crash tests passed 10 runs in a row with it (40 kill -9 / dead-worker
    scenarios) and the fault suite passed with it."""
    consumer = app.consumer
    faust_wait_first = consumer.wait_first

    async def wait_first(*coros: Any, **kw: Any) -> Any:
        if kw or len(coros) != 2:  # Service.wait() and the like: Faust's own, untouched
            return await faust_wait_first(*coros, **kw)
        callback, suspended = coros
        if consumer.suspend_flow.is_set():
            callback.close()
            suspended.close()
            return None
        try:
            waiting_on = callback.send(None)
        except StopIteration:
            suspended.close()
            return None
        return await faust_wait_first(_resume(callback, waiting_on), suspended)

    consumer.wait_first = wait_first


async def _resume(coro: Any, waiting_on: Any) -> None:
    """Drive a coroutine that was started by hand and stopped at an await, as a task would."""
    import asyncio

    try:
        while True:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False
                await asyncio.wait({waiting_on})
            try:
                waiting_on = coro.send(None)
            except StopIteration:
                return
    finally:
        coro.close()  # abandoned (cancelled) or finished: no-op when it has returned
