"""Small aiokafka helpers shared by the client tools (send, tail, simulate, bench)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from ndxp.core.errors import NdxpError
from ndxp.core.topology import MAX_MESSAGE_BYTES, PRODUCER_BATCH_BYTES, key_partition
from ndxp.kafka.auth import KafkaAuth

_DEFAULT_PARTITIONER = DefaultPartitioner()


def producer(bootstrap: str, auth: KafkaAuth, **kw: object) -> AIOKafkaProducer:
    """An idempotent acks=all producer, authenticated as ``auth`` says, that takes records as
    large as the platform's topics do (aiokafka's own bound, 1 MiB, refused the largest value
    the platform accepts once its headers were added: a 1 MiB answer or body), in batches of
    up to ``PRODUCER_BATCH_BYTES`` a partition, a keyed record where the router would place it
    (:func:`keyed_partition`)."""
    kw.setdefault("max_request_size", MAX_MESSAGE_BYTES)
    kw.setdefault("max_batch_size", PRODUCER_BATCH_BYTES)
    kw.setdefault("partitioner", keyed_partition)
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        **auth.aiokafka(),
        **kw,
    )


def keyed_partition(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """ndxp's placement of a keyed record (:func:`ndxp.core.topology.key_partition`): a key of
    up to 128 bytes as aiokafka's ``DefaultPartitioner`` (murmur2 of the key over the topic's
    partitions, sorted, as the Java client does), its choice remembered; a longer key by its
    SHA-256. A record without a key goes to a random available partition, as aiokafka's."""
    if key is None:
        return int(_DEFAULT_PARTITIONER(key, all_partitions, available))
    return all_partitions[key_partition(key, len(all_partitions))]


async def first_partition(
    bootstrap: str, topic: str, auth: KafkaAuth
) -> tuple[AIOKafkaConsumer, TopicPartition]:
    """A started, group-less consumer assigned partition 0 of ``topic``, positioned at its
    beginning (a single-partition topic read whole: the registry feed, the seal key)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **auth.aiokafka(),
    )
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    return consumer, tp


async def consumer_at_end(
    bootstrap: str, topics: Iterable[str], auth: KafkaAuth
) -> AIOKafkaConsumer:
    """A group-less consumer assigned every partition of ``topics``, positioned at their end.
    Topics the principal may not see (secured mode) are left out."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **auth.aiokafka())
    await c.start()
    topics = list(topics)
    tps: list[TopicPartition] = []
    for topic in topics:
        parts = c.partitions_for_topic(topic)
        if parts is None:
            await c._client.force_metadata_update()
            parts = c.partitions_for_topic(topic) or set()
        tps.extend(TopicPartition(topic, p) for p in sorted(parts))
    if not tps:
        await c.stop()
        raise NdxpError(f"no such topic, or not authorized to read it: {', '.join(topics)}")
    c.assign(tps)
    await c.seek_to_end(*tps)
    for tp in tps:  # resolve positions now, before anything is produced
        await c.position(tp)
    return c


async def read_whole(
    bootstrap: str, topic: str, auth: KafkaAuth, follow_s: float = 0.0
) -> AsyncIterator[Any]:
    """Every record of ``topic`` from its beginning up to its end as of now, partition by
    partition (an inbox, a compacted state topic read whole), then, with ``follow_s``, a
    ``None`` (caught up) and what arrives for that many seconds more (the caller stops earlier
    by leaving the loop); refuses a topic the principal cannot see."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **auth.aiokafka())
    await c.start()
    try:
        tps = await partitions_of(c, topic)
        if not tps:
            raise NdxpError(f"no such topic, or not authorized to read it: {topic}")
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        ends = await c.end_offsets(tps)
        deadline = None
        while True:
            if deadline is None and not [tp for tp in tps if await c.position(tp) < ends[tp]]:
                if not follow_s:
                    return
                deadline = time.monotonic() + follow_s
                yield None
            if deadline is not None and time.monotonic() > deadline:
                return
            for records in (await c.getmany(timeout_ms=500)).values():
                for r in records:
                    if (
                        deadline is not None
                        or r.offset < ends[TopicPartition(r.topic, r.partition)]
                    ):
                        yield r
    finally:
        await c.stop()


async def partitions_of(c: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``, for a consumer that adds topics to its assignment one at a
    time (its metadata covers only the topics it was told of: the topic is added to them);
    none when it does not exist or the principal may not see it."""
    parts = c.partitions_for_topic(topic)
    if parts is None:
        await c._client.add_topic(topic)
        parts = c.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(parts)]


async def wait_for_topics(
    bootstrap: str, names: Iterable[str], auth: KafkaAuth, timeout_s: float = 60.0
) -> None:
    """Wait until the broker's metadata has every topic in ``names``. A topic just created
    is not in it at once: a broker busy creating hundreds of partitions publishes the newest
    ones seconds later, and a Faust worker that joins its group meanwhile ignores them
    ("Ignoring missing topic") until the next rebalance."""
    from aiokafka.admin import AIOKafkaAdminClient

    wanted = sorted(set(names))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="ndxp-wait", **auth.aiokafka()
    )
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            pending = [
                t["topic"]
                for t in await admin.describe_topics(wanted)
                # present is enough: partition errors (a replica or a leader down on a
                # cluster losing brokers) are the consumer's to ride out, as before
                if t["error_code"] != 0 or not t["partitions"]
            ]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise NdxpError(
                    f"{len(pending)} topic(s) not ready after {timeout_s:.0f}s: "
                    f"{', '.join(pending[:5])}"
                )
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
