"""The broker's own limit on this machine: Kafka's perf tools (the Java client, from the same
Maven Central jars as the broker) produce and then consume a backlog of the bench's record
size on the same broker. What the router and the plain Python loop are compared against."""

from __future__ import annotations

import re
import subprocess
import uuid
from typing import Any

from ndxp.paths import REPO

KAFKA = REPO / "infra" / "kafka"
PRODUCED = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th"
)


def _java(tool: str, *args: str) -> str:
    cmd = [
        "java",
        "-Xmx512m",
        "-cp",
        f"{KAFKA / 'lib'}/*",
        f"-Dlog4j.configuration=file:{KAFKA / 'log4j.properties'}",
        f"org.apache.kafka.tools.{tool}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout


def produce(bootstrap: str, topic: str, n: int, size: int) -> dict[str, Any]:
    """``ProducerPerformance``: as fast as it can, acks=all, idempotent (the default)."""
    out = _java(
        "ProducerPerformance",
        *("--topic", topic, "--num-records", str(n), "--record-size", str(size)),
        *("--throughput", "-1", "--producer-props", f"bootstrap.servers={bootstrap}"),
        *("acks=all", "linger.ms=5", "batch.size=262144"),
    )
    found = PRODUCED.findall(out)
    if not found:
        raise RuntimeError(f"ProducerPerformance printed no summary:\n{out[-2000:]}")
    sent, rate, mb, _avg, _max, p50, _p95, p99 = found[-1]
    return {
        "records": int(sent),
        "rate": round(float(rate)),
        "mb_s": float(mb),
        "p50_ms": int(p50),
        "p99_ms": int(p99),
    }


def consume(bootstrap: str, topic: str, n: int) -> dict[str, Any]:
    """``ConsumerPerformance``: the same backlog read back by a new group."""
    out = _java(
        "ConsumerPerformance",
        *("--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(n)),
        *("--group", f"perf-{uuid.uuid4().hex[:8]}"),
    )
    # start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance ms, fetch ms, fetch MB.sec,
    # fetch nMsg.sec: the fetch rate leaves out the group join
    for line in reversed(out.splitlines()):
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 10 and fields[4].isdigit():
            return {"records": int(fields[4]), "rate": round(float(fields[9]))}
    raise RuntimeError(f"ConsumerPerformance printed no summary:\n{out[-2000:]}")
