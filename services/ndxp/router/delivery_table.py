"""The status stage's table: each delivery's record (its JSON bytes) by delivery key, held in
memory for the partitions of the events topic this worker reads, and read back from the
document state topic (its compacted changelog, written by
:class:`ndxp.router.quota_changelog.QuotaChangelog`) when a partition is assigned.

Why not a Faust table (as it was until 2026-12-03): Faust's recovery reads a table's changelog
record by record through its whole event machinery (≈ 7,700 records a second here) and holds
back **all** of the worker's streams until every table is recovered: with a million deliveries
held, a router restart routed nothing, requests included, for 130 s. Here each assigned
partition is read by a plain group-less consumer in a task of its own, as soon as it is
assigned; routing goes on meanwhile, and only an event of a partition still loading waits for
it (:meth:`DeliveryTable.ready`).

Ownership follows the consumer group's assignment (Faust's ``on_partitions_assigned``, sent
with the whole new assignment): a partition no longer assigned is dropped, a newly assigned one
is read again from the topic (whoever held it wrote its changes before committing, so the
topic's end covers every offset committed). Records written ahead of a commit that a crash then
lost are what the delivery record's replay memory is for (:mod:`ndxp.core.delivery_state`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from ndxp.core.topology import client_partition

log = logging.getLogger("ndxp.router.status")

Loader = Callable[[int], Awaitable[dict[bytes, bytes]]]  # partition → its records


class DeliveryTable:
    """Records by delivery key, per partition; ``data`` is the whole as one mapping (what
    :class:`~ndxp.router.quota_changelog.QuotaChangelog` writes through)."""

    RETRY_S = 0.5

    def __init__(self, partitions: int, loader: Loader) -> None:
        self.partitions = partitions
        self.loader = loader
        self.parts: dict[int, dict[bytes, bytes]] = {}
        self.loading: dict[int, asyncio.Task[None]] = {}
        self.data = self  # the mapping QuotaChangelog uses, as it uses a Faust table's ``data``

    # -- ownership -------------------------------------------------------------------------
    def assign(self, partitions: set[int]) -> None:
        """The worker now holds exactly ``partitions`` of the events topic: drop the others,
        start reading those it did not hold."""
        for p in set(self.parts) | set(self.loading):
            if p not in partitions:
                task = self.loading.pop(p, None)
                if task is not None:
                    task.cancel()
                self.parts.pop(p, None)
        for p in partitions:
            if p not in self.parts and p not in self.loading:
                self.loading[p] = asyncio.ensure_future(self._load(p))

    async def _load(self, partition: int) -> None:
        """Read ``partition``, again and again while the broker cannot be reached (a failed
        read must not leave the partition's events failing behind it)."""
        t0 = time.monotonic()
        delay = self.RETRY_S
        while True:
            try:
                records = await self.loader(partition)
                break
            except Exception as exc:  # not CancelledError: a partition taken away stops it
                log.warning(
                    "document state of partition %d not read (%r); again in %.1f s",
                    partition,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, 10.0)
        self.parts[partition] = records
        self.loading.pop(partition, None)
        log.info(
            "document state of partition %d read: %d deliveries in %.1f s",
            partition,
            len(records),
            time.monotonic() - t0,
        )

    async def ready(self, partition: int) -> None:
        """Wait until ``partition``'s records are read (read now if it was never assigned:
        an event of a partition the assignment signal has not told of yet)."""
        if partition in self.parts:
            return
        if partition not in self.loading:
            self.loading[partition] = asyncio.ensure_future(self._load(partition))
        await asyncio.shield(self.loading[partition])

    def held(self) -> set[int]:
        return set(self.parts)

    # -- the mapping -------------------------------------------------------------------
    def _part(self, key: bytes) -> dict[bytes, bytes]:
        p = client_partition(key.decode("utf-8", "replace"), self.partitions)
        part = self.parts.get(p)
        if part is None:
            raise KeyError(f"partition {p} of the document state is not held by this worker")
        return part

    def get(self, key: bytes, default: Any = None) -> Any:
        return self._part(key).get(key, default)

    def __getitem__(self, key: bytes) -> bytes:
        return self._part(key)[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._part(key)[key] = value

    def pop(self, key: bytes, default: Any = None) -> Any:
        return self._part(key).pop(key, default)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes):
            return False
        p = client_partition(key.decode("utf-8", "replace"), self.partitions)
        return key in self.parts.get(p, {})

    def __iter__(self) -> Iterator[bytes]:
        for part in list(self.parts.values()):
            yield from list(part)

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts.values())


async def read_partition(
    bootstrap: str, auth: Any, topic: str, partition: int, fetch_bytes: int = 8 << 20
) -> dict[bytes, bytes]:
    """Partition ``partition`` of the compacted ``topic``, from its beginning to its end as of
    now, folded: the last value of each key, tombstones removing it."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=fetch_bytes,
        **auth.aiokafka(),
    )
    await consumer.start()
    records: dict[bytes, bytes] = {}
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            for batch in (await consumer.getmany(tp, timeout_ms=1000, max_records=50_000)).values():
                for r in batch:
                    if r.offset >= end or r.key is None:
                        continue
                    if r.value is None:
                        records.pop(r.key, None)
                    else:
                        records[r.key] = r.value
    finally:
        await consumer.stop()
    return records
