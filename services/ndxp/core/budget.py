"""The size budget: how large each part of a sender's record may be, so that every copy the
platform writes of it fits the topic it goes to (pure).

The router writes up to three copies of a record it reads: the routed copy (egress topic), or
the dead-letter copy (``ndxp.rejected``) and an error notice (the sender's egress topic); with
a request under a limit that arrived off its client's home partition, a home copy on that
partition of the same ingress topic comes first. Each copy is
the sender's key, value and headers plus what the router adds. A copy the broker refuses stalls
the partition it came from (aiokafka's idempotent producer cannot go past a refused batch: the
sequence numbers after it no longer match), so nothing is left to the broker to find out: the
router refuses a record over this budget (``TOO_LARGE``, naming the part) and the budget is
checked once, at start, against the limits of every topic a copy may go to
(:func:`largest_copy`).

Sizes are counted as Kafka counts them in a record batch (format v2): every length is a
zig-zag varint, a header is its name's UTF-8 bytes and its value's bytes plus their lengths,
and a batch holding a single record adds :data:`BATCH_OVERHEAD` bytes. The broker compares a
batch's size with the topic's ``max.message.bytes``; a record larger than the producer's batch
size travels in a batch of its own. The router's batches are compressed
(``NDXP_ROUTER_COMPRESSION``), and aiokafka keeps a batch compressed even when that made it
larger (incompressible bytes: zstd adds a few bytes per 128 KiB), so a copy is counted at
:func:`compressed_bound` of its records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ndxp.core.envelope import Headers
from ndxp.core.errors import Rejection, RejectionCode
from ndxp.core.wire import (
    H_X_HEADER_COUNT,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_KEY_BYTES,
    READ_HEADERS,
)

BATCH_OVERHEAD = 61  # a v2 record batch's header (Kafka's RECORD_BATCH_OVERHEAD)
# The most the router adds to any copy of a record: its own headers (a clipped error detail,
# quota details, the ingress coordinates, times), a home copy's internal headers with the
# sender's key moved into one of them, an error notice's small JSON body. Proven against the
# records :mod:`ndxp.router.forwarding` builds by tests/unit/test_budget.py.
ROUTER_HEADROOM = 16 * 1024
MAX_DETAIL_CHARS = 1000  # rejection details travel in headers of two copies


class HeaderCount(bytes):
    """How many headers a record had on the wire (ASCII digits), as the value of the header
    ndxp's consumers put after the first ``READ_HEADERS`` of a record that had more
    (:func:`clip_headers`, called by ``ndxp.kafka.records``). Only that reader makes one: a
    sender's header values are plain ``bytes``, so no sender can forge the count."""


def clip_headers(headers: Headers) -> list[tuple[str, bytes | None]]:
    """The first ``READ_HEADERS`` of ``headers``, then how many there were."""
    return [*headers[:READ_HEADERS], counted(len(headers))]


def counted(count: int) -> tuple[str, bytes | None]:
    """The header a reader puts after the first ``READ_HEADERS`` of a record that had
    ``count``."""
    return (H_X_HEADER_COUNT, HeaderCount(str(count).encode()))


def header_count(headers: Headers) -> int:
    """How many headers the record had on the wire (more than it holds when clipped)."""
    if len(headers) == READ_HEADERS + 1:
        raw = headers[-1][1]
        if type(raw) is HeaderCount:
            return int(raw)
    return len(headers)


def kept_headers(headers: Headers) -> Headers:
    """A sender's headers as the router's copies keep them: the first ``MAX_HEADERS`` of a
    record that had more (so that a copy, with the router's own, is read back whole), else
    all of them."""
    return headers[:MAX_HEADERS] if header_count(headers) > MAX_HEADERS else headers


def varint_size(value: int) -> int:
    """Bytes of ``value`` as a Kafka (zig-zag) varint."""
    v = (value << 1) ^ (value >> 63)
    size = 1
    while v > 0x7F:
        v >>= 7
        size += 1
    return size


def header_name_bytes(name: str) -> int:
    """A header name's bytes on the wire. Names that were not UTF-8 arrive with their bytes
    as surrogates (``surrogateescape``) and count as those bytes."""
    if name.isascii():
        return len(name)
    return len(name.encode("utf-8", "surrogateescape"))


