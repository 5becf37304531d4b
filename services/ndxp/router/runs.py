"""Runs of records: Faust hands the router's agents one event per fetched run of a partition.

Faust's per-event machinery (a Message, the conductor, the channel queue, an Event, the
stream iterator, an ack: about 100 µs a record on this machine, three times a plain
aiokafka loop's whole cost) is paid once per *run* instead: when the consumer's fetch
returns records of an ingress partition, the agent gets one event whose value is that
partition's records, in offset order, as aiokafka fetched them (``ConsumerRecord``:
``timestamp`` in milliseconds, ``headers`` as a tuple of ``(str, bytes)``). The agent
decides each record with the pure core, produces what it decided, and records the next
offset to process (:class:`ndxp.router.in_order.InOrder`); commits are taken from that
offset, never from Faust's per-event acks. Records of other topics (the quota table's
changelog during recovery) go through Faust one by one, as before.

Everything else stays Faust's: the consumer group and rebalances, flow control (a run is
one event in the stream buffer), the table and its recovery, commits (after the producer's
flush), the web server and timers.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from itertools import islice
from typing import Any, NamedTuple

import faust
from faust.types.tuples import ConsumerMessage

from ndxp.core.switching import switch_interval_s
from ndxp.router.in_order import give_back, unread

log = logging.getLogger("ndxp.router")


class Record(NamedTuple):
    """What the agents read of a record: aiokafka's ``ConsumerRecord`` has these fields."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None  # ms
    timestamp_type: int  # 0 the producer's CreateTime, 1 the broker's LogAppendTime
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


def as_record(message: Any) -> Record:
    """One Faust message as a record (Faust gives its timestamp in seconds)."""
    ts = message.timestamp
    return Record(
        message.topic,
        message.partition,
        message.offset,
        None if ts is None else round(ts * 1000),
        message.timestamp_type,
        message.key,
        message.value,
        _header_list(message.headers),
    )


def runs_of(message: Any, runs: bool) -> Sequence[tuple[Any, Sequence[Any]]]:
    """The ``(partition, records)`` runs an agent's event carries: those of a fetch (its
    value), or the message itself as a run of one record."""
    return message.value if runs else ((message.tp, (as_record(message),)),)


class RunSchema(faust.Schema):  # type: ignore[type-arg]
    """A run's key and value pass through as they are (no codec: the value is a list)."""

    def loads_key(
        self, app: Any, message: Any, *, loads: Any = None, serializer: Any = None
    ) -> Any:
        return message.key

    def loads_value(
        self, app: Any, message: Any, *, loads: Any = None, serializer: Any = None
    ) -> Any:
        return message.value


