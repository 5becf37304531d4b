"""The router's status stage: each delivery of a document and each status given for it,
decided in one order against the delivery's state (issue 14; ``schemas/WIRE.md``,
"Documents").

The events of a delivery come from different members' ingress topics — the fan-out on the
sender's, the receiver's statuses on its own, the sender's recall on the sender's — so the
ingress stage writes each again, sealed (:func:`ndxp.router.forwarding.sealed`), on the
router's events topic, on the partition of the delivery (``<document id>|<receiver>``); this
stage reads that topic with the ingress topics (the same agent, the same in-order delivery and
commits) and keeps each delivery's record in a table (:mod:`ndxp.router.delivery_table`) whose
compacted changelog is the **document state topic** (written and acknowledged before every
commit, as the quota table: :class:`ndxp.router.quota_changelog.QuotaChangelog`). The
decision is the pure core's
(:func:`ndxp.core.delivery_state.decide`); a status it accepts is routed on to the other
party, one it refuses gets its giver an error notice and a dead letter with a stable code.

A delivery's event is written before the document's copy, by the same producer, in the same
flush, so a receiver cannot report on a copy before its delivery is an event (with several
router workers, the copy and the event may leave from different workers' batches; a status
that overtook its delivery would be refused ``STATUS_NO_DOCUMENT`` and can be sent again).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from ndxp.core import delivery_state, wire
from ndxp.core.document import delivery_key
from ndxp.core.document_status import (
    H_DOC_STATUS,
    SENDER_STATUSES,
    Party,
    Status,
    StatusRefused,
)
from ndxp.core.errors import RejectionCode
from ndxp.core.routing import Rejected, Router, StatusBound
from ndxp.core.topology import client_partition, doc_events_topic, doc_state_topic
from ndxp.router.delivery_table import DeliveryTable, read_partition
from ndxp.router.forwarding import Outgoing, Source, from_home, routed, sealed
from ndxp.router.quota_changelog import QuotaChangelog
from ndxp.router.refusal import Output, reject
from ndxp.settings import RouterSettings

log = logging.getLogger("ndxp.router.status")

DELIVERED = "delivered"
STATUS = "status"


@dataclass(frozen=True, slots=True)
class StatusStage:
    topic: str  # the events topic
    partitions: int
    seal_key: bytes
    table: DeliveryTable  # delivery records (JSON bytes) by delivery key
    changelog: QuotaChangelog


def create(app: Any, settings: RouterSettings, seal_key: bytes, on_fatal: Any) -> StatusStage:
    """The stage's table (its changelog the document state topic), hooked into commits and
    following the group's assignment."""
    changelog = doc_state_topic(settings.group)
    loader = functools.partial(read_partition, settings.bootstrap, settings.auth, changelog)
    table = DeliveryTable(settings.partitions, loader)
    writer = QuotaChangelog(app, table, changelog, on_fatal, raw=True)
    writer.install()
    stage = StatusStage(
        doc_events_topic(settings.group), settings.partitions, seal_key, table, writer
    )
    app.on_partitions_assigned.connect(functools.partial(on_assigned, stage))
    return stage


def on_assigned(stage: StatusStage, _app: Any, assigned: Any, **_kw: Any) -> None:
    """Faust's ``on_partitions_assigned`` (the whole new assignment): the table holds the
    events topic's partitions assigned, read from the state topic if new. A change not yet
    written for a partition that went elsewhere is dropped: its offsets were not committed,
    so the new holder decides those events again."""
    mine = {tp.partition for tp in assigned if tp.topic == stage.topic}
    for key, partition in list(stage.changelog.dirty.items()):
        if partition not in mine:
            del stage.changelog.dirty[key]
    stage.table.assign(mine)


def delivered(
    stage: StatusStage, doc_id: str, receiver: str, route: str, source: Source
) -> Outgoing:
    """The event that the fan-out delivered ``doc_id`` to ``receiver`` (written before the
    copy)."""
    key = delivery_key(doc_id, receiver)
    partition = client_partition(key, stage.partitions)
    return sealed(
        stage.topic, key, partition, route, source, None, None, (), stage.seal_key, DELIVERED
    )


