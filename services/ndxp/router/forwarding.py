"""From a routing decision to the records the router produces (pure: no Kafka here).

The sender's key, value and headers are forwarded unchanged; the router appends its
own headers. A rejection yields a dead-letter copy and, when the ingress member is
connected, an error notice on that member's egress topic.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from ndxp.core import wire
from ndxp.core.quota import QuotaHit, policy
from ndxp.core.routing import Headers, Rejected


@dataclass(frozen=True, slots=True)
class Source:
    """Where a message was read: its ingress coordinates and its production time."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp_ms: int | None = None
    """Kept from the original record, so its Kafka timestamp stays its production time."""
    partition: int | None = None


def producible(key: bytes | None, value: bytes | None) -> tuple[bytes | None, bytes | None]:
    """Kafka accepts a record with neither key nor value; the producer client does not.

    Such a record is forwarded with an empty value (documented in schemas/WIRE.md).
    """
    if key is None and value is None:
        return None, b""
    return key, value


def routed_headers(headers: Headers, route: str, now_ms: int) -> list[tuple[str, bytes]]:
    return [*headers, (wire.H_ROUTED_AT, str(now_ms).encode()), (wire.H_ROUTE, route.encode())]


def rejection_records(
    decision: Rejected,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    now_ms: int,
    extra: Headers = (),
) -> list[Outgoing]:
    """The dead-letter copy and, when the sender is connected, its error notice; ``extra``
    headers (quota details) go on both."""
    code = decision.code.value.encode()
    detail = decision.detail.encode()
    key, value = producible(key, value)
    dead = Outgoing(
        wire.REJECTED_TOPIC,
        key,
        value,
        [
            *headers,
            (wire.H_ERROR, code),
            (wire.H_ERROR_DETAIL, detail),
            (wire.H_SOURCE_TOPIC, source.topic.encode()),
            (wire.H_SOURCE_PARTITION, str(source.partition).encode()),
            (wire.H_SOURCE_OFFSET, str(source.offset).encode()),
            (wire.H_ROUTED_AT, str(now_ms).encode()),
            *extra,
        ],
        source.timestamp_ms,
    )
    if decision.notify is None:
        return [dead]
    notice_headers = [
        (wire.H_ID, str(uuid.uuid4()).encode()),
        (wire.H_KIND, wire.KIND_ERROR.encode()),
        (wire.H_ERROR, code),
        (wire.H_ERROR_DETAIL, detail),
        (wire.H_SOURCE_TOPIC, source.topic.encode()),
        (wire.H_ROUTED_AT, str(now_ms).encode()),
        (wire.H_ROUTE, str(decision.notify.code).encode()),
        *extra,
    ]
    if decision.message_id is not None:
        notice_headers.append((wire.H_CORRELATION_ID, decision.message_id.encode()))
    body = orjson.dumps(
        {"error": decision.code.value, "detail": decision.detail, "id": decision.message_id}
    )
    notice = Outgoing(wire.egress_topic(decision.notify), key, body, notice_headers)
    return [dead, notice]


def to_quota_stage(
    topic: str,
    client: str,
    route: str,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
) -> Outgoing:
    """A routed request on its way to the quota stage: keyed by its client, so that all of
    one client's requests are counted on one partition; the sender's key, the ingress
    coordinates and the route travel in internal headers."""
    internal = [
        (wire.H_X_SOURCE, f"{source.topic}:{source.partition}:{source.offset}".encode()),
        (wire.H_X_ROUTE, route.encode()),
    ]
    if key is not None:
        internal.append((wire.H_X_KEY, key))
    return Outgoing(topic, client.encode(), value, [*headers, *internal], source.timestamp_ms)


@dataclass(frozen=True, slots=True)
class Staged:
    """A request read back in the quota stage."""

    key: bytes | None
    headers: list[tuple[str, bytes]]  # the sender's, internal ones removed
    source: Source
    route: str


def from_quota_stage(headers: Headers, timestamp_ms: int | None) -> Staged:
    sender: list[tuple[str, bytes]] = []
    key: bytes | None = None
    source, route = "", ""
    for name, raw in headers:
        if not name.startswith(wire.INTERNAL_PREFIX):
            sender.append((name, raw))
        elif name == wire.H_X_KEY:
            key = bytes(raw)
        elif name == wire.H_X_SOURCE:
            source = bytes(raw).decode()
        elif name == wire.H_X_ROUTE:
            route = bytes(raw).decode()
    topic, partition, offset = source.rsplit(":", 2)
    return Staged(key, sender, Source(topic, int(partition), int(offset), timestamp_ms), route)


def quota_headers(hit: QuotaHit, remaining: int | None) -> list[tuple[str, bytes]]:
    """What a QUOTA_EXCEEDED refusal says: which limit, what it allows, when to retry, and
    how many requests are left today under it (for a daily cap)."""
    out = [
        (wire.H_QUOTA_LIMIT, hit.limit.id.encode()),
        (wire.H_QUOTA_POLICY, policy(hit.limit).encode()),
        (wire.H_RETRY_AFTER, f"{math.ceil(hit.retry_after_s * 1000) / 1000:.3f}".encode()),
    ]
    if remaining is not None:
        out.append((wire.H_QUOTA_REMAINING, str(remaining).encode()))
    return out
