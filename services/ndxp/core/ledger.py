"""Ledger rows: what the ledger keeps of each routed or rejected message (pure).

Metadata, sizes and a SHA-256 of the payload — never the payload. One row per record the
router read from an ingress topic: routed requests and responses (read from egress topics) and
rejected messages (read from ``ndxp.rejected``). The router's error notices are not rows: the
rejected message they answer already is one.

**Identity.** A row's identity is the platform's, never the sender's: the record's ingress
coordinates (``source_topic``, ``source_partition``, ``source_offset``), from the headers the
router sets on every copy and refuses from senders — and, for the document axis's kinds, the
``receiver`` as well: one document is one ingress record and a copy for each receiver, each a
row (:func:`identity`). A true replay (the router redelivering after
a crash, the ledger re-reading after one) has the same coordinates and is kept once; a sender
re-using an ``ndxp-id`` — its own or another member's — makes a new ingress record and a row
of its own (``ndxp report`` counts id collisions). A record that does not carry the router's
coordinates (not written by the router) is identified by its own coordinates.

**Time.** ``received_at`` is the platform's time of receipt (the Kafka timestamp of the
router's copies: the ingress topic's LogAppendTime), the ledger's day and partition.
``produced_at`` is what the sender claimed (``ndxp-sent-at``), kept as claimed, ``None`` when
absent or outside what ClickHouse's DateTime64 holds (1900–2299).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from ndxp.core import wire
from ndxp.core.agency import AgencyCode
from ndxp.core.document import H_DOC_ID, Refused
from ndxp.core.document_status import H_DOC_STATUS
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
    "received_at",
    "produced_at",
    "routed_at",
    "topic",
    "partition",
    "offset",
    "source_topic",
    "source_partition",
    "source_offset",
    "receiver",
    "doc_id",
    "doc_status",
)

Row = tuple[Any, ...]
MESSAGE_ID = COLUMNS.index("message_id")
PAYLOAD_SIZE = COLUMNS.index("payload_size")
PAYLOAD_SHA256 = COLUMNS.index("payload_sha256")
RECEIVED_AT = COLUMNS.index("received_at")
ROUTED_AT = COLUMNS.index("routed_at")
TOPIC = COLUMNS.index("topic")
SOURCE = slice(COLUMNS.index("source_topic"), COLUMNS.index("source_offset") + 1)
RECEIVER = COLUMNS.index("receiver")

# What ClickHouse's DateTime64(3) holds: 1900-01-01 .. 2299-12-31 (epoch milliseconds).
MIN_TIME_MS = -2_208_988_800_000
MAX_TIME_MS = 10_413_791_999_999
MAX_TEXT = 1024  # characters kept of any text a sender controls (ids, names, details)
MAX_DOC_ID = 128  # a valid edXML document id is at most 108 characters
MAX_PARTITION = 2**31 - 1
MAX_OFFSET = 2**63 - 1


Identity = tuple[str, int, int, str]  # ingress topic, partition, offset, receiver ('' for none)


def identity(row: Row) -> Identity:
    """The platform's identity of a row: its ingress coordinates and, for a row with a
    receiver (a document's copy for one of its receivers, a status), the receiver, so that
    each receiver's copy is a row and a replay of it is not."""
    topic, partition, offset = row[SOURCE]
    return topic, partition, offset, row[RECEIVER]


def unique_rows(rows: Sequence[Row]) -> list[Row]:
    """Rows with the first occurrence of each identity only."""
    seen: set[Identity] = set()
    out: list[Row] = []
    for row in rows:
        key = identity(row)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def row_problem(row: Row) -> str | None:
    """Why the ledger cannot insert this row as it is (it is quarantined instead), or
    ``None``. The router's copies never have one; records written to egress topics by
    someone else may."""
    received = row[RECEIVED_AT]
    if not MIN_TIME_MS <= received <= MAX_TIME_MS:
        return f"timestamp {received} is outside what the ledger can hold (1900-2299)"
    return None


_ROUTER_HEADERS = frozenset(wire.ROUTER_HEADERS)
_READ = frozenset(
    (
        wire.H_ID,
        wire.H_KIND,
        wire.H_CLIENT,
        wire.H_SERVICE,
        wire.H_CORRELATION_ID,
        wire.H_SENT_AT,
        wire.H_DOC_RECEIVER,
        H_DOC_ID,
        H_DOC_STATUS,
        wire.H_ROUTED_AT,
        wire.H_ROUTE,
        wire.H_ERROR,
        wire.H_ERROR_DETAIL,
        wire.H_SOURCE_TOPIC,
        wire.H_SOURCE_PARTITION,
        wire.H_SOURCE_OFFSET,
        wire.H_PAYLOAD_SIZE,
        wire.H_PAYLOAD_SHA256,
    )
)
"""The headers a ledger row is made of; a copy's others (its ticket, content type, the
sender's own) are not decoded (a third of a row's time went to decoding headers)."""


def _headers(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, str]:
    """The first occurrence of each sender header and the last of each router header (the
    router appends its own after the sender's: a dead-letter copy of a message refused for
    forging ``ndxp-error`` or ``ndxp-routed-at`` carries the forgery first), decoded
    leniently (the router already judged them); only those in :data:`_READ`."""
    out: dict[str, str] = {}
    for name, raw in headers:
        if name in _READ and raw is not None and (name not in out or name in _ROUTER_HEADERS):
            out[name] = (raw if type(raw) is bytes else bytes(raw)).decode("utf-8", "replace")
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


def _time(text: str | None) -> int | None:
    """An epoch-millisecond time from a header, if it is one the ledger can hold."""
    if text is None or not wire.valid_epoch_ms(text):
        return None
    value = int(text)
    return value if MIN_TIME_MS <= value <= MAX_TIME_MS else None


def _source(h: dict[str, str], topic: str, partition: int, offset: int) -> tuple[str, int, int]:
    """The ingress coordinates the router stamped, or the record's own when it did not."""
    src_topic = h.get(wire.H_SOURCE_TOPIC)
    src_partition = _int(h.get(wire.H_SOURCE_PARTITION), -1)
    src_offset = _int(h.get(wire.H_SOURCE_OFFSET), -1)
    if (
        src_topic is None
        or not src_topic.startswith(wire.INGRESS_PREFIX)
        or len(src_topic) > MAX_TEXT
        or not 0 <= src_partition <= MAX_PARTITION
        or not 0 <= src_offset <= MAX_OFFSET
    ):
        return topic, partition, offset
    return src_topic, src_partition, src_offset


def _text(h: dict[str, str], name: str) -> str:
    value = h.get(name, "")
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT]


