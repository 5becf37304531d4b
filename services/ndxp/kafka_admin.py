"""Creating ndxp's topics on the broker (never by auto-creation)."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ndxp.core.topology import TopicSpec

log = logging.getLogger("ndxp.topics")


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="ndxp-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        # Batches keep each CreateTopics request small.
        for i in range(0, len(missing), 50):
            batch = missing[i : i + 50]
            new = [
                NewTopic(s.name, s.partitions, 1, topic_configs=dict(s.config)) for s in batch
            ]
            try:
                await admin.create_topics(new, timeout_ms=30000)
            except TopicAlreadyExistsError:
                pass
            created.extend(s.name for s in batch)
        if created:
            log.info("created %d topics", len(created))
        return created
    finally:
        await admin.close()
