"""Every router worker follows the compacted registry topic (no consumer group: each worker
reads all of it) and applies each valid version it finds; the last one wins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ndxp.core.registry import Registry, RegistryError
from ndxp.kafka.auth import KafkaAuth
from ndxp.kafka.io import first_partition
from ndxp.registry_file import parse_registry

log = logging.getLogger("ndxp.registry")
REGISTRY_KEY = b"registry"


async def follow(
    bootstrap: str,
    topic: str,
    apply: Callable[[Registry], Awaitable[None]],
    auth: KafkaAuth,
) -> None:
    consumer, tp = await first_partition(bootstrap, topic, auth)
    try:
        while True:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records = batch.get(tp, [])
            latest = next((r for r in reversed(records) if r.key == REGISTRY_KEY), None)
            if latest is None or latest.value is None:
                continue
            try:
                registry = parse_registry(latest.value, f"{topic}@{latest.offset}")
            except RegistryError as exc:
                log.error(
                    "registry at %s@%d refused, keeping the one in force: %s",
                    topic,
                    latest.offset,
                    exc,
                )
                continue
            await apply(registry)
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
