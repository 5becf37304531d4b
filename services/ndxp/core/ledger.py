"""Ledger rows: what the ledger keeps of each routed or rejected message (pure).

Metadata, sizes and a SHA-256 of the payload — never the payload. One row per message:
routed requests and responses (read from egress topics) and rejected messages (read from
``ndxp.rejected``). The router's error notices are not rows: the rejected message they
answer already is one.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from ndxp.core import wire
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import ServiceId, SubsystemId

OUTCOME_ROUTED = "routed"
OUTCOME_REJECTED = "rejected"
KIND_UNKNOWN = "unknown"

# Column order of the ``ndxp.ledger`` table that the ledger service inserts.
COLUMNS = (
    "message_id",
    "kind",
    "correlation_id",
    "outcome",
    "error",
    "error_detail",
    "client",
    "client_member",
    "client_level1",
    "client_subsystem",
    "service",
    "service_member",
    "service_level1",
    "service_subsystem",
    "service_code",
    "service_version",
    "route",
    "payload_size",
    "payload_sha256",
    "produced_at",
    "routed_at",
    "topic",
    "partition",
    "offset",
    "ingress_topic",
)

Row = tuple[Any, ...]
MESSAGE_ID = COLUMNS.index("message_id")
PRODUCED_AT = COLUMNS.index("produced_at")
ROUTED_AT = COLUMNS.index("routed_at")


VN_UTC_OFFSET_S = 7 * 3600  # Asia/Ho_Chi_Minh: UTC+7, no daylight saving since 1975


def local_day(epoch_ms: int) -> int:
    """Days since 1970-01-01 of the Vietnamese calendar day of an epoch-millisecond time."""
    return (epoch_ms // 1000 + VN_UTC_OFFSET_S) // 86400


def unique_rows(rows: Sequence[Row]) -> list[Row]:
    """Rows with the first occurrence of each (local day, message id) only."""
    seen: set[tuple[int, str]] = set()
    out: list[Row] = []
    for row in rows:
        key = (local_day(row[PRODUCED_AT]), row[MESSAGE_ID])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


_ROUTER_HEADERS = frozenset(wire.ROUTER_HEADERS)


def _headers(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, str]:
    """The first occurrence of each sender header and the last of each router header (the
    router appends its own after the sender's: a dead-letter copy of a message refused for
    forging ``ndxp-error`` or ``ndxp-routed-at`` carries the forgery first), decoded
    leniently (the router already judged them)."""
    out: dict[str, str] = {}
    for name, raw in headers:
        first_or_routers = name not in out or name in _ROUTER_HEADERS
        if name.startswith("ndxp-") and raw is not None and first_or_routers:
            out[name] = bytes(raw).decode("utf-8", "replace")
    return out


# Ids parsed once: a ledger row parses the client and the service id of every message, and the
# same few hundred ids come again and again. Long (hostile) texts are parsed, not kept.
_CACHED_ID_CHARS = 256


def _client_parts(text: str) -> tuple[str, str, str]:
    return _client_cached(text) if len(text) <= _CACHED_ID_CHARS else _parse_client(text)


def _service_parts(text: str) -> tuple[str, str, str, str, str]:
    return _service_cached(text) if len(text) <= _CACHED_ID_CHARS else _parse_service(text)


def _parse_client(text: str) -> tuple[str, str, str]:
    try:
        sid = SubsystemId.parse(text)
    except InvalidIdentifier:
        return "", "", ""
    return str(sid.member.code), _level1(sid.member.code), sid.code


def _parse_service(text: str) -> tuple[str, str, str, str, str]:
    try:
        sid = ServiceId.parse(text)
    except InvalidIdentifier:
        return "", "", "", "", ""
    member = sid.member.code
    return str(member), _level1(member), sid.subsystem.code, sid.code, sid.version or ""


_client_cached = functools.lru_cache(maxsize=8192)(_parse_client)
_service_cached = functools.lru_cache(maxsize=8192)(_parse_service)


def _level1(code: object) -> str:
    """``H41`` for an agency code, the main tax code for an enterprise."""
    root = getattr(code, "level1", None)
    return root if isinstance(root, str) else str(getattr(code, "main", code))


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def ledger_row(
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> Row | None:
    """The ledger row for a record of an egress topic or of ``ndxp.rejected``; ``None`` for
    records that are not ledger rows (error notices, other topics)."""
    h = _headers(headers)
    kind = h.get(wire.H_KIND, "")
    if topic == wire.REJECTED_TOPIC:
        outcome = OUTCOME_REJECTED
        ingress = h.get(wire.H_SOURCE_TOPIC, "")
        message_id = h.get(wire.H_ID, "")
        if not wire.valid_message_id(message_id):
            # No usable id: the ingress coordinates identify it, stable across redeliveries.
            src_p, src_o = h.get(wire.H_SOURCE_PARTITION, ""), h.get(wire.H_SOURCE_OFFSET, "")
            message_id = f"{ingress}:{src_p}:{src_o}"
    elif topic.startswith(wire.EGRESS_PREFIX):
        if kind not in wire.SENDER_KINDS:
            return None  # the router's error notices
        outcome = OUTCOME_ROUTED
        ingress = ""
        message_id = h.get(wire.H_ID, "")
    else:
        return None
    if kind not in wire.SENDER_KINDS:
        kind = KIND_UNKNOWN
    client = h.get(wire.H_CLIENT, "")
    service = h.get(wire.H_SERVICE, "")
    payload = value or b""
    return (
        message_id,
        kind,
        h.get(wire.H_CORRELATION_ID, ""),
        outcome,
        h.get(wire.H_ERROR, ""),
        h.get(wire.H_ERROR_DETAIL, ""),
        client,
        *_client_parts(client),
        service,
        *_service_parts(service),
        h.get(wire.H_ROUTE, ""),
        len(payload),
        hashlib.sha256(payload).digest(),
        timestamp_ms,
        _int(h.get(wire.H_ROUTED_AT), timestamp_ms),
        topic,
        partition,
        offset,
        ingress,
    )
