"""A backlog of the many-agency mix on the ingress topics: requests and their responses,
produced as a member's system would (idempotent, acks=all, keyed by client id with Kafka's
default partitioner), and where it lies (the offsets of each partition before and after).

Nothing else writes to the ingress topics while a backlog is filled, so the records between
the two snapshots are exactly the backlog's: that is how routers, the ledger and the loss count
find them without reading them.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ndxp.bench import seal
from ndxp.bench.mix import Mix
from ndxp.bench.offsets import TP, Offsets, delta, ranges
from ndxp.core import wire
from ndxp.core.registry import Registry

Headers = list[tuple[str, bytes]]
# How a sender shapes a record of the mix: (rng, key, headers) -> (key, headers)
Reshape = Callable[[random.Random, bytes | None, Headers], tuple[bytes | None, Headers]]

# Payload bytes are slices of one random buffer: os.urandom per record would cost more than
# producing it, and random bytes do not compress (no producer here compresses anyway).
NOISE = os.urandom(1 << 20)


def progress(text: str) -> None:
    """One line on stderr, rewritten in place (long work shows progress)."""
    print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


@dataclass
class Backlog:
    run: str
    requests: int
    messages: int  # ingress records: requests + responses
    value_bytes: int
    seconds: float
    start: dict[TP, int] = field(repr=False)
    end: dict[TP, int] = field(repr=False)

    @property
    def ranges(self) -> dict[TP, tuple[int, int]]:
        return ranges(self.start, self.end)

    def summary(self) -> dict[str, Any]:
        written = self.ranges
        return {
            "requests": self.requests,
            "messages": self.messages,
            "mean_payload_bytes": round(self.value_bytes / max(self.messages, 1)),
            "ingress_topics": len({t for t, _ in written}),
            "ingress_partitions": len(written),
            "fill_seconds": round(self.seconds, 1),
            "fill_rate": round(self.messages / max(self.seconds, 1e-3)),
        }


def ingress_partitions(offsets: Offsets, registry: Registry) -> list[TP]:
    return offsets.partitions(wire.ingress_topic(m.id) for m in registry.connected)


def member_topics(offsets: Offsets, registry: Registry, partitions: int) -> None:
    """Every connected member's topics with ``partitions`` each, created where missing;
    refused when its ingress topics exist with another count (topics keep theirs: a bench
    with ``--partitions`` then needs a broker of its own)."""
    from ndxp.core.topology import topics_for

    offsets.create_topics(topics_for(registry, partitions))
    found = len(ingress_partitions(offsets, registry))
    if found != partitions * len(registry.connected):
        raise RuntimeError(
            f"the broker's ingress topics have {found} partitions, not {partitions} each: "
            "topics keep their count (--broker-port: a broker of its own)"
        )


def producer(bootstrap: str, linger_ms: int = 20) -> Any:
    from confluent_kafka import Producer

    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": linger_ms,
            "acks": "all",
            "enable.idempotence": True,
            "batch.size": 512 * 1024,
            # keyed by the client id, hashed as Kafka's Java client and aiokafka do: each
            # client's requests on one partition of its member's ingress topic
            "partitioner": "murmur2_random",
        }
    )


def produce(p: Any, topic: str, value: bytes | None, **kw: Any) -> None:
    """``p.produce`` (confluent-kafka), waiting while the client's queue is full."""
    while True:
        try:
            p.produce(topic, value, **kw)
            return
        except BufferError:
            p.poll(0.05)


def fill(
    bootstrap: str,
    registry: Registry,
    requests: int,
    run: str,
    seed: int = 0,
    gate: Callable[[int], None] | None = None,
    label: str = "backlog",
    reshape: Reshape | None = None,
) -> Backlog:
    """Produce ``requests`` requests of the mix and their responses. ``gate(n)`` is called
    every 10,000 records with the count so far, and may wait (a bound on what is in flight).
    ``reshape``: each record's key and headers as a sender shapes them (ndxp.bench.senders)."""
    offsets = Offsets(bootstrap)
    tps = ingress_partitions(offsets, registry)
    start = offsets.ends(tps)
    mix = Mix(registry, seed, tickets=seal.TICKETS)  # answers as the providers would write them
    noise_rng = random.Random(seed + 1)
    shape_rng = random.Random(seed + 2)
    p = producer(bootstrap)
    n = size = 0
    total = 2 * requests
    t0 = time.perf_counter()
    for record in mix.exchanges(run, requests):
        at = noise_rng.randrange(len(NOISE) - record.size)
        value = NOISE[at : at + record.size]
        key: bytes | None = record.key
        headers = record.headers
        if reshape is not None:
            key, headers = reshape(shape_rng, key, headers)
        produce(p, record.topic, value, key=key, headers=headers)
        n += 1
        size += record.size
        if n % 10_000 == 0:
            p.poll(0)
            progress(f"{label}: {n:,}/{total:,} produced ({n / (time.perf_counter() - t0):,.0f}/s)")
            if gate is not None:
                gate(n)
    left = p.flush(120)
    if left:
        raise RuntimeError(f"{left} records of the backlog not delivered")
    seconds = time.perf_counter() - t0
    progress("")
    end = offsets.ends(tps)
    written = delta(start, end)
    if written != n:
        raise RuntimeError(
            f"{written} records landed on the ingress topics for {n} produced: "
            "something else writes to them"
        )
    return Backlog(run, requests, n, size, seconds, start, end)
