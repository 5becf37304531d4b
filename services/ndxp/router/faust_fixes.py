"""Faust settings an app cannot make, made by replacing what reads them (faust-streaming
0.15.3; :mod:`ndxp.versions` guards each): the consumer's fetch wait and whole-fetch bound, an
idempotent producer outside transactions, and messages handed to the streams without two
tasks each. The in-order delivery guard is :mod:`ndxp.router.in_order`'s."""

from __future__ import annotations

from typing import Any


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
