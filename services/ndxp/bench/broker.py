"""The benchmarks' own Kafka broker: on its own port and data folder, so a benchmark never
mixes with ``make run``'s platform, empty at every start, stopped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ndxp.core.topology import TopicSpec
from ndxp.paths import REPO


def stop_broker(port: int, var: Path) -> None:
    """Stop the bench's broker on ``port`` if one is still running (a run killed before its
    end leaves it up; its pid file is under ``var``)."""
    env = {**os.environ, "NDXP_KAFKA_PORT": str(port), "NDXP_VAR": str(var)}
    kafka = str(REPO / "infra" / "kafka" / "kafka.sh")
    subprocess.run([kafka, "stop"], env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def own_broker(port: int, var: Path, keep: bool = False) -> Iterator[str]:
    """Start an empty broker on ``port`` with its data under ``var``; yield its bootstrap."""
    env = {**os.environ, "NDXP_KAFKA_PORT": str(port), "NDXP_VAR": str(var)}
    kafka = str(REPO / "infra" / "kafka" / "kafka.sh")
    stop_broker(port, var)
    shutil.rmtree(var / f"kafka-{port}", ignore_errors=True)
    var.mkdir(parents=True, exist_ok=True)
    subprocess.run([kafka, "start"], env=env, check=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if not keep:
            subprocess.run([kafka, "stop"], env=env, check=False)


def create_topics(bootstrap: str, specs: list[TopicSpec]) -> None:
    """Create ``specs`` on the benchmark's own broker: one PLAINTEXT node, one replica."""
    import asyncio

    from ndxp.kafka.admin import ensure_topics
    from ndxp.kafka.auth import KafkaAuth

    asyncio.run(ensure_topics(bootstrap, specs, KafkaAuth(), replication=1))