def headers_size(headers: Sequence[tuple[str, bytes | None]]) -> int:
    """What a record's headers take on the wire: each name and value with their lengths.
    (On the hot path: names are ASCII and short, values under 64 bytes, nearly always.)"""
    total = 0
    for name, raw in headers:
        n = len(name) if name.isascii() else header_name_bytes(name)
        total += n + (1 if n < 64 else varint_size(n))
        if raw is None:
            total += 1
        else:
            v = len(raw)
            total += v + (1 if v < 64 else varint_size(v))
    return total


def copy_bytes(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """What a copy of a record takes of a byte limit (:mod:`ndxp.core.quota`): its key, value
    and headers as :func:`headers_size` counts them."""
    return (
        (0 if key is None else len(key))
        + (0 if value is None else len(value))
        + headers_size(headers)
    )


def record_size(
    key_bytes: int | None, value_bytes: int | None, header_bytes: int, count: int
) -> int:
    """Bytes of one record (``count`` headers taking ``header_bytes``, as
    :func:`headers_size`) in a batch of its own, as the broker measures it against
    ``max.message.bytes``. ``None``: a null key or value."""
    body = 1 + 1 + 1  # attributes, timestamp delta 0, offset delta 0
    body += 1 if key_bytes is None else key_bytes + varint_size(key_bytes)
    body += 1 if value_bytes is None else value_bytes + varint_size(value_bytes)
    body += varint_size(count) + header_bytes
    return BATCH_OVERHEAD + varint_size(body) + body


@dataclass(frozen=True, slots=True)
class SizeBudget:
    """The largest key, value and headers (as :func:`headers_size` counts them) a sender's
    record may have to be routed."""

    value: int
    key: int = MAX_KEY_BYTES
    headers: int = MAX_HEADER_BYTES

    def check(self, key_bytes: int, value_bytes: int, header_bytes: int) -> None:
        """Raise ``TOO_LARGE`` naming the first part over its limit: value, key, headers."""
        if value_bytes > self.value:
            _too_large("value", value_bytes, self.value)
        if key_bytes > self.key:
            _too_large("key", key_bytes, self.key)
        if header_bytes > self.headers:
            _too_large("headers", header_bytes, self.headers, " (names, values and lengths)")

    def check_count(self, headers: Headers) -> None:
        """Raise ``TOO_LARGE`` when the record had more than ``MAX_HEADERS`` headers: checked
        before any header is read (reading 21,000 of them took the router 16 ms a record)."""
        count = header_count(headers)
        if count > MAX_HEADERS:
            raise Rejection(
                RejectionCode.TOO_LARGE, f"{count:,} headers, the limit is {MAX_HEADERS}"
            )

    def largest_record(self) -> int:
        """The largest record within the budget, in a batch of its own. Many small headers
        cost more than a few large ones of the same total; the count's varint is bounded by
        the header bytes (every header takes at least two)."""
        return record_size(self.key, self.value, self.headers, self.headers // 2)

    def largest_copy(self) -> int:
        """The largest copy the router may write of a record within the budget, its records
        compressed in a batch of its own."""
        return compressed_batch(self.largest_record() + ROUTER_HEADROOM)


def compressed_bound(size: int) -> int:
    """The most bytes ``size`` bytes of records take once compressed, whatever the codec the
    router writes with: zstd's bound (``ZSTD_COMPRESSBOUND``, what a frame of incompressible
    bytes may take in the worst case: ``size / 256`` more, a little more under 128 KiB) plus
    a frame's header and checksum; lz4's and gzip's bounds are lower."""
    small = ((128 << 10) - size) >> 11 if size < (128 << 10) else 0
    return size + (size >> 8) + small + 64


def compressed_batch(plain: int) -> int:
    """The most a batch of ``plain`` bytes (header included) takes with its records compressed
    (the batch header is not)."""
    return BATCH_OVERHEAD + compressed_bound(plain - BATCH_OVERHEAD)


def largest_value(limit: int, key: int = MAX_KEY_BYTES, headers: int = MAX_HEADER_BYTES) -> int:
    """The largest value limit whose copies fit a topic taking batches of ``limit`` bytes."""
    fixed = SizeBudget(0, key, headers).largest_copy()
    value = limit - fixed
    while value > 0 and SizeBudget(value, key, headers).largest_copy() > limit:
        value -= 1  # the value's own length varint
    return value


def _too_large(part: str, size: int, limit: int, what: str = "") -> None:
    raise Rejection(
        RejectionCode.TOO_LARGE,
        f"{part} {'are' if part == 'headers' else 'is'} {size} bytes{what}, the limit is {limit}",
    )
