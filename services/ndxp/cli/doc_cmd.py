"""``ndxp doc``: the document exchange axis from the command line — send a document to many
agencies and see where each copy went; read a member's inbox (each document once); report a
status, recall a document, and see a document's state at each receiver."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from ndxp.core import wire
from ndxp.core.delivery_state import state_of
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
from ndxp.core.document_status import H_DOC_REASON, H_DOC_STATUS, State, Status, overview
from ndxp.core.errors import NdxpError
from ndxp.core.package import (
    PACKAGE_HEADERS,
    PART_BYTES,
    Assembly,
    headers_of,
    read_part,
    split,
)
from ndxp.core.topology import doc_state_topic
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
    st = cmds.add_parser("status", help="a document's state at each of its receivers")
    st.add_argument("id", help="the document id")
    st.add_argument(
        "--group", help="the router group whose state topic to read ($NDXP_ROUTER_GROUP)"
    )
    st.add_argument("--follow", action="store_true", help="show statuses as they arrive")
    st.add_argument("--timeout", type=float, default=120.0, help="with --follow (120 s)")
    st.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")
    st.set_defaults(func=status_cmd)
    u = cmds.add_parser("update-status", help="report a document's status at a receiver")
    u.add_argument("--as", dest="member", required=True, help="reporting member code")
    u.add_argument("--client", required=True, help="the reporting subsystem id")
    u.add_argument("--id", required=True, help="the document id")
    u.add_argument("--status", required=True, help="01 arrived, 02 refused, 03 ... 06 done, 15, 16")
    u.add_argument("--receiver", help="the receiver it is about (default: --as)")
    u.add_argument("--reason", help="why (a refusal, say)")
    _waiting(u)
    u.set_defaults(func=update_status_cmd)
    rc = cmds.add_parser("recall", help="the sender recalls a document from receivers (13)")
    rc.add_argument("--as", dest="member", required=True, help="the sending member code")
    rc.add_argument("--client", required=True, help="the sending subsystem id")
    rc.add_argument("--id", required=True, help="the document id")
    rc.add_argument("--to", required=True, help="receivers to recall it from, comma-separated")
    rc.add_argument("--reason", help="why")
    _waiting(rc)
    rc.set_defaults(func=recall_cmd)


def _waiting(parser: Any) -> None:
    parser.add_argument("--wait", action="store_true", help="show whether each was routed")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--bootstrap", help="Kafka bootstrap ($NDXP_BOOTSTRAP)")


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


def status_headers(
    client: str, doc_id: str, receiver: str, status: str, reason: str | None, message_id: str
) -> list[tuple[str, bytes]]:
    headers = [
        (wire.H_ID, message_id),
        (wire.H_KIND, wire.KIND_STATUS),
        (wire.H_CLIENT, client),
        (H_DOC_ID, doc_id),
        (wire.H_DOC_RECEIVER, receiver),
        (H_DOC_STATUS, status),
        (wire.H_SENT_AT, str(int(time.time() * 1000))),
    ]
    if reason:
        headers.append((H_DOC_REASON, reason))
    return [(k, v.encode()) for k, v in headers]


async def update_status_cmd(args: argparse.Namespace) -> int:
    """Report a status of a document at a receiver (by default the member itself)."""
    receivers = [args.receiver or args.member]
    return await _send_statuses(args, receivers, args.status, args.reason)


async def recall_cmd(args: argparse.Namespace) -> int:
    """The sender recalls a document (13) from each receiver named."""
    receivers = [r.strip() for r in args.to.split(",") if r.strip()]
    return await _send_statuses(args, receivers, Status.RECALL.value, args.reason)


async def _send_statuses(
    args: argparse.Namespace, receivers: list[str], status: str, reason: str | None
) -> int:
    """Send one status per receiver; with ``--wait``, say for each whether it was routed on
    to the other party or refused (and why)."""
    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    sent: dict[str, str] = {}
    watch = None
    if args.wait:
        sender = args.id.split(",", 1)[0]
        topics = {wire.egress_topic(args.member), wire.egress_topic(sender)}
        topics.update(wire.egress_topic(r) for r in receivers)
        watch = await consumer_at_end(settings.bootstrap, sorted(topics), settings.auth)
    p = producer(settings.bootstrap, settings.auth)
    await p.start()
    try:
        for receiver in receivers:
            message_id = str(uuid.uuid4())
            headers = status_headers(args.client, args.id, receiver, status, reason, message_id)
            await p.send_and_wait(
                wire.ingress_topic(args.member), b"", key=args.client.encode(), headers=headers
            )
            sent[message_id] = receiver
    finally:
        await p.stop()
    print(f"sent status {status} of {args.id} for {', '.join(receivers)}")
    if watch is None:
        return 0
    try:
        return await _outcomes(watch, sent, args.timeout)
    finally:
        await watch.stop()


async def _outcomes(consumer: Any, sent: dict[str, str], timeout: float) -> int:
    """Print each status's fate: routed to the other party, or refused with its code."""
    pending = dict(sent)
    refused = 0
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for r in records:
                h = list(r.headers)
                if header(h, wire.H_KIND) == wire.KIND_ERROR:
                    mid = header(h, wire.H_CORRELATION_ID) or ""
                    if mid in pending:
                        refused += 1
                        print(
                            f"  {pending.pop(mid)}: refused {header(h, wire.H_ERROR)}: "
                            f"{header(h, wire.H_ERROR_DETAIL)}"
                        )
                elif (mid := header(h, wire.H_ID) or "") in pending:
                    print(f"  {pending.pop(mid)}: routed to {r.topic}")
    if pending:
        raise NdxpError(f"{len(pending)} statuses unaccounted for after {timeout:.0f}s")
    return 1 if refused else 0


