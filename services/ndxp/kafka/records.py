"""One record can no longer stop aiokafka's consumer (issue 11): raw header names, compressed
batches aiokafka cannot read, zip bombs; nor swell it with thousands of headers.

Three kinds of record stopped a consumer (the router, a Faust app; the ledger, a plain
``AIOKafkaConsumer``) inside ``PartitionRecords._unpack_records``, so the error reached whoever
drains the fetcher; the service died, restarted, read the same record and died again:

- **A header name that is not UTF-8.** The broker never checks the encoding; aiokafka 0.14.0
  decodes names strictly (its C parser raises ``UnicodeDecodeError``, the pure-Python one under
  ``AIOKAFKA_NO_EXTENSIONS`` a ``CorruptRecordException`` caused by it).
- **A zstd, lz4 or snappy batch.** aiokafka decodes them with cramjam, which is not installed:
  ``UnsupportedCodecError``.
- **A record of thousands of headers** (not a stop, a slow-down): 64 KiB holds 21,000 of them,
  each ~80 bytes of Python objects once read. Such records held the router to 61 records a
  second and 2.7 GB. Every record is handed over with at most ``READ_HEADERS`` (512) headers,
  then their count (:func:`ndxp.core.budget.clip_headers`); the router refuses more than 256.
- **A zip bomb.** With ``compression.type=producer`` the broker takes a 4 MiB gzip batch of
  zeros that inflates to 4 GiB (zstd about 23,500:1, 94 GiB); aiokafka inflates a batch whole,
  in the event loop: 1 GiB cost 9 s and 2.1 GB, 4 GiB 30 s and 8.4 GB peak RSS, then the kernel
  killed the consumer (measured on this repo's Kafka 4.0.2 broker, /tmp/bomb/bomb.py).

:func:`install` replaces the ``MemoryRecords`` name that ``aiokafka/consumer/fetcher.py`` uses
(a private internal of aiokafka, listed in :data:`PATCHES` for the version guard) with
:class:`LenientMemoryRecords`: aiokafka's own implementation batch by batch, each v2 batch
wrapped in a :class:`LenientBatch`.

- An **uncompressed** batch is read by aiokafka's parser. Only when that fails on a header name
  is it parsed again by :func:`~ndxp.kafka.batch_format.read_batch`, a pure-Python v2 parser
  that decodes names with ``surrogateescape`` (``name.encode("utf-8", "surrogateescape")``
  gives back the exact bytes), and iteration goes on from the record that failed.
- A **compressed** batch (not a control batch) is never inflated by aiokafka: :func:`inflate`
  inflates it here, step by step, to at most :data:`MAX_INFLATED` bytes of records (gzip with
  zlib, zstd with backports.zstd, lz4 with lz4.frame, snappy with pyarrow's snappy codec — all
  pinned, none needs cramjam), and aiokafka's parser reads the records from an uncompressed
  copy of the batch (raw names as above): cheaper than :func:`read_batch` (see "Cost").
- A compressed batch that **cannot be read** — inflating past the cap, an unknown codec, a codec
  whose library is missing, corrupt compressed data, records that do not parse once inflated —
  becomes one placeholder record per offset of the batch (:mod:`ndxp.kafka.placeholders`:
  valued with an :class:`~ndxp.kafka.placeholders.Unreadable` that carries ``cause``,
  ``reason`` and ``batch``), produced lazily. Records a failing batch yielded before the
  failure keep their place: ``PartitionRecords`` drops every record below the offset it
  already handed out. What to do with a placeholder (the router refuses it, the ledger
  quarantines it) is the reader's.

**Transaction markers.** A member's transactional producer makes the broker write a control
batch (one commit or abort marker) on the member's ingress partition at the end of each
transaction. aiokafka passes over it, so the consumer sees an offset gap there, and the
router's in-order guard, which takes a gap for records Faust dropped, sought back to the
marker again and again: one transaction stopped its partition for good. In a process that
calls :func:`pass_markers` (the router: its consumer reads uncommitted, as every ndxp consumer
does), each offset of a control batch is handed over as a placeholder whose value is a
:class:`~ndxp.kafka.placeholders.Marker` (with the producer id and the marker's kind), so a
partition's offsets stay consecutive; the router passes over it and counts it.
Elsewhere, and for consumers reading committed, control batches stay aiokafka's.

CRC checks (on the batch as fetched, compressed), control batches (but as above), aborted
transactions and offsets stay ``PartitionRecords``' own: the wrapper forwards the batch's
attributes unchanged, and a CRC failure still raises ``CorruptRecordException`` as it does in
aiokafka. v0/v1 message sets pass through untouched: a Kafka 4 broker takes only v2 batches
from producers.

Cost on the normal path, CPU time through ``PartitionRecords``, best of 9 interleaved runs
(``python -m ndxp.bench.records 100000 500``: JSON values of 1.4 KB with three headers, in
batches of 500; aiokafka's own path for snappy, lz4 and zstd measured with cramjam 2.14 on
``PYTHONPATH``, which ndxp does not install), µs a record, aiokafka → this module:
uncompressed 1.82 → 1.84; gzip 6.49 → 5.60 (zlib directly, not ``gzip.GzipFile``); snappy
2.39 → 2.61; lz4 2.05 → 2.03; zstd 2.30 → 2.27. :func:`read_batch` over the inflated bytes
would cost 4 µs a record more than aiokafka's C parser does, hence the uncompressed copy. In
batches of one record (``20000 1``) the wrapper adds 0.7 µs a batch uncompressed and 2 to 4 µs
a compressed batch over cramjam's path (16 µs of a zstd batch is creating its decompressor).

Inflating (and what a bomb costs) is :mod:`ndxp.kafka.inflate`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import aiokafka.consumer.fetcher as fetcher
import aiokafka.record.memory_records as memory_records
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatch, _DefaultRecordBatchPy

from ndxp.core.budget import clip_headers
from ndxp.core.wire import READ_HEADERS
from ndxp.kafka.batch_format import (
    LenientRecord,
    find_batch,
    inflate_batch,
    read_batch,
)
from ndxp.kafka.inflate import CODECS, MAX_INFLATED, Cause, InflateError
from ndxp.kafka.placeholders import Forwarded, MarkerBatch, unreadable

AIOKAFKA_VERSION: Final = "0.14.0"
"""The aiokafka release whose internals this module was written against and measured on."""

PATCHES: Final[tuple[tuple[object, str], ...]] = ((fetcher, "MemoryRecords"),)
"""What :func:`install` replaces: (object, attribute). The fetcher reads this module-level
name once per fetched partition (``records = MemoryRecords(part_data[-1])``)."""

READS: Final[tuple[tuple[object, str], ...]] = (
    (memory_records, "MemoryRecords"),  # the implementation wrapped (C, or pure Python)
    (fetcher, "PartitionRecords"),  # iterates our batches: has_next/next_batch, then per batch
    # validate_crc, producer_id, base_offset, is_control_batch, is_transactional,
    # next_offset, next(batch) for a control batch's marker, and `for record in batch`; it
    # drops records below the offset it handed out last (placeholders rely on it)
    (fetcher.PartitionRecords, "_consumer_record"),  # passes record.value through unchanged
)
"""aiokafka names this module relies on without replacing them (for the version guard)."""


def pass_markers() -> None:
    """Hand every control batch over as placeholders valued with a
    :class:`~ndxp.kafka.placeholders.Marker`, one per offset, in this process (idempotent;
    needs :func:`install`). Only for a process whose consumers all read
    uncommitted (the router: Faust reads committed only for exactly-once processing, which
    ndxp does not use): a consumer reading committed needs the control batches aiokafka's own
    way, to know where an aborted transaction ends."""
    LenientMemoryRecords.markers = True


def install() -> None:
    """Make every aiokafka consumer of this process read past raw header names, compressed
    batches it cannot read and zip bombs (idempotent). Call it before the consumer fetches."""
    fetcher.MemoryRecords = LenientMemoryRecords


def installed() -> bool:
    """Whether :func:`install` is in force (for health output and the version guard)."""
    return fetcher.MemoryRecords is LenientMemoryRecords


_ORIGINAL: Final = memory_records.MemoryRecords
_V2_BATCHES: Final = (DefaultRecordBatch, _DefaultRecordBatchPy)


class LenientMemoryRecords:
    """aiokafka's ``MemoryRecords`` over one fetched partition's bytes, each v2 batch wrapped
    in a :class:`LenientBatch` that can find its own bytes here (to inflate them, or to parse
    them again)."""

    __slots__ = ("_buffer", "_cursor", "_records", "has_next", "size_in_bytes")

    max_inflated: int = MAX_INFLATED
    """The cap for every batch (a class attribute: tests lower it)."""
    markers: bool = False
    """Whether control batches are handed over as placeholders (:func:`pass_markers`)."""

    def __init__(self, bytes_data: bytes) -> None:
        records = _ORIGINAL(bytes_data)
        self._buffer = bytes_data
        self._cursor = 0  # where the last batch looked up ended: batches are read in order
        self._records = records
        self.has_next = records.has_next  # bound C methods: no Python frame per call
        self.size_in_bytes = records.size_in_bytes

    def next_batch(self) -> Any:
        batch = self._records.next_batch()
        if type(batch) in _V2_BATCHES:  # v0/v1 messages have no headers
            if self.markers and batch.is_control_batch:
                return MarkerBatch(batch)
            return LenientBatch(batch, self)
        return batch

    def batch_bytes(self, base_offset: int, crc: int) -> memoryview:
        """The bytes of the batch at ``base_offset`` with this CRC, looked up from where the
        last lookup ended (once through the buffer for all its batches), else from the start."""
        found = find_batch(self._buffer, base_offset, crc, self._cursor)
        if found is None:
            found = find_batch(self._buffer, base_offset, crc, 0)
        if found is None:
            raise CorruptRecordException(f"batch at offset {base_offset} not in the fetch")
        start, self._cursor = found
        return memoryview(self._buffer)[start : self._cursor]


class LenientBatch(Forwarded):
    """One v2 batch: aiokafka's batch, read through unless a header name is not UTF-8; its
    records inflated here, with a cap, when it is compressed."""

    __slots__ = ("_iterator", "_owner")

    def __init__(self, batch: Any, owner: LenientMemoryRecords) -> None:
        super().__init__(batch)
        self._owner = owner
        self._iterator: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        it = self._iterator
        if it is None:
            batch = self._batch
            if batch.compression_type and not batch.is_control_batch:
                it = self._inflated()
            else:  # control batches are the broker's own, never a producer's
                it = _lenient(batch, self._plain_bytes)
            self._iterator = it
        return it

    def __next__(self) -> Any:
        return next(self.__iter__())

    def _plain_bytes(self) -> memoryview:
        return self._owner.batch_bytes(self._batch.base_offset, self._batch.crc)

    def _inflated(self) -> Iterator[Any]:
        batch = self._batch
        data = self._owner.batch_bytes(batch.base_offset, batch.crc)
        try:
            plain = inflate_batch(data, self._owner.max_inflated)
            yield from _lenient(type(batch)(plain), lambda: plain)
            return
        except InflateError as err:
            cause, reason = err.cause, err.reason
        except (CorruptRecordException, UnicodeDecodeError) as err:
            codec = batch.compression_type
            cause = Cause.CORRUPT
            reason = f"{CODECS.get(codec, codec)} batch: records do not parse ({err})"
        yield from unreadable(batch, cause, reason, len(data))


def _lenient(
    batch: Any, batch_bytes: Callable[[], bytes | bytearray | memoryview]
) -> Iterator[Any]:
    """The records of an uncompressed batch, read by aiokafka's parser; from the first record
    whose header name is not UTF-8, by :func:`read_batch` over ``batch_bytes()``. A record with
    more than ``READ_HEADERS`` headers is handed over with its first ``READ_HEADERS`` and their
    count (:func:`ndxp.core.budget.clip_headers`): its other headers are dropped here, as it is
    read, before any consumer holds them."""
    try:
        for record in batch:
            if len(record.headers) > READ_HEADERS:
                record = _clipped(record)
            yield record
        return
    except UnicodeDecodeError as exc:
        error: Exception = exc
    except CorruptRecordException as exc:  # the pure-Python parser wraps the decode error
        if not isinstance(exc.__cause__, UnicodeDecodeError):
            raise
        error = exc
    records = read_batch(batch_bytes())
    # The strict parser yielded every record before the first one with a raw name and
    # stopped there (strict UTF-8 decoding fails exactly where surrogateescape escapes).
    failed = next((i for i, r in enumerate(records) if _has_raw_name(r)), None)
    if failed is None:
        raise error
    yield from records[failed:]


def _clipped(record: Any) -> LenientRecord:
    return LenientRecord(
        record.offset,
        record.timestamp,
        record.timestamp_type,
        record.key,
        record.value,
        clip_headers(record.headers),
    )


def _has_raw_name(record: LenientRecord) -> bool:
    return any(_is_raw_name(name) for name, _ in record.headers)


def _is_raw_name(name: str) -> bool:
    """Whether a header name holds bytes that are not UTF-8 (escaped as lone surrogates
    U+DC80..U+DCFF; strict UTF-8 decoding never yields a lone surrogate)."""
    return not name.isascii() and any("\udc80" <= c <= "\udcff" for c in name)
