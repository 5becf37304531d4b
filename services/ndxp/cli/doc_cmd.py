"""``ndxp doc``: the document exchange axis from the command line — send a document to many
agencies and see where each copy went; read a member's inbox (each document once). Statuses,
recalls and a document's state: :mod:`ndxp.cli.doc_status_cmd`."""

from __future__ import annotations

import argparse
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.cli import doc_status_cmd
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
from ndxp.core.package import (
    PACKAGE_HEADERS,
    PART_BYTES,
    Assembly,
    headers_of,
    read_part,
    split,
)
from ndxp.core.wire import header
from ndxp.kafka.io import consumer_at_end, producer, read_whole
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
    s.add_argument("--file", required=True, type=Path, help="the package (up to 20 MiB)")
    s.add_argument(
        "--part-bytes",
        type=int,
        default=PART_BYTES,
        help=f"a larger package goes in parts of this size (default {PART_BYTES:,})",
    )
    s.add_argument("--wait", action="store_true", help="show each receiver's copy or refusal")
    s.add_argument("--timeout", type=float, default=15.0)
    s.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    s.set_defaults(func=send_cmd)
    i = cmds.add_parser("inbox", help="the documents a member has received, each once")
    i.add_argument("member", help="member code, e.g. 000.00.00.H41 (its egress topic)")
    i.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    i.set_defaults(func=inbox_cmd)
    doc_status_cmd.register(cmds)


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
    base_id = str(uuid.uuid4())
    parts = split(args.file.read_bytes(), args.part_bytes)
    receivers = [r.strip() for r in args.to.split(",") if r.strip()]
    watch = None
    if args.wait:
        topics = {wire.egress_topic(args.member), wire.REJECTED_TOPIC}
        topics.update(wire.egress_topic(r) for r in receivers)
        watch = await consumer_at_end(settings.bootstrap, sorted(topics), settings.auth)
    p = producer(settings.bootstrap, settings.auth)
    await p.start()
    try:
        sent = []
        for part, chunk in parts:
            message_id = base_id if len(parts) == 1 else f"{base_id}.{part.index}"
            headers = document_headers(args, message_id)
            if len(parts) > 1:
                headers += [(k, v.encode()) for k, v in headers_of(part)]
            topic = wire.ingress_topic(args.member)
            sent.append(await p.send(topic, chunk, key=args.client.encode(), headers=headers))
        await p.flush()
        for future in sent:
            await future  # raises what the broker refused
    finally:
        await p.stop()
    part = parts[0][0]
    print(
        f"sent document {args.id} ({part.size:,} bytes, sha256 {part.sha256[:16]}…"
        + (f", in {part.count} parts" if part.count > 1 else "")
        + f") as {base_id} to {wire.ingress_topic(args.member)}"
    )
    if watch is None:
        return 0
    try:
        return await _follow(watch, base_id, part.count, len(receivers), args.timeout)
    finally:
        await watch.stop()


async def _follow(consumer: Any, base_id: str, parts: int, receivers: int, timeout: float) -> int:
    """Print each receiver's copy (where it went, once every part is there) or refusal,
    until all are accounted for."""
    got: dict[str, set[str]] = {}
    done: set[str] = set()
    refused = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(done) < receivers:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for r in records:
                h = list(r.headers)
                message_id = header(h, wire.H_ID) or ""
                about = header(h, wire.H_CORRELATION_ID) or message_id
                if about != base_id and not about.startswith(f"{base_id}."):
                    continue
                receiver = header(h, wire.H_DOC_RECEIVER)
                if r.topic == wire.REJECTED_TOPIC:
                    if receiver is None:  # the whole document
                        print(
                            f"rejected {header(h, wire.H_ERROR)}: {header(h, wire.H_ERROR_DETAIL)}"
                        )
                        return 1
                    continue  # one receiver's: its error notice says it
                if receiver is None or receiver in done:
                    continue
                if header(h, wire.H_KIND) == wire.KIND_ERROR:
                    done.add(receiver)
                    refused += 1
                    print(
                        f"  {receiver}: refused {header(h, wire.H_ERROR)}: "
                        f"{header(h, wire.H_ERROR_DETAIL)}"
                    )
                    continue
                got.setdefault(receiver, set()).add(message_id)
                if len(got[receiver]) == parts:
                    done.add(receiver)
                    print(
                        f"  {receiver}: delivered on {r.topic}"
                        + (f" ({parts} parts)" if parts > 1 else "")
                    )
    if len(done) < receivers:
        raise NdxpError(f"{receivers - len(done)} receivers unaccounted for after {timeout:.0f}s")
    return 1 if refused else 0


async def inbox_cmd(args: argparse.Namespace) -> int:
    """Every document on the member's egress topic up to now, each (document id, receiver)
    once: a copy written again after a router crash mid fan-out is counted, not shown; a
    package in parts is shown once all its parts are there, checked by its SHA-256."""
    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    seen: set[str] = set()
    assemblies: dict[str, tuple[Assembly, list[tuple[str, bytes | None]]]] = {}
    again = 0
    async for r in read_whole(settings.bootstrap, wire.egress_topic(args.member), settings.auth):
        h = list(r.headers)
        if header(h, wire.H_KIND) != wire.KIND_DOCUMENT:
            continue
        doc_id, receiver = header(h, H_DOC_ID), header(h, wire.H_DOC_RECEIVER)
        key = delivery_key(doc_id or "", receiver or "")
        if key in seen:
            again += 1
            continue
        value = r.value or b""
        part = read_part({k: v for k, v in ((n, header(h, n)) for n in PACKAGE_HEADERS) if v})
        if part is not None:
            assembly, first = assemblies.setdefault(
                key, (Assembly(part.count, part.size, part.sha256), h)
            )
            before = len(assembly.parts)
            whole = assembly.add(part, value)
            again += len(assembly.parts) == before
            if whole is None:
                continue
            del assemblies[key]
            value, h = whole, first
        seen.add(key)
        _show(h, value, None if part is None else part.count)
    for assembly, h in assemblies.values():
        print(
            f"{header(h, H_DOC_ID)}  to {header(h, wire.H_DOC_RECEIVER)}  incomplete: "
            f"{assembly.count - assembly.missing} of {assembly.count} parts"
        )
    print(f"{len(seen)} documents; {again} copies received again (not shown)")
    return 0


def _show(h: list[tuple[str, bytes | None]], value: bytes, parts: int | None) -> None:
    digest = hashlib.sha256(value).hexdigest()[:16]
    print(
        f"{header(h, H_DOC_ID)}  to {header(h, wire.H_DOC_RECEIVER)}"
        f"  from {header(h, wire.H_CLIENT)}  type {header(h, H_DOC_TYPE)}"
        f"  priority {header(h, H_DOC_PRIORITY) or 0}"
        f"  {len(value):,} bytes  sha256 {digest}" + (f"  ({parts} parts)" if parts else "")
    )
