"""From a routing decision to the records the router produces (pure: no Kafka here).

The sender's key, value and headers are forwarded unchanged; the router appends its own
headers. Every copy carries the record's ingress coordinates (``ndxp-source-topic``,
``-partition``, ``-offset``: the platform's identity of the record, which senders cannot set)
and has the platform's time of receipt (the ingress topic's LogAppendTime) as its Kafka
timestamp. A rejection yields a dead-letter copy and, when the ingress member
is connected, an error notice on that member's egress topic. Every copy fits its topic for any
record within the size budget (:mod:`ndxp.core.budget`, proven by tests/unit/test_budget.py).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence

import orjson

from ndxp.core import wire
from ndxp.core.budget import MAX_DETAIL_CHARS, kept_headers
from ndxp.core.envelope import Headers
from ndxp.core.errors import clip
from ndxp.core.immutable import immutable
from ndxp.core.quota import QuotaHit, policy
from ndxp.core.routing import Rejected


@immutable
class Source:
    """Where and when a record came in: its ingress coordinates and the platform's time of
    receipt (epoch ms: the broker's LogAppendTime on ingress topics)."""

    topic: str
    partition: int
    offset: int
    received_ms: int

    def headers(self) -> list[tuple[str, bytes | None]]:
        return [
            (wire.H_SOURCE_TOPIC, self.topic.encode()),
            (wire.H_SOURCE_PARTITION, str(self.partition).encode()),
            (wire.H_SOURCE_OFFSET, str(self.offset).encode()),
        ]


@immutable
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]
    timestamp_ms: int | None = None
    """The platform's time of receipt of the record it copies (its Source.received_ms)."""
    partition: int | None = None


def producible(key: bytes | None, value: bytes | None) -> tuple[bytes | None, bytes | None]:
    """Kafka accepts a record with neither key nor value; the producer client does not.

    Such a record is forwarded with an empty value (documented in schemas/WIRE.md).
    """
    if key is None and value is None:
        return None, b""
    return key, value


def routed(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    route: str,
    source: Source,
    routed_ms: int,
    ticket: bytes | None = None,
) -> Outgoing:
    """The routed copy of a record, from either stage: the sender's key, value and headers,
    then a request's ``ndxp-ticket`` (:mod:`ndxp.core.ticket`), ``ndxp-routed-at``,
    ``ndxp-route`` and the ingress coordinates."""
    key, value = producible(key, value)
    out_headers = [*headers]
    if ticket is not None:
        out_headers.append((wire.H_TICKET, ticket))
    out_headers += [
        (wire.H_ROUTED_AT, str(routed_ms).encode()),
        (wire.H_ROUTE, route.encode()),
        *source.headers(),
    ]
    return Outgoing(topic, key, value, out_headers, source.received_ms)


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
    headers (quota details) go on both. The dead-letter copy keeps the sender's key, value and
    headers (a header name that was not UTF-8 has each of its bad bytes written as ``?``: the
    producer can only write UTF-8 names); the notice never carries the payload, and the
    sender's key only when it is within the key limit."""
    code = decision.code.value.encode()
    detail_text = clip(decision.detail, MAX_DETAIL_CHARS)
    detail = detail_text.encode()
    coordinates = source.headers()
    dead_key, dead_value = producible(key, value)
    dead = Outgoing(
        wire.REJECTED_TOPIC,
        dead_key,
        dead_value,
        [
            *writable_names(kept_headers(headers)),
            (wire.H_ERROR, code),
            (wire.H_ERROR_DETAIL, detail),
            *coordinates,
            (wire.H_ROUTED_AT, str(now_ms).encode()),
            *extra,
        ],
        source.received_ms,
    )
    if decision.notify is None:
        return [dead]
    notice_headers = [
        (wire.H_ID, notice_id(decision, source, extra)),
        (wire.H_KIND, wire.KIND_ERROR.encode()),
        (wire.H_ERROR, code),
        (wire.H_ERROR_DETAIL, detail),
        *coordinates,
        (wire.H_ROUTED_AT, str(now_ms).encode()),
        (wire.H_ROUTE, str(decision.notify.code).encode()),
        *extra,
    ]
    if decision.message_id is not None:
        notice_headers.append((wire.H_CORRELATION_ID, decision.message_id.encode()))
    body = orjson.dumps(
        {"error": decision.code.value, "detail": detail_text, "id": decision.message_id}
    )
    notice_key = key if key is not None and len(key) <= wire.MAX_KEY_BYTES else None
    notice = Outgoing(
        wire.egress_topic(decision.notify), notice_key, body, notice_headers, source.received_ms
    )
    return [dead, notice]


def notice_id(decision: Rejected, source: Source, extra: Headers = ()) -> bytes:
    """An error notice's ``ndxp-id``, 32 hex digits derived from the refusal: the refused
    record's ingress coordinates, its code and, for a document, the receiver refused. The same
    refusal decided again (a redelivery after a crash) has the same id; two refusals of one
    document differ. (A random UUID was 4 µs, most of it a system call: 8 % of the router's
    time while it refused a member's flood.)"""
    receiver = b"".join(v for k, v in extra if k == wire.H_DOC_RECEIVER and v is not None)
    what = f"{source.topic}\0{source.partition}\0{source.offset}\0{decision.code.value}\0"
    return hashlib.blake2b(what.encode() + receiver, digest_size=16).hexdigest().encode()


def writable_names(headers: Headers) -> Headers:
    """``headers`` with every byte of a name that was not UTF-8 (a surrogate, as the consumer
    hands such names over) replaced by ``?``: the same size, and a name the producer can
    write."""
    if all(name.isascii() for name, _ in headers):
        return headers
    return [(_writable(name), raw) for name, raw in headers]