async def status_cmd(args: argparse.Namespace) -> int:
    """A document's state at each receiver, from the document state topic (compacted: the
    latest record per delivery), and the sender's view derived from it; with ``--follow``,
    each receiver's new status as it arrives, until every receiver is finished."""
    settings = ClientSettings.from_env(bootstrap=args.bootstrap, router_group=args.group)
    topic = doc_state_topic(settings.router_group)
    states = await _states(settings, topic, args.id)
    if args.follow:
        shown: dict[str, State] = {}
        deadline = time.monotonic() + args.timeout
        while True:
            for receiver, state in states.items():
                if shown.get(receiver) != state:
                    shown[receiver] = state
                    print(f"{time.strftime('%H:%M:%S')}  {receiver}: {describe(state)}", flush=True)
            if (states and overview(states.values()).finished) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
            states = await _states(settings, topic, args.id)
    if not states:
        print(f"document {args.id}: no deliveries known to {topic}")
        return 1
    print(f"document {args.id}: {len(states)} receivers")
    for receiver, state in states.items():
        print(f"  {receiver}: {describe(state)}")
    view = overview(states.values())
    steps = ", ".join(f"{LABELS.get(k, k)} {n}" for k, n in sorted(view.by_step.items()))
    print(
        f"overall: {steps}; recalls pending {view.recalls_pending}, withdrawn {view.withdrawn}"
        f"; {'finished' if view.finished else 'in progress'}"
    )
    return 0


async def _states(settings: ClientSettings, topic: str, doc_id: str) -> dict[str, State]:
    """Each receiver's state of ``doc_id``: the state topic read whole (a scan of a compacted
    topic, a record per delivery)."""
    prefix = f"{doc_id}|".encode()
    latest: dict[str, dict[str, Any] | None] = {}
    async for r in read_whole(settings.bootstrap, topic, settings.auth):
        if r.key is not None and r.key.startswith(prefix):
            receiver = r.key[len(prefix) :].decode("utf-8", "replace")
            latest[receiver] = None if r.value is None else orjson.loads(r.value)
    return {rec: state_of(v) for rec, v in sorted(latest.items()) if v and v.get("d")}


LABELS = {
    "delivered": "delivered",
    Status.ARRIVED.value: "01 arrived",
    Status.REFUSED.value: "02 refused",
    Status.ACCEPTED.value: "03 accepted",
    Status.ASSIGNED.value: "04 assigned",
    Status.PROCESSING.value: "05 processing",
    Status.DONE.value: "06 done",
    Status.RECALL.value: "13 recall asked",
    Status.RECALL_ACCEPTED.value: "15 withdrawn",
}


def describe(state: State) -> str:
    text = LABELS["delivered" if state.step is None else state.step.value]
    if state.recall is not None:
        text += f", {LABELS[state.recall.value]}"
    return text
