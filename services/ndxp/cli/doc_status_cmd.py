"""``ndxp doc status | update-status | recall``: a document's statuses from the command line —
report one, recall a document from receivers, and see its state at each receiver from the
document state topic (schemas/WIRE.md, "Documents")."""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

import orjson

from ndxp.core import wire
from ndxp.core.delivery_state import state_of
from ndxp.core.document import H_DOC_ID
from ndxp.core.document_status import H_DOC_REASON, H_DOC_STATUS, State, Status, overview
from ndxp.core.errors import NdxpError
from ndxp.core.topology import doc_state_topic
from ndxp.core.wire import header
from ndxp.kafka.io import consumer_at_end, producer, read_whole
from ndxp.settings import ClientSettings


def register(cmds: Any) -> None:
    """The status commands, under ``ndxp doc``."""
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
    each receiver's new status as it arrives (the topic read once, then followed), until
    every receiver is finished."""
    settings = ClientSettings.from_env(bootstrap=args.bootstrap, router_group=args.group)
    topic = doc_state_topic(settings.router_group)
    prefix = f"{args.id}|".encode()
    states: dict[str, State] = {}
    follow_s = args.timeout if args.follow else 0.0
    caught_up = False
    async for r in read_whole(settings.bootstrap, topic, settings.auth, follow_s):
        if r is None:  # the topic as it was is read: from here on, what arrives
            caught_up = True
        elif r.key is None or not r.key.startswith(prefix):
            continue
        else:
            receiver = r.key[len(prefix) :].decode("utf-8", "replace")
            record = None if r.value is None else orjson.loads(r.value)
            if not record or not record.get("d"):
                states.pop(receiver, None)  # a tombstone: the delivery left the topic
                continue
            state = state_of(record)
            if args.follow and states.get(receiver) != state:
                print(f"{time.strftime('%H:%M:%S')}  {receiver}: {describe(state)}", flush=True)
            states[receiver] = state
        if caught_up and states and overview(states.values()).finished:
            break
    if not states:
        print(
            f"document {args.id}: no deliveries known to {topic} (a delivery leaves it when "
            "finished for NDXP_DOC_KEEP_DAYS, or when its receiver took no step for "
            "NDXP_DOC_OPEN_DAYS; the ledger keeps its history: ndxp sql)"
        )
        return 1
    print(f"document {args.id}: {len(states)} receivers")
    for receiver, state in sorted(states.items()):
        print(f"  {receiver}: {describe(state)}")
    view = overview(states.values())
    steps = ", ".join(f"{LABELS.get(k, k)} {n}" for k, n in sorted(view.by_step.items()))
    print(
        f"overall: {steps}; recalls pending {view.recalls_pending}, withdrawn {view.withdrawn}"
        f"; {'finished' if view.finished else 'in progress'}"
    )
    return 0


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