def ledger_row(
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> Row | None:
    """The ledger row for a record of an egress topic or of ``ndxp.rejected``; ``None`` for
    records that are not ledger rows (error notices, other topics). ``timestamp_ms`` is the
    record's Kafka timestamp: on the router's copies, the platform's time of receipt."""
    h = _headers(headers)
    kind = h.get(wire.H_KIND, "")
    if topic == wire.REJECTED_TOPIC:
        outcome = OUTCOME_REJECTED
    elif topic.startswith(wire.EGRESS_PREFIX):
        if kind not in _ROW_KINDS:
            return None  # the router's error notices
        outcome = OUTCOME_ROUTED
    else:
        return None
    source = _source(h, topic, partition, offset)
    message_id = h.get(wire.H_ID, "")
    if not wire.valid_message_id(message_id):
        # No usable id: the ingress coordinates name it, stable across redeliveries.
        message_id = f"{source[0]}:{source[1]}:{source[2]}"
    if kind not in _ROW_KINDS:
        kind = KIND_UNKNOWN
    client = _text(h, wire.H_CLIENT)
    service = _text(h, wire.H_SERVICE)
    size, digest = _payload(value, h, outcome, kind)
    received = timestamp_ms
    return (
        message_id,
        kind,
        _text(h, wire.H_CORRELATION_ID),
        outcome,
        _text(h, wire.H_ERROR),
        _text(h, wire.H_ERROR_DETAIL),
        client,
        *_client_parts(client),
        service,
        *_service_parts(service),
        _text(h, wire.H_ROUTE),
        size,
        digest,
        received,
        _time(h.get(wire.H_SENT_AT)),
        _routed_at(h, received),
        topic,
        partition,
        offset,
        *source,
        _receiver(h, kind),
        *_document(h, kind),
    )


_ROW_KINDS = (*wire.SENDER_KINDS, wire.KIND_STATUS)
_RECEIVER_REFUSALS = frozenset(r.value for r in Refused)


def _payload(value: bytes | None, h: dict[str, str], outcome: str, kind: str) -> tuple[int, bytes]:
    """The size and SHA-256 of what the record carries; for the dead letter of a document's
    refused receiver that does not carry the document again, those the router wrote of it
    (:func:`ndxp.core.document.kept_elsewhere`). Only there: a sender cannot set those
    headers (a record that does is refused MALFORMED, never fanned out), so on a receiver's
    refusal they are the router's."""
    payload = value or b""
    if (
        not payload
        and outcome == OUTCOME_REJECTED
        and kind == wire.KIND_DOCUMENT
        and h.get(wire.H_ERROR) in _RECEIVER_REFUSALS
    ):
        size, digest = h.get(wire.H_PAYLOAD_SIZE, ""), h.get(wire.H_PAYLOAD_SHA256, "")
        if size.isascii() and size.isdigit() and len(size) <= 12 and len(digest) == 64:
            try:
                return int(size), bytes.fromhex(digest)
            except ValueError:
                pass
    return len(payload), hashlib.sha256(payload).digest()


def _receiver(h: dict[str, str], kind: str) -> str:
    """The agency a document's copy (or a status) is for: an agency code, or ''. Other kinds
    have none, whatever their headers say."""
    if kind not in wire.DOCUMENT_KINDS:
        return ""
    text = h.get(wire.H_DOC_RECEIVER, "")
    try:
        return str(AgencyCode.parse(text))
    except InvalidIdentifier:
        return ""


def _document(h: dict[str, str], kind: str) -> tuple[str, str]:
    """The document id a copy or status is about and a status's code ('' for other kinds):
    as sent, cut to what an id can be (the router refused it otherwise, and kept it)."""
    if kind not in wire.DOCUMENT_KINDS:
        return "", ""
    doc_id = h.get(H_DOC_ID, "")[:MAX_DOC_ID]
    status = h.get(H_DOC_STATUS, "")[:2] if kind == wire.KIND_STATUS else ""
    return doc_id, status


def _routed_at(h: dict[str, str], received: int) -> int:
    """``ndxp-routed-at``; the time of receipt when it is missing or not a time the ledger can
    hold (0 when neither is)."""
    routed = _time(h.get(wire.H_ROUTED_AT))
    if routed is not None:
        return routed
    return received if MIN_TIME_MS <= received <= MAX_TIME_MS else 0


QUARANTINE_COLUMNS = (
    "topic",
    "partition",
    "offset",
    "reason",
    "message_id",
    "received_ms",
    "payload_size",
    "payload_sha256",
)


def quarantine_row(row: Row, reason: str) -> Row:
    """What the ledger keeps of a row it could not insert: where it was read, why, and the
    little that is always storable."""
    return (
        str(row[TOPIC])[:MAX_TEXT],
        _int64(row[TOPIC + 1]),
        _int64(row[TOPIC + 2]),
        reason[:MAX_TEXT],
        str(row[MESSAGE_ID])[:MAX_TEXT],
        _int64(row[RECEIVED_AT]),
        min(int(row[PAYLOAD_SIZE]), 2**32 - 1),
        row[PAYLOAD_SHA256],
    )


def _int64(value: Any) -> int:
    return max(-(2**63), min(2**63 - 1, int(value)))


def unreadable(
    topic: str, partition: int, offset: int, timestamp_ms: int | None, value: bytes | None, why: str
) -> Row:
    """The quarantine row of a record no ledger row could be made of."""
    payload = value or b""
    ts = timestamp_ms if timestamp_ms is not None else 0
    return (topic, partition, offset, why[:MAX_TEXT], "", ts, len(payload), _sha256(payload))


def _sha256(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()