def forward(
    stage: StatusStage,
    decision: StatusBound,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Any,
) -> Outgoing:
    """A status whose party the ingress stage checked, written for this stage to decide."""
    owner = decision.call.key
    partition = client_partition(owner, stage.partitions)
    route = str(decision.route.code)
    return sealed(
        stage.topic, owner, partition, route, source, key, value, headers, stage.seal_key, STATUS
    )


async def decide(stage: StatusStage, router: Router, output: Output, record: Any) -> None:
    """One record of the events topic: a delivery recorded, or a status decided and routed on
    or refused."""
    owner = (record.key or b"").decode("utf-8", "replace")
    staged = from_home(owner, record.headers, record.value, stage.seal_key)
    if staged is None or staged.event not in (DELIVERED, STATUS):
        # Only the router's principal may write this topic (secured mode): kept, not decided.
        where = Source(record.topic, record.partition, record.offset, int(time.time() * 1000))
        forged = Rejected(RejectionCode.MALFORMED, "not an event the router sealed", None, None)
        await reject(output, forged, where, record.key, record.value, record.headers)
        return
    key = owner.encode()
    await stage.table.ready(record.partition)
    current = stage.changelog.state(key)
    if staged.event == DELIVERED:
        made = delivery_state.delivered(current, staged.source.received_ms)
        if made is not current:
            stage.changelog.changed(key, record.partition, made)
        return
    status = Status(wire.header(staged.headers, H_DOC_STATUS) or "")
    by = Party.SENDER if status in SENDER_STATUSES else Party.RECEIVER
    at = staged.source.received_ms
    after, verdict = delivery_state.decide(current, record.offset, status, by, at)
    if after is not None:
        stage.changelog.changed(key, record.partition, after)
    source = staged.source
    if verdict.refused is None:
        output.stats.on_routed(source.topic, source.received_ms)
        topic = wire.egress_topic(staged.route)
        routed_ms = int(time.time() * 1000)
        await output.emit(
            routed(topic, staged.key, record.value, staged.headers, staged.route, source, routed_ms)
        )
        return
    refused = Rejected(
        RejectionCode(verdict.refused.value),
        refusal_detail(verdict.refused, status, owner, current),
        wire.header(staged.headers, wire.H_ID) or None,
        router.registry.ingress.get(source.topic),
    )
    await reject(output, refused, source, staged.key, record.value, staged.headers)


async def sweep(
    stage: StatusStage, mine: set[int], cutoff_ms: int, open_cutoff_ms: int, chunk: int = 10_000
) -> int:
    """Drop the records of deliveries finished before ``cutoff_ms``, and of those idle, open
    or not, since ``open_cutoff_ms``, in the partitions this worker holds (``mine``: of the
    events topic; a tombstone each, with the next commit); the event loop gets a turn every
    ``chunk`` records. Returns how many were dropped."""
    dropped = 0
    for partition in sorted(mine & stage.table.held()):
        keys = list(stage.table.parts[partition])
        for start in range(0, len(keys), chunk):
            if partition not in stage.table.parts:
                break  # it went to another worker meanwhile
            for key in keys[start : start + chunk]:
                record = stage.changelog.state(key)
                if delivery_state.finished_before(record, cutoff_ms) or delivery_state.idle_before(
                    record, open_cutoff_ms
                ):
                    stage.changelog.forget(key, partition)
                    dropped += 1
            await asyncio.sleep(0)
    return dropped


def refusal_detail(
    refused: StatusRefused, status: Status, delivery: str, record: dict[str, Any] | None
) -> str:
    doc_id, _, receiver = delivery.rpartition("|")
    state = delivery_state.state_of(record)
    now = state.step.value if state.step is not None else "delivered"
    if state.recall is not None:
        now += f", recall {state.recall.value}"
    if refused is StatusRefused.NO_DOCUMENT:
        return (
            f"document {doc_id} was not delivered to {receiver} by this platform, or its "
            "delivery has left the document state (finished, or open with no status, longer "
            "than the platform keeps one)"
        )
    if refused is StatusRefused.CLOSED:
        return f"status {status} for {doc_id} at {receiver}: closed ({now})"
    if refused is StatusRefused.REPEATED:
        return f"status {status} for {doc_id} at {receiver}: already {now}"
    if refused is StatusRefused.NOT_PARTY:
        return f"status {status} for {doc_id} at {receiver} is not this party's to give"
    return f"status {status} for {doc_id} at {receiver}: not a step forward from {now}"
