"""``ndxp simulate``: provider systems that answer the requests routed to chosen members.

Each answer is a response to the request's client and service with
``ndxp-correlation-id`` = the request's id, sent on the member's own ingress topic.
The simulated body is a small JSON document, not real data.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError

from ndxp import heap
from ndxp.core import wire
from ndxp.core.answer import headers as answer_headers
from ndxp.core.answer import topic as answer_topic
from ndxp.core.document_walk import SPEED
from ndxp.core.wire import header
from ndxp.gateway.provider import subsystem_of
from ndxp.kafka.io import producer
from ndxp.logs import configure
from ndxp.registry_file import load_registry
from ndxp.settings import ClientSettings

log = logging.getLogger("ndxp.simulate")
# Answers are not held for a batch: a simulated service time of 0 must add nothing. aiokafka's
# 2 ms linger cost each answer 2.1-2.3 ms (send → broker ack p50 3.1-3.3 → 0.9-1.0 ms, one
# record every 30 ms); under load batches still form while a send is in flight.
LINGER_MS = 0
DEFAULT_GROUP = "ndxp-simulator"


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="answer requests routed to members (provider simulator)")
    p.add_argument(
        "members", nargs="*", help="member codes to answer for (default: every connected provider)"
    )
    p.add_argument("--service-time-ms", type=float, default=0.0)
    p.add_argument(
        "--group",
        default=DEFAULT_GROUP,
        help="consumer group (secured mode: one of the member's own, e.g. <code>.simulator)",
    )
    p.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    p.add_argument(
        "--http",
        action="store_true",
        help="instead: providers' REST APIs (population, land, tax, one-stop shop) to call",
    )
    p.add_argument("--port", type=int, default=9300, help="with --http: the port (9300)")
    p.add_argument(
        "--documents",
        action="store_true",
        help="instead: receiving agencies that walk documents routed to them 01 → 06",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=SPEED,
        help=f"with --documents: simulated time × this (default {SPEED:g}: a day in 8.6 s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="with --documents: the walks' seed (each delivery's decisions follow from it)",
    )
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="with --http: service times × this (0: none)"
    )
    p.set_defaults(func=simulate_cmd)


async def simulate_cmd(args: argparse.Namespace) -> int:
    configure("INFO")
    if args.http:
        from ndxp.gateway.simulated import serve

        await serve("127.0.0.1", args.port, args.time_scale)
        return 0
    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    registry = load_registry(settings.registry_path)
    if args.documents:
        from ndxp.cli import doc_agencies

        everyone = sorted(str(m.id.code) for m in registry.connected)
        group = "ndxp-doc-agencies" if args.group == DEFAULT_GROUP else args.group
        return await doc_agencies.run(args, group, registry, args.members or everyone)
    members = args.members or sorted(
        {str(s.route.code) for s in registry.services.values() if s.route is not None}
    )
    topics = [wire.egress_topic(m.split(":")[-1]) for m in members]
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap,
        group_id=args.group,
        auto_offset_reset="latest",
        enable_auto_commit=True,
        fetch_max_wait_ms=10,  # a long poll on idle topics would delay the busy ones
        **settings.auth.aiokafka(),
    )
    p = producer(settings.bootstrap, settings.auth, linger_ms=LINGER_MS)
    await consumer.start()
    await p.start()
    await positioned(consumer)
    heap.settle()  # before it says it serves: no call waits on the collection
    log.info("answering requests for %d member(s): %s", len(members), ", ".join(members))
    in_flight = asyncio.Semaphore(10_000)
    tasks: set[asyncio.Task[None]] = set()
    try:
        async for r in consumer:
            h = list(r.headers)
            if header(h, wire.H_KIND) != wire.KIND_REQUEST:
                continue
            if subsystem_of(registry, header(h, wire.H_SERVICE)) is not None:
                continue  # reached over HTTP: ndxp provide answers it
            if not args.service_time_ms:
                await answer(p, r, h)
                continue
            # the service time is each answer's latency, not a limit on the rate: answers wait
            # side by side (bounded, so a flood cannot exhaust memory)
            await in_flight.acquire()
            task = asyncio.create_task(answer_later(p, r, h, args.service_time_ms, in_flight))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        await consumer.stop()
        await p.stop()
    return 0


async def positioned(consumer: AIOKafkaConsumer, timeout_s: float = 60) -> None:
    """Until the group has given ``consumer`` its partitions and each one's start is known.

    The simulator starts a new group at the log's end (``latest``): a request routed before
    its partitions are assigned and positioned would never be answered. The tests wait for
    the line logged after this (the benches start its group at the topics' ends instead). A
    group whose other members hold every partition assigns none: after ``timeout_s`` it goes
    on without."""
    deadline = time.monotonic() + timeout_s
    while not consumer.assignment():
        if time.monotonic() > deadline:
            log.warning("no partition assigned after %.0f s", timeout_s)
            return
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        try:
            await consumer.position(tp)
        except IllegalStateError:  # revoked meanwhile: its next owner positions it
            continue


async def answer_later(
    p: Any, r: Any, h: list[tuple[str, bytes]], service_time_ms: float, slots: asyncio.Semaphore
) -> None:
    try:
        await asyncio.sleep(service_time_ms / 1000)
        await answer(p, r, h)
    finally:
        slots.release()


async def answer(p: Any, r: Any, h: list[tuple[str, bytes]]) -> None:
    """A response to the request's client and service, on the provider's ingress topic."""
    service = header(h, wire.H_SERVICE) or ""
    body = orjson.dumps(
        {
            "status": "ok",
            "simulated": True,
            "service": service,
            "request_bytes": len(r.value or b""),
            # an HTTP call through the gateway: what the provider was asked (no payload)
            "method": header(h, wire.H_HTTP_METHOD),
            "path": header(h, wire.H_HTTP_PATH),
            "query": header(h, wire.H_HTTP_QUERY),
        }
    )
    # the provider's claim of when it answered (the ledger's produced_at; round-trip legs);
    # 200: what the X-Road gateway answers with
    response = answer_headers(h, str(uuid.uuid4()), int(time.time() * 1000), 200)
    response.append(("content-type", b"application/json"))
    await p.send(answer_topic(r.topic), body, key=r.key, headers=response)
