"""Workarounds for message-loss races in faust-streaming 0.15.3, found by our crash tests.

Three defects, one guarantee. The router wants every fetched message processed once per
worker lifetime, in offset order per partition, and an offset committed only when everything
below it was processed. faust-streaming breaks this in three places:

1. **Read offsets drop messages.** Faust keeps a "read offset" per partition and silently
   drops fetched messages below it (``DROPPED MESSAGE ROFF`` in
   ``Consumer._drain_messages``). After a restart under load, with a table being recovered,
   we saw the read offset of an ingress partition set past the committed offset the fetcher
   resumed from (read offset 875, fetched from 412): 412..874 were dropped, then committed
   over. :class:`NoReadOffsets` turns the bookkeeping off.
2. **Suspended flow drops messages.** ``_drain_messages`` hands each fetched message to the
   streams with ``wait_first(callback(message), suspend_flow.wait())``: when a rebalance or a
   table recovery suspends the flow, the rest of the fetched batch is thrown away. Faust
   relies on seeking back to committed offsets afterwards, but ``seek_to_committed`` leaves
   alone any partition without a committed offset (and any at offset 0), so those messages
   are never fetched again. We traced one restart where offsets 0..999 of one ingress
   partition and 92 messages of two others were never delivered.
3. **Commits jump holes.** ``Consumer._new_offset`` commits the first run of consecutive
   acked offsets, checking the head of the run against the committed offset only when one
   exists and is non-zero, and even then allowing one missing message
   (``min(acked) - committed > 1``). After (2), it commits past what was dropped.

The fix, installed by :func:`deliver_in_order`:

- :class:`InOrder` sits in front of each agent. It drops messages of partitions revoked from
  this worker (still in Faust's buffers after a rebalance: processing them would race the
  partition's new owner). It knows, per partition, the next offset to
  process (from the committed offset, or the partition's first offset when none was
  committed). A record at that offset is processed; one below it was processed already by
  this worker and is skipped; one above it means messages were dropped, so the partition is
  sought back to the next offset and the record skipped (it comes again). A partition whose
  fetch position ran ahead while nothing arrived is sought back too (:meth:`InOrder.sweep`).
- ``perform_seek`` records, for every partition, where processing starts — the committed
  offset, or the first offset when there is none — as Faust's committed offset.
- ``_new_offset`` commits the next offset the agent is to process in order (everything
  below it was processed and produced, and Faust flushes the producer before it commits),
  never what Faust's acks say: an agent's event may be a whole run of records
  (:mod:`ndxp.router.runs`), and Faust acks it by its last offset.

Delivery stays at-least-once across restarts (the quota stage recognises redelivered
requests by their ingress coordinates; the ledger deduplicates by message id), and within a
worker it is exactly once and in order. A gap in a partition's offsets is never passed over,
so none may be there but dropped messages: a transactional sender's commit and abort markers
(control batches, which aiokafka skips) reach the agents as placeholder records
(:func:`ndxp.kafka.records.pass_markers`), which the route stage passes over. Without them, the
guard sought back to the first marker again and again and the partition stopped for good.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from aiokafka.structs import TopicPartition

log = logging.getLogger("ndxp.router.delivery")


class NoReadOffsets(MutableMapping[Any, Any]):
    """A read-offset map that forgets everything: Faust sees ``None`` and drops nothing."""

    def __getitem__(self, key: Any) -> None:
        return None

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __delitem__(self, key: Any) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def pop(self, key: Any, default: Any = None) -> Any:
        return default


class InOrder:
    """Per partition: the next offset an agent is to process, and the checks around it."""

    RESEEK_AFTER_S = 2.0  # a seek whose messages did not come is repeated after this
    IDLE_S = 5.0  # a partition with nothing processed this long, but fetched past, is sought
    # ... unless its fetched records wait in the stream buffer — for at most this long (an
    # event Faust threw away, e.g. at a rebalance, would otherwise never be sought back)
    QUEUED_S = 20.0

    def __init__(self, consumer: Any, is_stream: Callable[[Any], bool]) -> None:
        self.consumer = consumer
        self.is_stream = is_stream
        self.next: dict[Any, int] = {}
        self.assigned: set[Any] = set()  # this worker's partitions, as of the last rebalance
        self.seeking: dict[Any, float] = {}
        self.progress: dict[Any, float] = {}
        # the last offset handed to the agents' streams per partition (runs delivery): what
        # is between the next offset and it waits in the stream buffer, it was not dropped
        self.fetched: dict[Any, int] = {}
        self.holes = 0  # times Faust skipped messages and we sought back (health, tests)

    async def admit(self, tp: Any, records: Sequence[Any]) -> Sequence[Any]:
        """The records of a run (one partition's, in offset order) to process now: those
        from the next offset on, while consecutive. Records below it were processed already
        by this worker (a seek delivered them again) and are left out. A run that starts
        past the next offset means Faust dropped messages: the partition is sought back and
        nothing is processed (they come again); a gap inside a run likewise, after the part
        before it. Nothing of a partition revoked from this worker is processed."""
        if tp not in self.assigned or not records:
            return ()  # revoked: fetched before a rebalance, another worker owns it now
        expected = self.next.get(tp)
        if expected is None:
            expected = self.next[tp] = await self._start(tp)
            self.progress[tp] = time.monotonic()
        start = _index_of(records, expected)
        if start is None:
            if records[-1].offset >= expected:  # the next offset is missing from the run
                await self._seek_back(tp, expected, f"got offset {records[0].offset}")
            return ()
        end = _consecutive_end(records, start)
        self.seeking.pop(tp, None)
        if end < len(records):  # a hole after records[end - 1]: fetch from there again
            await self._seek_back(tp, expected + end - start, f"got {records[end].offset}")
        return records[start:end]

    def done(self, tp: Any, offset: int) -> None:
        """Everything of ``tp`` up to ``offset`` was processed (its records produced)."""
        self.next[tp] = offset + 1
        self.progress[tp] = time.monotonic()

    def queued(self) -> int:
        """Records handed to the agents' streams and not processed yet, over this worker's
        partitions (from the offsets: a run dropped with the flow counts until the sweep seeks
        its partition back)."""
        total = 0
        nexts = self.next
        for tp, last in self.fetched.items():
            waiting = last + 1 - nexts.get(tp, last + 1)
            if waiting > 0 and tp in self.assigned:
                total += waiting
        return total

    def on_bases(self, bases: Mapping[Any, int]) -> None:
        """Processing of these partitions starts at these offsets (or where this worker
        already got to, if further: it processed those messages itself)."""
        now = time.monotonic()
        for tp, base in bases.items():
            if self.is_stream(tp):
                self.next[tp] = max(base, self.next.get(tp, base))
                self.progress[tp] = now  # idle is counted from here
                self.fetched.pop(tp, None)  # fetching starts again from the base

    def lag(self) -> list[tuple[tuple[str, ...], float]]:
        """Per assigned partition: messages after the next one to process (metrics, health)."""
        out: list[tuple[tuple[str, ...], float]] = []
        for tp in list(self.assigned):
            expected = self.next.get(tp)
            if expected is None or not self.is_stream(tp):
                continue
            try:
                highwater = self.consumer.highwater(tp)
            except Exception:  # no fetch response for it yet
                continue
            if highwater is not None:
                out.append(((tp.topic, str(tp.partition)), float(max(0, highwater - expected))))
        return out

    async def sweep(self) -> None:
        """Seek back partitions where Faust dropped the tail of what it fetched: nothing
        processed for a while, the broker has messages past the next offset, and the
        consumer fetched past it.

        The last test matters under a backlog on hundreds of partitions: the fetch bound
        (8 MiB) serves a few partitions at a time, so one can wait its turn for longer than
        ``IDLE_S``. Nothing was fetched past its next offset, so nothing was dropped; seeking
        it "back" to where it was threw away the fetcher's work (875 seeks in a national
        day)."""
        now = time.monotonic()
        idle: list[tuple[Any, int]] = []
        for tp in list(self.consumer.assignment()):
            expected = self.next.get(tp)
            if expected is None or not self.is_stream(tp):
                continue
            if now - self.progress.get(tp, 0.0) < self.IDLE_S:
                continue
            waited = now - self.progress.get(tp, 0.0)
            if self.fetched.get(tp, -1) >= expected and waited < self.QUEUED_S:
                continue  # delivered to the stream and not processed yet: queued, not dropped
            try:
                highwater = self.consumer.highwater(tp)
            except Exception:  # no fetch response yet for this partition
                continue
            if highwater is not None and highwater > expected:
                idle.append((tp, expected))
        if not idle:
            return
        positions = await self._positions([tp for tp, _ in idle])
        for tp, expected in idle:
            position = positions.get(tp)
            if position is not None and position > expected:
                await self._seek_back(tp, expected, f"idle, fetched to {position}")

    async def _positions(self, tps: list[Any]) -> dict[Any, int]:
        """Where the consumer fetches each partition from next, read on its own thread (a
        partition whose position is not known within 2 s is left out)."""
        thread = self.consumer._thread
        aio = thread._ensure_consumer()
        try:
            found = await asyncio.wait_for(thread.call_thread(fetch_positions, aio, tps), 2.0)
        except Exception:  # a timeout; a partition no longer assigned
            return {}
        return dict(found)

    async def _seek_back(self, tp: Any, offset: int, why: str) -> None:
        now = time.monotonic()
        since = self.seeking.get(tp)
        if since is not None and now - since < self.RESEEK_AFTER_S:
            return
        self.seeking[tp] = now
        self.progress[tp] = now
        self.fetched[tp] = min(self.fetched.get(tp, offset - 1), offset - 1)
        self.holes += 1
        log.warning(
            "messages of %s:%s from offset %d were not delivered (%s); seeking back",
            tp.topic,
            tp.partition,
            offset,
            why,
            extra={"topic": tp.topic, "partition": tp.partition, "offset": offset},
        )
        await seek(self.consumer, tp, offset)

    async def _start(self, tp: Any) -> int:
        thread = self.consumer._thread
        aio = thread._ensure_consumer()
        committed = await thread.call_thread(aio.committed, tp)
        if committed is not None and committed >= 0:
            return int(committed)
        return int((await self.consumer.earliest_offsets(tp))[tp])


async def seek(consumer: Any, tp: Any, offset: int) -> None:
    """Seek on the consumer's own thread. Faust's ``Consumer.seek`` calls aiokafka's ``seek``
    from the event loop's thread while the consumer thread may be in the fetcher's
    ``fetched_records``, which iterates the same dict: under a backlog on a few hundred
    partitions a router died of ``KeyError`` in ``del self._records[tp]`` (Faust's fetcher
    crashed, the worker with it)."""
    thread = consumer._thread
    aio = thread._ensure_consumer()
    await thread.call_thread(aio.seek, tp, offset)


def unread(
    records: Mapping[Any, Sequence[Any]], is_stream: Callable[[Any], bool]
) -> dict[Any, tuple[int, int]]:
    """Of fetched records not delivered, those of partitions that are not the agents' (a
    table's changelog): ``(first offset, offset after the last)`` per partition. The agents'
    partitions need nothing: the in-order guard seeks them back."""
    return {
        tp: (batch[0].offset, batch[-1].offset + 1)
        for tp, batch in records.items()
        if batch and not is_stream(tp)
    }


async def give_back(consumer: Any, taken: Mapping[Any, tuple[int, int]]) -> None:
    """Records of these partitions were taken from aiokafka and not delivered (Faust's
    recovery reads a changelog only once: one dropped record and it waits for ever): each
    partition is sought back to its first offset, on the consumer's thread, unless its
    position moved since (Faust's recovery sought it, or it was revoked)."""
    if taken:
        thread = consumer._thread
        await thread.call_thread(seek_unmoved, thread._ensure_consumer(), dict(taken))


def seek_unmoved(aio: Any, taken: Mapping[Any, tuple[int, int]]) -> list[Any]:
    """On the consumer's thread: seek each partition still at the offset after its taken
    records back to their first. The partitions sought."""
    subscription = aio._subscription.subscription
    assignment = None if subscription is None else subscription.assignment
    if assignment is None:
        return []
    sought = []
    for tp, (first, after) in taken.items():
        state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
        if state is not None and state._position == after:
            aio.seek(tp, first)
            sought.append(tp)
    return sought


async def fetch_positions(aio: Any, tps: list[Any]) -> dict[Any, int]:
    """aiokafka's fetch position of each partition (run on the consumer's thread)."""
    return {tp: int(await aio.position(tp)) for tp in tps}


def _bases(committed: Mapping[Any, int | None], earliest: Mapping[Any, int]) -> dict[Any, int]:
    return {
        tp: int(offset) if offset is not None and offset >= 0 else int(earliest[tp])
        for tp, offset in committed.items()
    }


def commit_point(next_offset: int | None, committed: int | None) -> int | None:
    """The offset to commit for a partition: the next one the agent is to process, when
    it moved past the committed one. Every record below it was processed and produced, and
    Faust flushes the producer before it commits, so the commit covers only what is on the
    broker. ``None``: nothing to commit."""
    if next_offset is None or (committed is not None and next_offset <= committed):
        return None
    return next_offset


def _index_of(records: Sequence[Any], offset: int) -> int | None:
    """Where ``offset`` is in a run of increasing offsets (``None``: not in it)."""
    first = records[0].offset
    if offset < first:
        return None
    guess = offset - first  # exact when the run has no gap before it
    if guess < len(records) and records[guess].offset == offset:
        return int(guess)
    i = bisect_left([r.offset for r in records], offset)
    return i if i < len(records) and records[i].offset == offset else None


def _consecutive_end(records: Sequence[Any], start: int) -> int:
    """The end of the run of consecutive offsets from ``records[start]``."""
    first, n = records[start].offset, len(records)
    if records[-1].offset - first == n - 1 - start:
        return n  # no gap: the common case, checked at once
    for i in range(start + 1, n):
        if records[i].offset != first + i - start:
            return i
    return n


def deliver_in_order(app: Any, is_stream: Callable[[Any], bool]) -> InOrder:
    """Install the three fixes on the app's consumer (creating it); return the tracker the
    agents go through."""
    consumer = app.consumer
    consumer._read_offset = NoReadOffsets()
    order = InOrder(consumer, is_stream)

    async def perform_seek() -> None:
        committed = await consumer.seek_to_committed()
        missing = [tp for tp, offset in committed.items() if offset is None or offset < 0]
        earliest = await consumer.earliest_offsets(*missing) if missing else {}
        bases = _bases(committed, earliest)
        for tp, offset in committed.items():
            if is_stream(tp) and not (offset is not None and offset > 0):
                await seek(consumer, tp, bases[tp])  # aiokafka seeks only offsets > 0
        consumer._committed_offset.update(bases)
        order.on_bases(bases)

    faust_pending = consumer._filter_tps_with_pending_acks

    def pending(topics: Any = None) -> Iterator[Any]:
        # Faust commits the partitions it saw acks for; an event of runs is acked for its
        # first partition only (ndxp.router.runs), so the agents' partitions come from the
        # guard: every partition it holds a next offset for
        seen = set()
        for tp in (*faust_pending(topics), *(tp for tp in order.next if tp in order.assigned)):
            if tp not in seen and (topics is None or tp in topics or tp.topic in topics):
                seen.add(tp)
                yield tp

    def new_offset(tp: Any) -> int | None:
        # Faust's acks only say that something of ``tp`` was handled; where is ours to say
        consumer._acked[tp].clear()
        consumer._acked_index[tp].clear()
        return commit_point(order.next.get(tp), consumer._committed_offset[tp])

    assigned, revoked = consumer.on_partitions_assigned, consumer.on_partitions_revoked

    async def on_partitions_assigned(partitions: set[Any], generation_id: int = 0) -> None:
        order.assigned = set(partitions)
        order.fetched.clear()  # again: a run handed over during the rebalance was dropped
        await assigned(partitions, generation_id)

    async def on_partitions_revoked(partitions: set[Any]) -> None:
        order.assigned.difference_update(partitions)  # stop at once: no zombie decisions
        order.fetched.clear()  # Faust may drop buffered events: nothing counts as queued
        await revoked(partitions)

    consumer.perform_seek = perform_seek
    consumer._new_offset = new_offset
    consumer._filter_tps_with_pending_acks = pending
    consumer.on_partitions_assigned = on_partitions_assigned
    consumer.on_partitions_revoked = on_partitions_revoked
    return order
