"""The router group's seal key: one secret shared by every worker, agreed through Kafka.

A request under a limit that arrives off its client's home partition is written again on that
partition by the router (a *home copy*, :func:`ndxp.router.forwarding.to_home`), its internal
headers sealed with an HMAC of this key, so that no sender can write such a copy itself. Every
worker of the group must seal and check with the same key, wherever it runs: the key lives in
a topic of the group's own (``<group>-seal``, one partition, kept forever; in secured mode only
the router's principal may read or write it, :mod:`ndxp.core.acl`). The first worker to start
writes a random key; the key in force is the record at the topic's lowest offset, so workers
that start at the same moment and both write agree on the first one. Nothing of it is logged.
"""

from __future__ import annotations

import asyncio
import secrets
import time

from aiokafka import AIOKafkaProducer

from ndxp.core.errors import NdxpError
from ndxp.kafka.auth import KafkaAuth
from ndxp.kafka.io import first_partition

KEY = b"seal"


async def seal_key(
    bootstrap: str,
    topic: str,
    auth: KafkaAuth,
    timeout_s: float = 60.0,
    offered: bytes | None = None,
) -> bytes:
    """The key in force in ``topic`` (written first if there is none yet: ``offered``, else a
    random one; the benchmarks offer a key they know, ``ndxp.bench.seal``)."""
    found = await first_value(bootstrap, topic, auth, timeout_s)
    if found is not None:
        return found
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **auth.aiokafka()
    )
    await producer.start()
    try:
        key = secrets.token_bytes(32) if offered is None else offered
        await producer.send_and_wait(topic, key, key=KEY, partition=0)
    finally:
        await producer.stop()
    found = await first_value(bootstrap, topic, auth, timeout_s)
    if found is None:
        raise NdxpError(f"no seal key readable in {topic} after writing one")
    return found


async def first_value(
    bootstrap: str, topic: str, auth: KafkaAuth, timeout_s: float = 60.0
) -> bytes | None:
    """The value at the lowest offset of ``topic``'s partition 0, or ``None`` when empty."""
    consumer, tp = await first_partition(bootstrap, topic, auth)
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        start = (await consumer.beginning_offsets([tp]))[tp]
        if end <= start:
            return None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
            for record in batch.get(tp, []):
                if record.value:
                    return bytes(record.value)
            await asyncio.sleep(0)
        raise NdxpError(f"the seal key in {topic} could not be read within {timeout_s:.0f}s")
    finally:
        await consumer.stop()
