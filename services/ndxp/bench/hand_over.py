"""One hop, as each consumer of a round trip pays it: a record produced → the broker appends it
(LogAppendTime) → a consumer that reads every ingress partition of the registry (297, as the
router does) has it. Records are sent one at a time at a quiet rate, each to a partition of
the mix, so every fetch answers with one record: the case of a clerk's round trip on a quiet
platform. Interleaved in one run, on one broker:

- **librdkafka** (C, the Locust user's client; no fetch sessions): the broker's own cost of a
  hop over that many partitions, with next to none of the client's;
- **aiokafka as shipped** (0.14: no sessions, its own planning);
- **ndxp's fetches without the hand-over** (sessions, the buffer bound; ``hand_over=False``);
- **ndxp's fetches with aiokafka's plan** (``one_pass=False``: :mod:`ndxp.kafka.fetch_plan`
  off);
- **ndxp's fetches** (the defaults of every ``ndxp`` command: :mod:`ndxp.kafka.fetch_session`).

``python -m ndxp.bench.hand_over --bootstrap B [--records 300] [--rounds 2]`` (the registry's
ingress topics are created if the broker has not got them); also ``make bench``'s ``hop``
phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ndxp.bench.backlog import ingress_partitions
from ndxp.bench.offsets import TP, Offsets
from ndxp.bench.roundtrip import percentiles
from ndxp.core.topology import topics_for
from ndxp.kafka import fetch_session
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry


def ingress(offsets: Offsets) -> list[TP]:
    """The registry's ingress partitions (topics created if the broker has not got them)."""
    registry = load_registry(DEFAULT_REGISTRY)
    offsets.create_topics(topics_for(registry, 3))
    return ingress_partitions(offsets, registry)


def send_paced(bootstrap: str, partitions: list[TP], records: int, rate: float) -> None:
    """``records`` records, one at a time, each to a random one of ``partitions``."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    rng = random.Random(7)
    for _ in range(records):
        topic, partition = rng.choice(partitions)
        producer.produce(topic, b"x", partition=partition)
        producer.poll(0)
        time.sleep(1 / rate)
    producer.flush(30)


def librdkafka(
    bootstrap: str, offsets: Offsets, partitions: list[TP], records: int, rate: float
) -> list[float]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"hop-{uuid.uuid4().hex[:6]}"}
        | {"enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(t, p, end) for (t, p), end in offsets.ends(partitions).items()])
    consumer.poll(1.0)  # connected, positions found
    sender = threading.Thread(target=send_paced, args=(bootstrap, partitions, records, rate))
    sender.start()
    hops: list[float] = []
    deadline = time.monotonic() + records / rate + 30
    while len(hops) < records and time.monotonic() < deadline:
        m = consumer.poll(0.1)
        if m is not None and m.error() is None:
            hops.append(time.time() * 1000 - m.timestamp()[1])
    sender.join()
    consumer.close()
    return hops


async def aiokafka(bootstrap: str, partitions: list[TP], records: int, rate: float) -> list[float]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t, p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        await consumer.getmany(timeout_ms=1000)  # positions found, a fetch in flight
        sender = threading.Thread(target=send_paced, args=(bootstrap, partitions, records, rate))
        sender.start()
        hops: list[float] = []
        deadline = time.monotonic() + records / rate + 30
        while len(hops) < records and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                now = time.time() * 1000
                hops += [now - r.timestamp for r in batch]
        await asyncio.to_thread(sender.join)
        return hops
    finally:
        await consumer.stop()


CONSUMERS: dict[str, Callable[[], None] | None] = {
    "librdkafka (C)": None,
    "aiokafka as shipped": fetch_session.uninstall,
    "ndxp's fetches, no hand-over": lambda: fetch_session.install(hand_over=False),
    "ndxp's fetches, aiokafka's plan": lambda: fetch_session.install(one_pass=False),
    "ndxp's fetches (defaults)": fetch_session.install,
}


def measure(bootstrap: str, records: int, rate: float, rounds: int) -> dict[str, Any]:
    offsets = Offsets(bootstrap)
    partitions = ingress(offsets)
    by_consumer: dict[str, list[dict[str, Any]]] = {name: [] for name in CONSUMERS}
    was_installed = fetch_session.installed()
    try:
        for n in range(rounds):
            for name, setup in CONSUMERS.items():
                print(f"hop: round {n + 1}/{rounds}, {name}", file=sys.stderr, flush=True)
                if setup is None:
                    hops = librdkafka(bootstrap, offsets, partitions, records, rate)
                else:
                    setup()
                    hops = asyncio.run(aiokafka(bootstrap, partitions, records, rate))
                by_consumer[name].append({"consumed": len(hops), **percentiles(hops)})
    finally:  # this process's other consumers fetch as they did before
        if was_installed:
            fetch_session.install()
        else:
            fetch_session.uninstall()
    return {
        "partitions": len(partitions),
        "records": records,
        "rate": rate,
        "append_to_consumed_ms": by_consumer,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--rate", type=float, default=20.0, help="records per second")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    result = measure(args.bootstrap, args.records, args.rate, args.rounds)
    cmd = "python -m ndxp.bench.hand_over " + " ".join(argv or sys.argv[1:])
    print(f"$ {cmd}\n  the broker's append → consumed, {result['partitions']} partitions (ms)")
    for name, runs in result["append_to_consumed_ms"].items():
        cells = "  ".join(f"p50 {r['p50']} p90 {r['p90']} p99 {r['p99']}" for r in runs)
        print(f"    {name:30} {cells}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
