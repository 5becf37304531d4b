"""The baseline: a plain aiokafka router, what a Python engineer writes in an afternoon.

It reads every ingress topic in its consumer group, looks the destination up from the
headers (a request goes to its service's provider, a response to its client's member, a
document to each receiver it names, with ``ndxp-doc-receiver`` added: one dict lookup per
copy, no checks, no quotas, no statuses), forwards key, value and headers with ``ndxp-routed-at``,
``ndxp-route`` and ``ndxp-sent-at`` added and its time of receipt as the copy's timestamp (the
stamps the round-trip probe reads, as on the router's copies), and is at-least-once as the
router is: consume a batch, produce it, flush, commit. The client settings are the ones the
one-topic loop of :mod:`ndxp.bench.routing` has always used (poll 1,000 records, linger 5 ms,
256 KiB batches, acks=all).

Run as a process, like ``ndxp router``, so that both are started, watched and measured the
same way: ``python -m ndxp.bench.plain --bootstrap HOST:PORT --group G [--registry FILE]``
(until stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from ndxp.bench.mix import destinations
from ndxp.core import wire
from ndxp.core.document import H_DOC_TO
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry


async def forward(bootstrap: str, group: str, registry_path: Path, topics: list[str]) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    registry = load_registry(registry_path)
    by_service, by_client, by_agency = destinations(registry)
    topics = topics or sorted(wire.ingress_topic(m.id) for m in registry.connected)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=1000,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=1000)
            if not batch:
                continue
            received = int(time.time() * 1000)
            for records in batch.values():
                for r in records:
                    headers = dict(r.headers)
                    kind = headers.get(wire.H_KIND)
                    if kind == b"document":
                        for code in headers[H_DOC_TO].decode().split(","):
                            copy = [*r.headers, (wire.H_DOC_RECEIVER, code.encode())]
                            await send(producer, r, by_agency[code], received, copy)
                    elif kind == b"response":
                        topic = by_client[headers[wire.H_CLIENT].decode()]
                        await send(producer, r, topic, received)
                    else:
                        topic = by_service[headers[wire.H_SERVICE].decode()]
                        await send(producer, r, topic, received)
            await producer.flush()
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


async def send(
    producer: Any,
    r: Any,
    topic: str,
    received: int,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """``r`` forwarded to ``topic`` with the router's stamps, its time of receipt (ms) as the
    copy's timestamp."""
    h = [
        *(r.headers if headers is None else headers),
        (wire.H_ROUTED_AT, str(int(time.time() * 1000)).encode()),
        (wire.H_ROUTE, topic[len(wire.EGRESS_PREFIX) :].encode()),
        (wire.H_SENT_AT, str(r.timestamp).encode()),
    ]
    await producer.send(topic, r.value, key=r.key, headers=h, timestamp_ms=received)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY)
    ap.add_argument("--topic", action="append", default=[], help="default: every ingress topic")
    args = ap.parse_args(argv)
    import uvloop

    uvloop.run(forward(args.bootstrap, args.group, args.registry, args.topic))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
