"""Where the router's agents put what they produce: straight into the app's aiokafka producer,
record by record into its open batches.

Faust's ``event.forward`` goes through its Topic, Channel, FutureMessage and attachment
machinery before reaching the same producer, and aiokafka's own ``send()`` creates a future
and a coroutine per record; in a profile of the router, that was a third of its time. The
router needs neither per-record result: a record the broker refuses is fatal, whichever it
is. So :meth:`Outbox.put` appends each record to the producer's open batch for its partition
(``MessageAccumulator._batches``; a new batch when there is none or it is full) and watches
each batch's own future once. The records, their order per partition, the producer's
idempotence, linger and retries are aiokafka's, unchanged; only the per-record bookkeeping
goes.

The guarantee is the same as with ``send()``: Faust flushes this producer (acks=all) before
it commits any offset, and aiokafka's flush waits for every open batch, so everything
produced for a record is on the broker before its offset is committed. A batch the broker
refuses after the producer's retries is fatal (``on_failure``): the worker exits without
committing, and a restart re-reads what was not committed.

Partitions are chosen by the rule of :func:`ndxp.core.topology.key_partition`, which every
ndxp producer uses (:func:`~ndxp.core.topology.placed_partition`: the outbox caches per topic
and key itself): a key of up to 128 bytes as aiokafka's ``DefaultPartitioner`` does (murmur2 of
the key over the topic's sorted partitions, as the Java client does), a longer one by its
SHA-256 (schemas/WIRE.md, "Where a routed copy lands"); a record without a key
goes to one partition chosen at random among the available ones until its batch is full
(Kafka's sticky partitioner), instead of a random partition per record. Written against
aiokafka 0.14.0 (pinned); ``tests/integration`` exercise it against the real broker.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import TopicPartition

from ndxp.core.topology import SHORT_KEY_BYTES, placed_partition
from ndxp.router.forwarding import Outgoing

log = logging.getLogger("ndxp.router")

PARTITIONS_TTL_S = 30.0  # a topic's partitions are looked up again after this
KEY_CACHE = 100_000  # partitions remembered per key (cleared when full)
# Keys are the senders' (up to 4 KiB each): only short ones (SHORT_KEY_BYTES, as every ndxp
# producer's partitioner) are remembered, so the cache stays under KEY_CACHE x
# (SHORT_KEY_BYTES + the topic name) whatever senders send. Longer keys are hashed each time
# (SHA-256, in C: 3.6 µs for 4 KiB).


class Outbox:
    def __init__(self, app: Any, on_failure: Callable[[], None]) -> None:
        self.app = app
        self.on_failure = on_failure
        self._producer: Any = None
        self._partitions: dict[str, tuple[float, list[int]]] = {}
        self._by_key: dict[tuple[str, bytes], int] = {}
        self._sticky: dict[str, int] = {}

    async def put(self, out: Outgoing) -> None:
        producer = self._producer
        if producer is None:
            producer = self._producer = self.app.producer._ensure_producer()
        partition = out.partition
        if partition is None:
            partition = await self._partition(out.topic, out.key)
        elif out.topic not in self._partitions:
            # a partition chosen by the caller (a home copy): the producer's client must still
            # know the topic's leaders, or the batch waits for a leader forever (aiokafka's
            # send() asks for the topic's metadata; appending to the batch does not)
            await self._topic_partitions(out.topic)
        tp = TopicPartition(out.topic, partition)
        acc = producer._message_accumulator
        timestamp = out.timestamp_ms
        while True:
            if acc._exception is not None:
                raise acc._exception
            pending = acc._batches.get(tp)
            batch = pending[-1] if pending else self._open(acc, tp)
            if batch._builder.append(
                timestamp=timestamp, key=out.key, value=out.value, headers=out.headers
            ):
                return
            # full: wait until the sender takes it, as aiokafka's send() does
            keyless = out.key is None and out.partition is None
            if keyless:
                self._sticky.pop(out.topic, None)
            await batch.wait_drain(producer._request_timeout_ms / 1000)
            if not batch._drain_waiter.done():
                raise KafkaTimeoutError(f"no room in the producer's batch for {tp} in time")
            if keyless:
                return await self.put(out)  # another sticky partition

    def _open(self, acc: Any, tp: TopicPartition) -> Any:
        batch = acc._append_batch(acc.create_builder(), tp)
        batch.future.add_done_callback(self._delivered)
        return batch

    async def _partition(self, topic: str, key: bytes | None) -> int:
        if key is not None:
            found = self._by_key.get((topic, key))
            if found is not None:
                return found
        parts = await self._topic_partitions(topic)
        if key is None:
            chosen = self._sticky.get(topic)
            if chosen is None:
                available = self._producer.client.cluster.available_partitions_for_topic(topic)
                chosen = self._sticky[topic] = random.choice(sorted(available) or parts)
            return chosen
        hashed = parts[placed_partition(key, len(parts))]
        if len(key) <= SHORT_KEY_BYTES:
            if len(self._by_key) >= KEY_CACHE:
                self._by_key.clear()
            self._by_key[topic, key] = hashed
        return hashed

    async def _topic_partitions(self, topic: str) -> list[int]:
        now = time.monotonic()
        cached = self._partitions.get(topic)
        if cached is not None and now - cached[0] < PARTITIONS_TTL_S:
            return cached[1]
        client = self._producer.client
        await client._wait_on_metadata(topic)
        parts = sorted(client.cluster.partitions_for_topic(topic) or ())
        if cached is not None and cached[1] != parts:
            self._by_key.clear()  # partitions were added: keys map anew, as aiokafka's would
        self._partitions[topic] = (now, parts)
        return parts

    def _delivered(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            log.critical(
                "the broker refused a batch: %r; exiting so a supervisor restarts the worker",
                None if future.cancelled() else future.exception(),
            )
            self.on_failure()
