"""``ndxp doc``: the document exchange axis from the command line — send a document to many
agencies and see where each copy went; read a member's inbox (each document once)."""

from __future__ import annotations

import argparse
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.core import wire
from ndxp.core.document import (
    H_DOC_BUSINESS,
    H_DOC_DUE,
    H_DOC_ID,
    H_DOC_PRIORITY,
    H_DOC_REF,
    H_DOC_TO,
    H_DOC_TYPE,
    delivery_key,
)
from ndxp.core.errors import NdxpError
from ndxp.core.wire import header
from ndxp.kafka.io import consumer_at_end, producer
from ndxp.settings import ClientSettings


def register(sub: Any) -> None:
    doc = sub.add_parser("doc", help="official documents: send to many agencies, read an inbox")
    cmds = doc.add_subparsers(dest="doc_command", required=True)
    s = cmds.add_parser("send", help="send one document (an edXML package) to its receivers")
    s.add_argument("--as", dest="member", required=True, help="sending member code")
    s.add_argument("--client", required=True, help="the sending subsystem id")
    s.add_argument("--to", required=True, help="receivers' agency codes, comma-separated")
    s.add_argument("--id", required=True, help="edXML id: <sender>,<YYYY/MM/DD>,<no>/<notation>")
    s.add_argument("--type", default="CV", help="document type code (default CV)")
    s.add_argument("--priority", default="0", help="0 normal ... 4 express on a date")
    s.add_argument("--due", help="due date YYYY-MM-DD")
    s.add_argument("--business", help="new (default), revoke, update, replace")
    s.add_argument("--ref", help="for revoke/update/replace: the document acted on")
    s.add_argument("--file", required=True, type=Path, help="the package")
    s.add_argument("--wait", action="store_true", help="show each receiver's copy or refusal")
    s.add_argument("--timeout", type=float, default=15.0)
    s.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    s.set_defaults(func=send_cmd)
    i = cmds.add_parser("inbox", help="the documents a member has received, each once")
    i.add_argument("member", help="member code, e.g. 000.00.00.H41 (its egress topic)")
    i.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    i.set_defaults(func=inbox_cmd)


def document_headers(args: argparse.Namespace, message_id: str) -> list[tuple[str, bytes]]:
    headers = [
        (wire.H_ID, message_id),
        (wire.H_KIND, wire.KIND_DOCUMENT),
        (wire.H_CLIENT, args.client),
        (H_DOC_ID, args.id),
        (H_DOC_TO, args.to),
        (H_DOC_TYPE, args.type),
        (H_DOC_PRIORITY, args.priority),
        (wire.H_SENT_AT, str(int(time.time() * 1000))),
    ]
    for name, value in (
        (H_DOC_DUE, args.due),
        (H_DOC_BUSINESS, args.business),
        (H_DOC_REF, args.ref),
    ):
        if value:
            headers.append((name, value))
    return [(k, v.encode()) for k, v in headers]


async def send_cmd(args: argparse.Namespace) -> int:
    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    message_id = str(uuid.uuid4())
    package = args.file.read_bytes()
    receivers = [r.strip() for r in args.to.split(",") if r.strip()]
    watch = None
    if args.wait:
        topics = {wire.egress_topic(args.member), wire.REJECTED_TOPIC}
        topics.update(wire.egress_topic(r) for r in receivers)
        watch = await consumer_at_end(settings.bootstrap, sorted(topics), settings.auth)
    p = producer(settings.bootstrap, settings.auth)
    await p.start()
    try:
        md = await p.send_and_wait(
            wire.ingress_topic(args.member),
            package,
            key=args.client.encode(),
            headers=document_headers(args, message_id),
        )
    finally:
        await p.stop()
    print(f"sent document {args.id} ({len(package):,} bytes) as {message_id} to {md.topic}")
    if watch is None:
        return 0
    try:
        return await _follow(watch, message_id, len(receivers), args.timeout)
    finally:
        await watch.stop()


async def _follow(consumer: Any, message_id: str, receivers: int, timeout: float) -> int:
    """Print each receiver's copy (where it went) or refusal, until all are seen."""
    seen: set[str] = set()
    refused = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(seen) < receivers:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for r in records:
                h = list(r.headers)
                mine = message_id in (header(h, wire.H_ID), header(h, wire.H_CORRELATION_ID))
                if not mine:
                    continue
                receiver = header(h, wire.H_DOC_RECEIVER)
                if r.topic == wire.REJECTED_TOPIC:
                    if receiver is None:  # the whole document
                        print(
                            f"rejected {header(h, wire.H_ERROR)}: {header(h, wire.H_ERROR_DETAIL)}"
                        )
                        return 1
                    continue  # one receiver's: its error notice says it
                if receiver is None or receiver in seen:
                    continue
                seen.add(receiver)
                if header(h, wire.H_KIND) == wire.KIND_ERROR:
                    refused += 1
                    print(
                        f"  {receiver}: refused {header(h, wire.H_ERROR)}: "
                        f"{header(h, wire.H_ERROR_DETAIL)}"
                    )
                else:
                    print(f"  {receiver}: delivered on {r.topic}")
    if len(seen) < receivers:
        raise NdxpError(f"{receivers - len(seen)} receivers unaccounted for after {timeout:.0f}s")
    return 1 if refused else 0


async def inbox_cmd(args: argparse.Namespace) -> int:
    """Every document on the member's egress topic up to now, each (document id, receiver)
    once: a copy written again after a router crash mid fan-out is counted, not shown."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    topic = wire.egress_topic(args.member)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap, enable_auto_commit=False, **settings.auth.aiokafka()
    )
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            raise NdxpError(f"no such topic, or not authorized to read it: {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        seen: set[str] = set()
        again = 0
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    h = list(r.headers)
                    if header(h, wire.H_KIND) != wire.KIND_DOCUMENT:
                        continue
                    doc_id, receiver = header(h, H_DOC_ID), header(h, wire.H_DOC_RECEIVER)
                    key = delivery_key(doc_id or "", receiver or "")
                    if key in seen:
                        again += 1
                        continue
                    seen.add(key)
                    value = r.value or b""
                    digest = hashlib.sha256(value).hexdigest()[:16]
                    print(
                        f"{doc_id}  to {receiver}  from {header(h, wire.H_CLIENT)}  "
                        f"type {header(h, H_DOC_TYPE)}  priority {header(h, H_DOC_PRIORITY) or 0}"
                        f"  {len(value):,} bytes  sha256 {digest}"
                    )
        print(f"{len(seen)} documents; {again} copies received again (not shown)")
        return 0
    finally:
        await consumer.stop()
