"""Router workers for the benchmarks: started as operators run them (``ndxp router``, inline
quota stage), watched through their health endpoint, in consumer groups that begin at the end
of the topics."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from ndxp.paths import REPO


def skip_backlog(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit ``group``'s offsets at the end of ``topics``: a router or ledger started in that
    group begins with what is produced next, not with earlier phases' messages."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        metadata = c.list_topics(timeout=30)
        ends = []
        for topic in topics:
            for p in metadata.topics[topic].partitions:
                high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                ends.append(TopicPartition(topic, p, high))
        c.commit(offsets=ends, asynchronous=False)
    finally:
        c.close()


def start_router(
    bootstrap: str,
    var: Path,
    registry: Path,
    group: str,
    port: int,
    label: str,
    quotas: bool = True,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NDXP_VAR": str(var),
        "NDXP_LOG_LEVEL": "WARNING",
        "NDXP_QUOTAS": "on" if quotas else "off",
        "NDXP_QUOTA_STAGE": "inline",
    }
    cmd = [str(REPO / ".venv" / "bin" / "ndxp"), "router", "--bootstrap", bootstrap]
    cmd += ["--group", group, "--web-port", str(port), "--registry", str(registry)]
    with (var / f"router-{label}.log").open("wb") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def health(port: int) -> dict[str, Any]:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]
    except OSError as exc:
        body = getattr(exc, "read", None)
        return json.loads(body()) if body else {}


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"router exited with {proc.returncode}")
        if health(port).get("ready"):
            return
        time.sleep(0.3)
    raise RuntimeError("router not ready")
