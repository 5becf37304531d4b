"""From a routing decision to the records the router produces (pure: no Kafka here).

The sender's key, value and headers are forwarded unchanged; the router appends its
own headers. A rejection yields a dead-letter copy and, when the ingress member is
connected, an error notice on that member's egress topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from ndxp.core import wire
from ndxp.core.routing import Headers, Rejected, Routed


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


def producible(key: bytes | None, value: bytes | None) -> tuple[bytes | None, bytes | None]:
    """Kafka accepts a record with neither key nor value; the producer client does not.

    Such a record is forwarded with an empty value (documented in schemas/WIRE.md).
    """
    if key is None and value is None:
        return None, b""
    return key, value


def routed_headers(headers: Headers, decision: Routed, now_ms: int) -> list[tuple[str, bytes]]:
    return [
        *headers,
        (wire.H_ROUTED_AT, str(now_ms).encode()),
        (wire.H_ROUTE, str(decision.route.code).encode()),
    ]


def rejection_records(
    decision: Rejected,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    now_ms: int,
) -> list[Outgoing]:
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
    ]
    if decision.message_id is not None:
        notice_headers.append((wire.H_CORRELATION_ID, decision.message_id.encode()))
    body = orjson.dumps(
        {"error": decision.code.value, "detail": decision.detail, "id": decision.message_id}
    )
    notice = Outgoing(wire.egress_topic(decision.notify), key, body, notice_headers)
    return [dead, notice]