def deliver_runs(
    app: Any,
    order: Any,
    channel_of: Callable[[Any], Any],
    queued_limit: int = 0,
    run_buffer: int = 32,
) -> None:
    """Replace the consumer's ``getmany`` (what Faust's fetcher drains) with one that yields
    a single message per agent and fetch: the runs of every partition of the fetch that the
    agent's channel reads (``channel_of(tp)``: a stream's partitions share a key). On traffic
    spread over hundreds of ingress partitions a fetch holds a record or two per partition, so
    a message per partition cost Faust's per-event machinery per record again (measured: runs
    of 1-2 records on a many-agency backlog). Faust's own checks are kept: stop when the flow
    is suspended or the generation changes (nothing of that fetch is delivered; the in-order
    guard seeks back), skip partitions not active, track end offsets. Records of other
    partitions (a table's changelog) that are not delivered are given back: sought back on the
    consumer's thread (:func:`ndxp.router.in_order.give_back`), as nothing else would.

    **Fair to light senders behind a flood.** A fetch's runs go to the agent shortest first,
    and the next fetch waits while more than ``queued_limit`` records are queued for the agents
    (``order.queued()``; 0: no wait, only Faust's stream buffer of runs): what a member sends
    while another floods the router waits behind at most that many records, not a full stream
    buffer's (32 runs of up to ``max_poll_records``: ~32,000 records, 1.5-2 s of routing). With
    :mod:`ndxp.kafka.fair_drain` sharing each fetch between members, a flood waits in its own
    backlog. Counting the queue walks every partition (56 µs over 297): it is done only when
    the last fetches handed over could hold more than the limit (:class:`Recent`; at most
    ``run_buffer`` runs wait in the stream and one in the agent's hands)."""
    consumer = app.consumer
    recent = Recent(run_buffer + 2)

    async def getmany(timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        if queued_limit and recent.total > queued_limit:
            await room(order, queued_limit)
        records, active = await consumer._wait_next_records(timeout)
        generation_id = app.consumer_generation_id
        if records is None or consumer.should_stop:
            return
        if not consumer.flow_active:
            await give_back(consumer, unread(records, order.is_stream))
            try:
                await consumer.perform_seek()
            except Exception as exc:  # as Faust: logged, the next fetch tries again
                consumer.log.warning("exception performing seek when flow not active %r", exc)
            return
        to_message = consumer._to_message
        groups: dict[Any, list[tuple[Any, list[Any]]]] = {}
        for done, (tp, batch) in enumerate(records.items()):
            if not consumer.flow_active or app.consumer_generation_id != generation_id:
                rest = dict(islice(records.items(), done, None))  # this one on: not delivered
                await give_back(consumer, unread(rest, order.is_stream))
                return
            if not batch:
                continue
            if active is not None and tp not in active and tp not in consumer._buffered_partitions:
                await give_back(consumer, unread({tp: batch}, order.is_stream))
                continue
            app.monitor.track_tp_end_offset(tp, consumer.highwater(tp))
            if order.is_stream(tp):
                groups.setdefault(channel_of(tp), []).append((tp, batch))
            else:
                for record in batch:
                    yield tp, to_message(tp, record)
        for runs in groups.values():
            if not consumer.flow_active or app.consumer_generation_id != generation_id:
                return
            runs.sort(key=_run_length)  # a light sender's few records before a flood's
            recent.add(sum(map(_run_length, runs)))
            for tp, batch in runs:
                order.fetched[tp] = batch[-1].offset
            first_tp, first = runs[0]
            yield first_tp, run_message(first_tp, first, runs, generation_id)

    consumer.getmany = getmany


def _run_length(run: tuple[Any, list[Any]]) -> int:
    return len(run[1])


class Recent:
    """The records of the last ``n`` fetches handed to the agents, summed: a bound on what
    can still be queued for them."""

    def __init__(self, n: int) -> None:
        self.sizes: deque[int] = deque(maxlen=n)
        self.total = 0

    def add(self, records: int) -> None:
        if len(self.sizes) == self.sizes.maxlen:
            self.total -= self.sizes[0]
        self.sizes.append(records)
        self.total += records


ROOM_POLL_S = 0.002
ROOM_MOST_S = 0.5
"""The longest a fetch waits for the agents: a run dropped with the flow (a rebalance) counts
as queued until the sweep seeks its partition back, and must not stop fetching meanwhile."""


async def room(order: Any, limit: int, most_s: float = ROOM_MOST_S) -> None:
    """Wait until at most ``limit`` records are queued for the agents (``order.queued()``),
    or ``most_s`` has passed."""
    if order.queued() <= limit:
        return
    deadline = time.monotonic() + most_s
    while order.queued() > limit and time.monotonic() < deadline:
        await asyncio.sleep(ROOM_POLL_S)


def run_message(
    tp: Any, batch: list[Any], runs: list[tuple[Any, list[Any]]], generation_id: int
) -> ConsumerMessage:
    """One Faust message carrying the runs of a fetch (``(partition, records)`` pairs) for one
    agent; Faust sees it as a message of the first run's partition, at its last offset (what
    Faust acks: ndxp commits from the in-order guard, never from acks)."""
    last = batch[-1]
    timestamp = None if last.timestamp is None else last.timestamp / 1000.0
    return ConsumerMessage(
        tp.topic,
        tp.partition,
        last.offset,
        timestamp,  # type: ignore[arg-type]
        last.timestamp_type,
        [],
        None,
        runs,  # type: ignore[arg-type]
        None,
        0,
        0,
        tp,
        generation_id=generation_id,
    )


def _header_list(headers: Any) -> list[tuple[str, bytes]]:
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


def after_run(
    on_run: Callable[[int, float, str], None],
    stage: str,
    idle_ms: float,
    busy_ms: float,
    records: int,
    seconds: float,
) -> None:
    """What follows each run an agent routed: its metrics (``on_run``, the router's
    ``Stats.on_run``), then the interpreter's switch interval for what comes next, from the run's
    length (:mod:`ndxp.core.switching`: Python's 5 ms behind a backlog, 0.2 ms when quiet)."""
    on_run(records, seconds, stage)
    sys.setswitchinterval(switch_interval_s(records, idle_ms, busy_ms))


def agent(
    handler: Callable[[Any], Awaitable[None]],
    order: Any,
    runs: bool,
    batch: int,
    on_run: Callable[[int, float], None],
    on_fatal: Callable[[], None],
) -> Callable[[Any], Awaitable[None]]:
    """A thin Faust agent: each event's records (a run, or one record) that the in-order
    guard (``order``, :class:`ndxp.router.in_order.InOrder`) admits go to ``handler`` one
    by one, then the guard learns where the partition got to. An exception is fatal
    (``on_fatal``: the worker exits without committing, and a restart re-reads)."""

    async def one(message: Any) -> None:
        try:
            started = time.perf_counter()
            count = 0
            for tp, fetched in runs_of(message, runs):
                records = await order.admit(tp, fetched)
                if not records:
                    continue
                for record in records:
                    await handler(record)
                order.done(tp, records[-1].offset)
                count += len(records)
            if count:
                on_run(count, time.perf_counter() - started)
        except Exception:
            log.critical(
                "cannot produce; exiting so a supervisor restarts the worker", exc_info=True
            )
            on_fatal()

    async def consume(stream: Any) -> None:
        if batch > 1:  # events delivery: Faust's own batches, see the settings sweep
            async for events in stream.take_events(batch, within=0.005):
                for event in events:
                    await one(event.message)
        else:
            async for event in stream.events():
                await one(event.message)

    return consume
