"""The ingress stage: one record read from a member's ingress topic, decided and produced.

:func:`route` takes the platform's time of receipt (the broker's LogAppendTime: ingress
topics are created with it, so no sender's clock reaches it), lets the pure core
decide (:meth:`ndxp.core.routing.Router.decide`), then produces the routed copy, the refusal,
or — for a request under a limit — hands it to the quota stage on its client's **home
partition** (Kafka's partitioner of the client id over its member's ingress topic): all of a
client's requests are decided there, in that partition's order. A request that arrived on
another partition is written again on the home partition by the router (a *home copy*, its
internal headers sealed with the router's key) and decided when it is read back (``home``, the
default); with ``inline`` it is refused ``MISPARTITIONED`` instead. Senders that key requests
by their client id (ndxp's own clients do) never cost a second pass. A document is decided
into a copy per receiver and a refusal per refused receiver (:mod:`ndxp.router.fan_out`); under
a limit it costs a unit per receiver it is delivered to (:func:`ndxp.core.routing.quota_cost`),
counted on its client's home partition as a request is, and fanned out there.

Containment: a record that makes the deciding code raise (a bug that input found) is refused
``MALFORMED`` with the exception's type in the detail and logged; the partition goes on. Each
offset of a compressed batch the consumer could not read
(:class:`ndxp.kafka.placeholders.Unreadable`: a zip bomb past the cap, a codec no library here
reads, corrupt data) is refused with nothing of it kept but its place. A transaction's marker
(:class:`ndxp.kafka.placeholders.Marker`) is passed over and counted. Only producing can fail
the worker (the broker refusing a batch after retries: fatal, see :mod:`ndxp.router.outbox`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ndxp.core import wire
from ndxp.core.envelope import peek_id
from ndxp.core.errors import RejectionCode
from ndxp.core.quota import Limit, counted_as
from ndxp.core.routing import (
    Decision,
    FannedOut,
    Rejected,
    Routed,
    Router,
    StatusBound,
)
from ndxp.core.topology import client_partition, misplaced
from ndxp.kafka.inflate import Cause
from ndxp.kafka.placeholders import Marker, Unreadable
from ndxp.router import status_stage
from ndxp.router.fan_out import fan_out
from ndxp.router.forwarding import (
    Source,
    Staged,
    from_home,
    is_home_copy,
    routed,
    to_home,
)
from ndxp.router.quota_stage import QuotaStage
from ndxp.router.refusal import Output, reject
from ndxp.router.status_stage import StatusStage

log = logging.getLogger("ndxp.router")

LOG_APPEND_TIME = 1  # Kafka's timestamp types: 0 the producer's CreateTime, 1 LogAppendTime
_warned: set[str] = set()


@dataclass(frozen=True, slots=True)
class Ingress:
    """What the ingress stage works with (one per router worker)."""

    router: Router
    output: Output
    quota: QuotaStage | None
    statuses: StatusStage
    inline: bool  # a request off its client's home partition is refused, not re-homed
    partitions: int
    seal_key: bytes  # seals home copies (ndxp.router.forwarding.to_home)


def source_of(record: Any) -> Source:
    """A record's ingress coordinates and its time of receipt: the broker's LogAppendTime.
    On a topic still set to CreateTime (created before ndxp set it, and not reconciled) the
    sender's clock would be the record's time, so the router's own clock is taken instead,
    with a warning once per topic."""
    ts = record.timestamp
    if getattr(record, "timestamp_type", None) == LOG_APPEND_TIME and ts is not None:
        received = int(ts)
    else:
        received = int(time.time() * 1000)
        if record.topic not in _warned:
            _warned.add(record.topic)
            log.warning(
                "%s is not stamped by the broker (message.timestamp.type=LogAppendTime): "
                "its records take the router's clock; run `ndxp topics` to set it",
                record.topic,
            )
    return Source(record.topic, record.partition, record.offset, received)


async def route(ingress: Ingress, record: Any) -> None:
    """Decide one ingress record (aiokafka's ``ConsumerRecord`` or a ``runs.Record``) and
    produce what the decision calls for."""
    key, value, headers = record.key, record.value, record.headers
    if type(value) is Marker:  # a transaction's end, written by the broker: no message
        ingress.output.stats.on_marker(record.topic)
        return
    if record.topic == ingress.statuses.topic:
        await status_stage.decide(ingress.statuses, ingress.router, ingress.output, record)
        return
    if ingress.quota is not None and is_home_copy(headers):
        owner = (key or b"").decode("utf-8", "replace")
        copy = from_home(owner, headers, value, ingress.seal_key)
        if copy is not None and not copy.event:  # a home copy: decided where it is counted
            await _enforce_at_home(ingress, owner, record.partition, copy, value)
            return
        # a seal that does not match, or a document's event (the events topic's, never an
        # ingress topic's): not the router's here, decided (refused) as any record
    source = source_of(record)
    if type(value) is Unreadable:  # a compressed batch ndxp.kafka.records could not read
        refused = unreadable_refusal(ingress.router, record.topic, value)
        await reject(ingress.output, refused, source, None, b"", ())
        return
    try:
        decision = ingress.router.decide(
            record.topic,
            headers,
            0 if value is None else len(value),
            0 if key is None else len(key),
        )
        bound = None
        if isinstance(decision, Routed | FannedOut) and ingress.quota is not None:
            bound = _quota_bound(ingress, decision)
    except Exception as exc:  # a record met a bug in deciding: refuse it, keep going
        log.exception("could not decide %s:%s:%s", record.topic, record.partition, record.offset)
        decision = undecidable(ingress.router, record.topic, headers, exc)
        bound = None
    output = ingress.output
    if isinstance(decision, Rejected):
        await reject(output, decision, source, key, value, headers)
        return
    if isinstance(decision, StatusBound):  # decided next where its delivery's state is
        await output.emit(
            status_stage.forward(ingress.statuses, decision, source, key, value, headers)
        )
        return
    if bound is None:
        if isinstance(decision, FannedOut):
            sender = ingress.router.registry.ingress.get(record.topic)
            await fan_out(output, ingress.statuses, decision, sender, source, key, value, headers)
            return
        output.stats.on_routed(source.topic, source.received_ms)
        route_code = str(decision.route.code)
        routed_ms = int(time.time() * 1000)  # when it was routed; its receipt is the source's
        ticket = ingress.router.ticket(decision.envelope)
        await output.emit(
            routed(decision.topic, key, value, headers, route_code, source, routed_ms, ticket)
        )
        return
    client, limits = bound
    if isinstance(decision, FannedOut):  # counted like a request (per delivery); fanned out at home
        route_code = record.topic.removeprefix(wire.INGRESS_PREFIX)
    else:
        route_code = str(decision.route.code)
    request = Staged(key, list(headers), source, route_code)
    if ingress.inline and client_partition(client, ingress.partitions) != record.partition:
        refused = Rejected(
            RejectionCode.MISPARTITIONED,
            misplaced(client, source.topic, source.partition, ingress.partitions) or "",
            decision.envelope.id,
            ingress.router.registry.ingress.get(record.topic),
        )
        await reject(output, refused, source, key, value, headers)
        return
    await _enforce_at_home(ingress, client, record.partition, request, value, decision, limits)


async def _enforce_at_home(
    ingress: Ingress,
    client: str,
    partition: int,
    request: Staged,
    value: bytes | None,
    decided: Routed | FannedOut | None = None,
    limits: tuple[Limit, ...] = (),
) -> None:
    """Decide a request under a limit on its client's home partition, where all of the
    client's requests are counted in one order: here if this is it (with ``decided``, its
    routing decision when it was just made here, and ``limits``, the limits it was found
    under), else by writing it again there (a sealed home copy, decided when it is read back;
    the ingress record is done once the copy is on the broker)."""
    assert ingress.quota is not None
    home = client_partition(client, ingress.partitions)
    if partition == home:
        await ingress.quota.enforce(client.encode(), partition, request, value, decided, limits)
        return
    ingress.output.stats.on_rehomed()
    source = request.source
    await ingress.output.emit(
        to_home(
            client,
            home,
            request.route,
            source,
            request.key,
            value,
            request.headers,
            ingress.seal_key,
        )
    )


def _quota_bound(
    ingress: Ingress, decision: Routed | FannedOut
) -> tuple[str, tuple[Limit, ...]] | None:
    """For a request, a notice or a document under a limit: its client and those limits;
    ``None`` when no limit applies. A document names no service: the client's limits on
    documents and over all services count it, a unit per receiver it is delivered to (the
    quota stage)."""
    envelope = decision.envelope
    if envelope.kind not in wire.CALL_KINDS and envelope.kind != wire.KIND_DOCUMENT:
        return None
    registry = ingress.router.registry
    client = registry.subsystems[envelope.client]
    limits = registry.limits_for(client, counted_as(envelope.kind, envelope.service))
    if not limits:
        return None
    return client.text, limits


def unreadable_refusal(router: Router, topic: str, value: Unreadable) -> Rejected:
    """The refusal of one offset of a compressed batch that could not be read (a zip bomb,
    a codec no library here reads, corrupt data): ``TOO_LARGE`` for a batch inflating past
    the cap, ``MALFORMED`` otherwise. Nothing of the record is known but where it was."""
    batch = value.batch
    code = RejectionCode.TOO_LARGE if value.cause is Cause.OVER_CAP else RejectionCode.MALFORMED
    detail = (
        f"{value.reason}: the {batch.codec} batch of {batch.compressed_size} bytes at offsets "
        f"{batch.base_offset}..{batch.last_offset} could not be read"
    )
    return Rejected(code, detail, None, router.registry.ingress.get(topic))


def undecidable(router: Router, topic: str, headers: Any, exc: Exception) -> Decision:
    """The refusal of a record the deciding code raised on."""
    try:
        message_id = peek_id(headers)
    except Exception:
        message_id = None
    return Rejected(
        RejectionCode.MALFORMED,
        f"the router could not decide this record ({type(exc).__name__}); it is kept here",
        message_id,
        router.registry.ingress.get(topic),
    )
