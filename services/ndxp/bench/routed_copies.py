"""The copies a router writes for the many-agency mix (requests, responses, notices), written
straight to the egress topics (no router runs): what the ledger reads, exactly as
``ndxp router`` makes it (:func:`ndxp.router.forwarding.routed`: the sender's headers, then
``ndxp-routed-at``, ``ndxp-route`` and the ingress coordinates; the time of receipt as the
Kafka timestamp; the record on the partition the router's producer picks for its key).

Each record of the mix is placed on the partition of its ingress topic where its key (the
client id) lands, at an offset counted from ``base[partition]`` upward: a benchmark chooses
the bases above the rows it put in the ledger itself (:mod:`ndxp.bench.prefill`).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ndxp.bench.backlog import NOISE, produce, producer, progress
from ndxp.bench.mix import Mix, Record, destinations
from ndxp.bench.offsets import TP, Offsets
from ndxp.core import wire
from ndxp.core.ledger import Row, ledger_row
from ndxp.core.registry import Registry
from ndxp.core.topology import client_partition
from ndxp.router.forwarding import Source, routed


@dataclass(frozen=True, slots=True)
class Planned:
    """One ingress record of the mix and where the router sends its copy."""

    record: Record
    source: TP  # its ingress topic and partition
    topic: str  # the egress topic
    partition: int  # of the egress topic
    route: str  # the member code of the egress topic


def plan(
    registry: Registry, run: str, requests: int, partitions: int, seed: int = 0
) -> list[Planned]:
    """``requests`` exchanges of the mix (a request and its response, or two notices), each
    record with its destination."""
    mix = Mix(registry, seed)
    by_service, by_client, _ = destinations(registry)
    out: list[Planned] = []
    for record in mix.exchanges(run, requests):
        h = dict(record.headers)
        if h[wire.H_KIND] == wire.KIND_RESPONSE.encode():
            topic = by_client[h[wire.H_CLIENT].decode()]
        else:  # a request or a notice: to its service's provider
            topic = by_service[h[wire.H_SERVICE].decode()]
        at = client_partition(record.key.decode(), partitions)
        route = topic.removeprefix(wire.EGRESS_PREFIX)
        out.append(Planned(record, (record.topic, at), topic, at, route))
    return out


def per_source(planned: list[Planned]) -> dict[TP, int]:
    """How many records each ingress partition carries."""
    return dict(Counter(p.source for p in planned))


@dataclass
class Written:
    start: dict[TP, int]  # egress partition → first offset written
    end: dict[TP, int]
    received_ms: tuple[int, int]  # first and last time of receipt
    seconds: float
    templates: dict[TP, list[Row]]  # per ingress partition: ledger rows of its first copies


def write(
    bootstrap: str,
    planned: list[Planned],
    base: Mapping[TP, int],
    egress: list[TP],
    seed: int = 0,
    templates: int = 64,
) -> Written:
    """Produce the copies of ``planned``, ingress offsets from ``base`` up; keep the ledger
    rows of the first ``templates`` copies of each ingress partition."""
    offsets = Offsets(bootstrap)
    start = offsets.ends(egress)
    p = producer(bootstrap)
    rng = random.Random(seed + 1)
    next_offset = dict(base)
    kept: dict[TP, list[Row]] = {}
    first_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    received = first_ms
    failed: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failed.append(str(err))

    for n, item in enumerate(planned, 1):
        record = item.record
        at = rng.randrange(len(NOISE) - record.size)
        value = NOISE[at : at + record.size]
        offset = next_offset[item.source]
        next_offset[item.source] = offset + 1
        received = int(time.time() * 1000)
        source = Source(item.source[0], item.source[1], offset, received)
        copy = routed(
            item.topic, record.key, value, record.headers, item.route, source, received + 2
        )
        produce(
            p,
            copy.topic,
            copy.value,
            key=copy.key,
            headers=list(copy.headers),
            partition=item.partition,
            timestamp=received,
            on_delivery=delivered,
        )
        rows = kept.setdefault(item.source, [])
        if len(rows) < templates:
            row = ledger_row(copy.topic, item.partition, 0, received, value, copy.headers)
            assert row is not None
            rows.append(row)
        if n % 10_000 == 0:
            p.poll(0)
            progress(f"copies: {n:,}/{len(planned):,} produced")
    left = p.flush(120)
    if left or failed:
        raise RuntimeError(f"{left + len(failed)} copies not delivered: {failed[:3]}")
    progress("")
    end = offsets.ends(egress)
    landed = sum(end[tp] - start.get(tp, 0) for tp in end)
    if landed != len(planned):
        raise RuntimeError(f"{landed} records on the egress topics for {len(planned)} copies")
    return Written(start, end, (first_ms, received), time.perf_counter() - t0, kept)


def summary(planned: list[Planned], written: Written) -> dict[str, Any]:
    egress = {tp for tp, end in written.end.items() if end > written.start.get(tp, 0)}
    size = sum(p.record.size for p in planned)
    return {
        "copies": len(planned),
        "requests": sum(1 for p in planned if p.record.headers[1][1] == b"request"),
        "ingress_partitions": len({p.source for p in planned}),
        "egress_partitions": len(egress),
        "mean_payload_bytes": round(size / max(len(planned), 1)),
        "produce_seconds": round(written.seconds, 1),
    }