def _writable(name: str) -> str:
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("?" if "\udc80" <= c <= "\udcff" else c for c in name)
    return name


def to_home(
    client: str,
    home: int,
    route: str,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    seal_key: bytes,
) -> Outgoing:
    """A request under a limit that arrived off its client's home partition, written again on
    that partition of the same ingress topic, where its client's requests are counted
    (:func:`sealed`)."""
    return sealed(source.topic, client, home, route, source, key, value, headers, seal_key)


def sealed(
    topic: str,
    owner: str,
    partition: int,
    route: str,
    source: Source,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    seal_key: bytes,
    event: str = "",
) -> Outgoing:
    """A record written again by the router for one of its own stages (a home copy, a
    document's event), keyed by ``owner``: the sender's key, the ingress coordinates, the
    route, the time of receipt and the ``event`` travel in internal headers, sealed last
    with an HMAC of the router's key (``ndxp-x-seal``) over them, the sender's headers and
    the value, so that a sender cannot write such a copy itself (its own ``ndxp-x-*`` headers
    are refused), nor dress one it has read in other headers or another value."""
    internal = [
        (wire.H_X_SOURCE, f"{source.topic}:{source.partition}:{source.offset}".encode()),
        (wire.H_X_ROUTE, route.encode()),
        (wire.H_X_RECEIVED, str(source.received_ms).encode()),
    ]
    if key is not None:
        internal.append((wire.H_X_KEY, key))
    if event:
        internal.append((wire.H_X_EVENT, event.encode()))
    internal.append((wire.H_X_SEAL, seal(seal_key, owner, internal, headers, value)))
    return Outgoing(
        topic, owner.encode(), value, [*headers, *internal], source.received_ms, partition
    )


def seal(
    seal_key: bytes,
    client: str,
    internal: Headers,
    sender: Headers,
    value: bytes | None,
) -> bytes:
    """The HMAC-SHA256 (hex) of a sealed copy's owner, its internal headers, the sender's
    headers and its value, each part length-prefixed (a header's bytes cannot be moved into
    the next one). Sealing the internal headers alone let anyone who could read a home copy
    write it again with other sender headers in front (an answer nobody asked for, a request
    in another member's name) or another value, routed under the sealed route and identity,
    and so kept out of the ledger as a duplicate (a hostile run, 2026-12-06)."""
    mac = hmac.new(seal_key, _part(client.encode()), hashlib.sha256)
    for headers in (internal, sender):
        mac.update(len(headers).to_bytes(4, "big"))
        for name, raw in headers:
            mac.update(_part(name.encode("utf-8", "surrogateescape")) + _part(raw))
    mac.update(_part(value))
    return mac.hexdigest().encode()


def _part(raw: bytes | None) -> bytes:
    """``raw`` length-prefixed (``None``: a length no bytes have)."""
    if raw is None:
        return b"\xff\xff\xff\xff"
    return len(raw).to_bytes(4, "big") + raw


def is_home_copy(headers: Headers) -> bool:
    """Whether the record claims to be a home copy (its last header is the seal): cheap, for
    every record; :func:`from_home` checks the claim."""
    return bool(headers) and headers[-1][0] == wire.H_X_SEAL


@immutable
class Staged:
    """A request under a limit, as its quota stage decides it."""

    key: bytes | None
    headers: list[tuple[str, bytes | None]]  # the sender's, internal ones removed
    source: Source
    route: str
    event: str = ""  # a document's event (ndxp.router.status_stage); "" for a home copy


def from_home(client: str, headers: Headers, value: bytes | None, seal_key: bytes) -> Staged | None:
    """A copy as :func:`sealed` wrote it for ``client`` (its owner), with these headers and
    ``value``; ``None`` when its seal does not match (a sender's forgery, or a copy given other
    headers or another value: refused as any record setting the router's headers)."""
    if value is not None and not isinstance(value, bytes | bytearray | memoryview):
        return None  # a placeholder (a batch that could not be read): nothing the router wrote
    sender: list[tuple[str, bytes | None]] = []
    internal: list[tuple[str, bytes | None]] = []
    for name, raw in headers:
        if name.startswith(wire.INTERNAL_PREFIX):
            internal.append((name, raw))
        else:
            sender.append((name, raw))
    claimed = internal.pop()[1] if internal else None
    if claimed is None or not hmac.compare_digest(
        claimed, seal(seal_key, client, internal, sender, value)
    ):
        return None
    fields = {name: raw for name, raw in internal}
    try:
        topic, partition, offset = (fields[wire.H_X_SOURCE] or b"").decode().rsplit(":", 2)
        route = (fields[wire.H_X_ROUTE] or b"").decode()
        received = int(fields[wire.H_X_RECEIVED] or b"")
    except (KeyError, ValueError):
        return None
    source = Source(topic, int(partition), int(offset), received)
    event = (fields.get(wire.H_X_EVENT) or b"").decode("utf-8", "replace")
    return Staged(fields.get(wire.H_X_KEY), sender, source, route, event)


def quota_headers(hit: QuotaHit, remaining: int | None) -> list[tuple[str, bytes | None]]:
    """What a QUOTA_EXCEEDED refusal says: which limit, what it allows, when to retry, and
    how many requests are left today under it (for a daily cap)."""
    out: list[tuple[str, bytes | None]] = [
        (wire.H_QUOTA_LIMIT, hit.limit.id.encode()),
        (wire.H_QUOTA_POLICY, policy(hit.limit).encode()),
        (wire.H_RETRY_AFTER, f"{math.ceil(hit.retry_after_s * 1000) / 1000:.3f}".encode()),
    ]
    if remaining is not None:
        out.append((wire.H_QUOTA_REMAINING, str(remaining).encode()))
    return out
