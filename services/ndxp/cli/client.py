"""``ndxp send`` and ``ndxp tail``: what a member's system does on the exchange."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from ndxp.core import wire
from ndxp.core.errors import NdxpError
from ndxp.core.wire import header
from ndxp.kafka.io import consumer_at_end, producer
from ndxp.registry_file import load_registry
from ndxp.settings import ClientSettings


def register(sub: Any) -> None:
    s = sub.add_parser("send", help="send one request (or response, or notice) as a member")
    s.add_argument(
        "--as",
        dest="member",
        required=True,
        help="sending member (code like 000.00.00.H41, or full id)",
    )
    s.add_argument("--client", required=True, help="client subsystem id")
    s.add_argument("--service", required=True, help="service id")
    s.add_argument("--data", default="", help="payload text, or @FILE")
    s.add_argument(
        "--kind",
        default=wire.KIND_REQUEST,
        choices=(wire.KIND_REQUEST, wire.KIND_RESPONSE, wire.KIND_NOTICE),
        help="request (default), response, or notice (one-way: nothing answers it)",
    )
    s.add_argument("--id", help="message id (default: a new UUID)")
    s.add_argument("--correlation-id", help="for a response: the request's id")
    s.add_argument(
        "--ticket",
        help="for a response: the request copy's ndxp-ticket, echoed (`ndxp tail` shows it)",
    )
    s.add_argument("--key", help="Kafka key (default: the client id)")
    s.add_argument(
        "--wait",
        action="store_true",
        help="print where it was routed and the response or error notice",
    )
    s.add_argument("--timeout", type=float, default=15.0, help="seconds to wait (--wait)")
    s.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    s.set_defaults(func=send_cmd)

    t = sub.add_parser("tail", help="follow a member's egress topic")
    t.add_argument("member", help="member code (000.00.00.H41) or the topic name")
    t.add_argument("--from-beginning", action="store_true")
    t.add_argument("--values", action="store_true", help="also print values (as text)")
    t.add_argument("--max", type=int, default=0, help="stop after N messages")
    t.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    t.set_defaults(func=tail_cmd)


def _member_code(text: str) -> str:
    return text.split(":")[2] if text.count(":") == 2 else text


def _payload(data: str) -> bytes:
    if data.startswith("@"):
        return Path(data[1:]).read_bytes()
    return data.encode("utf-8")


async def send_cmd(args: argparse.Namespace) -> int:
    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    code = _member_code(args.member)
    message_id = args.id or str(uuid.uuid4())
    headers = [
        (wire.H_ID, message_id.encode()),
        (wire.H_KIND, args.kind.encode()),
        (wire.H_CLIENT, args.client.encode()),
        (wire.H_SERVICE, args.service.encode()),
    ]
    if args.correlation_id:
        headers.append((wire.H_CORRELATION_ID, args.correlation_id.encode()))
    if args.ticket:
        headers.append((wire.H_TICKET, args.ticket.encode()))
    value = _payload(args.data)
    key = (args.key or args.client).encode()
    watch = None
    if args.wait:
        registry = load_registry(settings.registry_path)
        topics = {wire.egress_topic(code), wire.REJECTED_TOPIC}
        topics.update(wire.egress_topic(m.id) for m in registry.connected)
        # in secured mode a member sees only its own egress topic: the others are left out
        watch = await consumer_at_end(settings.bootstrap, sorted(topics), settings.auth)
    p = producer(settings.bootstrap, settings.auth)
    await p.start()
    try:
        md = await p.send_and_wait(wire.ingress_topic(code), value, key=key, headers=headers)
    finally:
        await p.stop()
    print(
        f"sent {args.kind} {message_id} to {md.topic}[{md.partition}]@{md.offset} "
        f"({len(value)} bytes)"
    )
    if watch is None:
        return 0
    try:
        return await _watch(watch, message_id, code, args.timeout, args.kind == wire.KIND_NOTICE)
    finally:
        await watch.stop()


async def _watch(
    consumer: Any, message_id: str, own: str, timeout: float, one_way: bool = False
) -> int:
    """Follow the message: routed (its id on an egress topic), rejected, then the answer (a
    notice has none: routed is the end of it)."""
    deadline = time.monotonic() + timeout
    own_topic = wire.egress_topic(own)
    routed = False
    while time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for r in records:
                h = list(r.headers)
                if header(h, wire.H_ID) == message_id:
                    if r.topic == wire.REJECTED_TOPIC:
                        print(
                            f"rejected {header(h, wire.H_ERROR)}: {header(h, wire.H_ERROR_DETAIL)}"
                        )
                        return 1
                    print(
                        f"routed to {r.topic} (route {header(h, wire.H_ROUTE)}, "
                        f"routed-at {header(h, wire.H_ROUTED_AT)})"
                    )
                    routed = True
                    if one_way:
                        return 0
                elif r.topic == own_topic and header(h, wire.H_CORRELATION_ID) == message_id:
                    if header(h, wire.H_KIND) == wire.KIND_ERROR:
                        print(
                            f"error notice {header(h, wire.H_ERROR)}: "
                            f"{header(h, wire.H_ERROR_DETAIL)}"
                        )
                        return 1
                    value = (r.value or b"").decode("utf-8", "replace")
                    print(
                        f"response {header(h, wire.H_ID)} ({len(r.value or b'')} bytes): "
                        f"{value[:200]}"
                    )
                    return 0
    if routed:
        print(f"no response within {timeout:.0f}s (is a provider simulator running?)")
        return 0
    raise NdxpError(f"nothing seen for {message_id} within {timeout:.0f}s: is the router up?")


async def tail_cmd(args: argparse.Namespace) -> int:
    from aiokafka import AIOKafkaConsumer

    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    topic = (
        args.member
        if args.member.startswith("ndxp.")
        else wire.egress_topic(_member_code(args.member))
    )
    if args.from_beginning:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **settings.auth.aiokafka(),
        )
        await consumer.start()
    else:
        consumer = await consumer_at_end(settings.bootstrap, [topic], settings.auth)
    print(f"following {topic} (Ctrl-C to stop)", file=sys.stderr)
    seen = 0
    try:
        async for r in consumer:
            value = r.value or b""
            line: dict[str, Any] = {
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "headers": {k: (v or b"").decode("utf-8", "replace") for k, v in r.headers},
                "size": len(value),
                "sha256": hashlib.sha256(value).hexdigest()[:16],
            }
            if args.values:
                line["value"] = value.decode("utf-8", "replace")
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
            sys.stdout.flush()
            seen += 1
            if args.max and seen >= args.max:
                break
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
    return 0
