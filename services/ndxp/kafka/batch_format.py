"""Kafka's v2 record batch, byte by byte: its header's layout, a batch found by its base offset
and CRC in a fetched partition's bytes, an uncompressed copy of a compressed batch, and a
pure-Python parser that keeps header names' bytes (``surrogateescape``). What aiokafka's own
parsers cannot do for :mod:`ndxp.kafka.records`, which decides when each is used."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aiokafka.errors import CorruptRecordException

from ndxp.core.budget import counted
from ndxp.core.wire import READ_HEADERS
from ndxp.kafka.inflate import MAX_INFLATED, Cause, InflateError, inflate, inflate_onto

# RecordBatch header (magic 2): BaseOffset Length PartitionLeaderEpoch Magic CRC Attributes
# LastOffsetDelta FirstTimestamp MaxTimestamp ProducerId ProducerEpoch BaseSequence Count
HEADER: Final = struct.Struct(">qiibIhiqqqhii")
OFFSET_LENGTH: Final = struct.Struct(">qi")
LOG_OVERHEAD: Final = OFFSET_LENGTH.size  # base offset + length, before each batch
LENGTH_AT: Final = 8
MAGIC_AT: Final = 16
CRC: Final = struct.Struct(">I")
CRC_AT: Final = 17
CODEC_AT: Final = 22  # the low byte of Attributes
CODEC_MASK: Final = 0x07
LOG_APPEND_TIME: Final = 0x08
LENGTH: Final = struct.Struct(">i")


@dataclass(frozen=True, slots=True)
class LenientRecord:
    """A record read by this module (a batch the C parser could not read, or a placeholder):
    the fields ``PartitionRecords`` uses of aiokafka's own records. Header names may hold lone
    surrogates (``surrogateescape``)."""

    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]
    checksum: None = None


def batch_bytes(buffer: bytes, base_offset: int, crc: int) -> memoryview:
    """The bytes of the v2 batch at ``base_offset`` with this CRC in a fetched partition's
    ``buffer`` (batches follow each other: base offset int64, length int32, then the rest)."""
    found = find_batch(buffer, base_offset, crc, 0)
    if found is None:
        raise CorruptRecordException(
            f"batch at offset {base_offset} not found in the fetched bytes"
        )
    return memoryview(buffer)[found[0] : found[1]]


def find_batch(buffer: bytes, base_offset: int, crc: int, pos: int) -> tuple[int, int] | None:
    """(start, end) of the v2 batch at ``base_offset`` with this CRC, from ``pos`` on."""
    size = len(buffer)
    while pos + HEADER.size <= size:
        offset, length = OFFSET_LENGTH.unpack_from(buffer, pos)
        end = pos + LOG_OVERHEAD + length
        if length < HEADER.size - LOG_OVERHEAD:
            break  # not a batch: the fetcher's own parser refuses these bytes too
        if (
            offset == base_offset
            and end <= size
            and buffer[pos + MAGIC_AT] >= 2
            and CRC.unpack_from(buffer, pos + CRC_AT)[0] == crc
        ):
            return pos, end
        pos = end
    return None


def inflate_batch(data: bytes | bytearray | memoryview, limit: int = MAX_INFLATED) -> bytearray:
    """The compressed v2 batch ``data`` (its bytes from the base offset on) as an uncompressed
    batch: the same header with the codec bits cleared, then the records inflated by
    :func:`inflate` (CRC left as it was: it is checked on the compressed bytes)."""
    header = HEADER.size
    if len(data) < header:
        raise InflateError(Cause.CORRUPT, f"batch of {len(data)} bytes, shorter than a header")
    out = bytearray(data[:header])
    codec = out[CODEC_AT] & CODEC_MASK
    out[CODEC_AT] &= ~CODEC_MASK & 0xFF
    inflate_onto(out, codec, memoryview(data)[header:], limit)
    LENGTH.pack_into(out, LENGTH_AT, len(out) - LOG_OVERHEAD)
    return out


def read_batch(data: bytes | bytearray | memoryview) -> list[LenientRecord]:
    """Every record of one v2 batch (its bytes from the base offset on), header names decoded
    with ``surrogateescape``; a compressed batch is inflated by :func:`inflate` (to at most
    :data:`MAX_INFLATED`). Malformed bytes raise ``CorruptRecordException``, as aiokafka's
    parser does (:class:`InflateError` for compressed bytes that cannot be inflated)."""
    try:
        return _read_batch(data)
    except (ValueError, IndexError, struct.error) as err:
        raise CorruptRecordException(f"Found invalid record structure: {err!r}") from err


def _read_batch(data: bytes | bytearray | memoryview) -> list[LenientRecord]:
    (
        base_offset,
        _length,
        _epoch,
        magic,
        _crc,
        attributes,
        _last_delta,
        first_ts,
        max_ts,
        _pid,
        _epoch2,
        _seq,
        count,
    ) = HEADER.unpack_from(data)
    if magic != 2:
        raise CorruptRecordException(f"not a v2 record batch (magic {magic})")
    body: bytearray | memoryview = memoryview(data)[HEADER.size :]
    if attributes & CODEC_MASK:
        body = inflate(attributes & CODEC_MASK, body)
    log_append = bool(attributes & LOG_APPEND_TIME)
    timestamp_type = 1 if log_append else 0
    records = []
    pos = 0
    for _ in range(count):
        length, pos = _varint(body, pos)
        start = pos
        _attrs, pos = _varint(body, pos)
        ts_delta, pos = _varint(body, pos)
        offset_delta, pos = _varint(body, pos)
        key, pos = _bytes(body, pos)
        value, pos = _bytes(body, pos)
        n_headers, pos = _varint(body, pos)
        if n_headers < 0:
            raise CorruptRecordException(f"Found invalid number of record headers {n_headers}")
        headers: list[tuple[str, bytes | None]] = []
        for _ in range(min(n_headers, READ_HEADERS)):
            name, pos = _bytes(body, pos)
            if name is None:
                raise CorruptRecordException("Invalid negative header key size")
            header_value, pos = _bytes(body, pos)
            headers.append((name.decode("utf-8", "surrogateescape"), header_value))
        if n_headers > READ_HEADERS:  # the rest are not read: the record's length skips them
            headers.append(counted(n_headers))
            if not pos - start <= length <= len(body) - start:
                raise CorruptRecordException(f"Invalid record size: {length} bytes")
            pos = start + length
        if pos - start != length:
            raise CorruptRecordException(
                f"Invalid record size: expected {length} bytes, read {pos - start}"
            )
        timestamp = max_ts if log_append else first_ts + ts_delta
        records.append(
            LenientRecord(
                base_offset + offset_delta, timestamp, timestamp_type, key, value, headers
            )
        )
    if pos != len(body):
        raise CorruptRecordException(f"{len(body) - pos} unconsumed bytes after all records")
    return records


def _varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """A zigzag varint (Kafka's varint and varlong) at ``pos``: (value, position after)."""
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7
        if shift > 63:
            raise CorruptRecordException("varint longer than 10 bytes")


def _bytes(buf: bytes | bytearray | memoryview, pos: int) -> tuple[bytes | None, int]:
    length, pos = _varint(buf, pos)
    if length < 0:
        return None, pos
    end = pos + length
    if end > len(buf):
        raise CorruptRecordException(f"{length} bytes past the end of the batch")
    return bytes(buf[pos:end]), end
