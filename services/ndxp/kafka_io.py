"""Small aiokafka helpers shared by the client tools (send, tail, simulate, bench)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


def producer(bootstrap: str, **kw: object) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **kw)


async def consumer_at_end(bootstrap: str, topics: Iterable[str]) -> AIOKafkaConsumer:
    """A group-less consumer assigned every partition of ``topics``, positioned at their end."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    tps: list[TopicPartition] = []
    for topic in topics:
        parts = c.partitions_for_topic(topic)
        if parts is None:
            await c._client.force_metadata_update()
            parts = c.partitions_for_topic(topic) or set()
        tps.extend(TopicPartition(topic, p) for p in sorted(parts))
    c.assign(tps)
    await c.seek_to_end(*tps)
    for tp in tps:  # resolve positions now, before anything is produced
        await c.position(tp)
    return c


def header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    for k, v in headers:
        if k == name:
            return v.decode("utf-8", "replace") if v is not None else None
    return None
