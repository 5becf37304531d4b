"""Compressed record batches inflated within a cap (issue 11), for :mod:`ndxp.kafka.records`:
gzip with zlib, zstd with backports.zstd, lz4 with lz4.frame, snappy with pyarrow's snappy codec
(all pinned, none needs cramjam, which aiokafka would ask for and ndxp does not install), step
by step into one buffer, to at most :data:`MAX_INFLATED` bytes. A batch that cannot be inflated
raises :class:`InflateError` with its :class:`Cause`.

Cost of a bomb: at most the cap. Python's allocations peak at 42 MiB for the 32 MiB cap
(``tracemalloc``, tests/unit/test_kafka_records.py); the 4 GiB gzip bomb of issue 11 (a 4 MiB
batch) is read as 4,064 placeholders in 81 ms and +52 MB RSS, the 16 GiB zstd bomb in 71 ms
and +53 MB (aiokafka: 30 s and 8.4 GB, then killed). What the cap does not bound is the cost
per byte a sender writes: a 1.1 KB zstd batch that reaches the cap costs 28 ms of CPU, 26 s a
MiB of such batches (gzip cannot pass 1,032:1: 1.3 s a MiB; lz4 0.1 s).
"""

from __future__ import annotations

import functools
import struct
import sys
import zlib
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final, Protocol

from aiokafka.errors import CorruptRecordException

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

try:
    import lz4.frame as lz4_frame
except ImportError:  # pinned; without it an lz4 batch becomes placeholders, not a crash
    lz4_frame = None

MAX_INFLATED: Final = 32 << 20
"""Most bytes of records one compressed batch may inflate to; past it the batch is
:class:`Unreadable`. A producer batch is limited before compression (librdkafka's
``batch.size``, 1 MB) or to about its compressed size (Java's ``batch.size``, 16 KiB by
default), and the router refuses a value over 1 MiB: legitimate batches are far smaller. A bomb
costs a consumer this much: 32 MiB of zeros inflate in 50 (zstd) to 110 ms (lz4)."""

_STEP: Final = 4 << 20
"""Inflate in steps of this many bytes into one buffer: the peak is the cap plus a step or two,
not the decompressor's doubling buffers on top of the cap."""


CODECS: Final = {1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
"""Kafka's codec ids (the low 3 bits of a batch's attributes) and their names."""


class Cause(StrEnum):
    """Why a batch is :class:`ndxp.kafka.placeholders.Unreadable` (stable values, for counters and
    quarantine)."""

    OVER_CAP = "over-cap"
    UNKNOWN_CODEC = "unknown-codec"
    CODEC_UNAVAILABLE = "codec-unavailable"
    CORRUPT = "corrupt"


class InflateError(CorruptRecordException):  # type: ignore[misc]
    """A compressed batch this module cannot read: its :class:`Cause` and a reason."""

    def __init__(self, cause: Cause, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause
        self.reason = reason


def inflate(
    codec: int, data: bytes | bytearray | memoryview, limit: int = MAX_INFLATED
) -> bytearray:
    """The records of a batch compressed with ``codec`` (``data``: the bytes after its
    61-byte header), inflated to at most ``limit`` bytes. Raises :class:`InflateError` past
    the limit, for an unknown or unavailable codec and for corrupt compressed data."""
    out = bytearray()
    inflate_onto(out, codec, memoryview(data), limit)
    return out


def inflate_onto(out: bytearray, codec: int, data: memoryview, limit: int) -> None:
    name = CODECS.get(codec)
    if name is None:
        raise InflateError(Cause.UNKNOWN_CODEC, f"batch with unknown codec {codec}")
    cap = len(out) + limit
    try:
        if codec == 2:
            _unsnappy(out, data, cap)
        else:
            new = _DECOMPRESSORS[codec]
            if new is None:
                raise InflateError(Cause.CODEC_UNAVAILABLE, f"{name} batch: codec not available")
            _frames(out, new, data, cap, gzip=codec == 1)
    except _OverCap:
        raise InflateError(Cause.OVER_CAP, f"{name} batch inflates past {_size(limit)}") from None
    except InflateError:
        raise
    except Exception as exc:  # whatever a decompressor raises on bytes a sender made up
        raise InflateError(
            Cause.CORRUPT, f"{name} batch: corrupt compressed data ({type(exc).__name__}: {exc})"
        ) from exc


class _OverCap(Exception):
    pass


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: Any, max_length: int = ..., /) -> bytes: ...


def _frames(
    out: bytearray,
    new: Callable[[], _Decompressor],
    data: Any,
    cap: int,
    gzip: bool,
) -> None:
    """Inflate the frames of ``data`` (gzip members, zstd or lz4 frames, one after the
    other) onto ``out``, never past ``cap`` bytes: each call asks for at most one byte more
    than fits, so a bomb stops there. zlib hands back the input it did not use
    (``unconsumed_tail``); zstd and lz4 keep it and take ``b""`` to go on."""
    while True:
        d = new()
        while not d.eof:
            chunk = d.decompress(data, min(cap + 1 - len(out), _STEP))
            out += chunk
            if len(out) > cap:
                raise _OverCap
            data = d.unconsumed_tail if gzip else b""  # type: ignore[attr-defined]
            if not chunk and not d.eof:
                raise ValueError("compressed data ends before its end marker")
        data = d.unused_data
        if gzip:
            data = data.lstrip(b"\0")  # zero padding after a member, as gzip.GzipFile allows
        if not data:
            return


def _gzip_member() -> _Decompressor:
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip members only, as Kafka writes


_DECOMPRESSORS: Final[dict[int, Callable[[], _Decompressor] | None]] = {
    1: _gzip_member,
    3: lz4_frame.LZ4FrameDecompressor if lz4_frame is not None else None,
    4: zstd.ZstdDecompressor,
}
"""A new decompressor for one frame of each streamed codec (``None``: library missing)."""

_XERIAL_MAGIC: Final = b"\x82SNAPPY\x00"  # then version and compatible version, int32 each
_XERIAL_HEADER: Final = 16
_BLOCK_LENGTH: Final = struct.Struct(">i")  # before each xerial block


def _unsnappy(out: bytearray, data: memoryview, cap: int) -> None:
    """Kafka's snappy: xerial's framing (a 16-byte header, then blocks of an int32 length
    and raw snappy) as the Java client writes it, or one raw snappy block as librdkafka does.
    A raw block starts with its inflated length, so a block over the cap is refused before
    anything is inflated."""
    codec = _snappy_codec()
    if codec is None:
        raise InflateError(Cause.CODEC_UNAVAILABLE, "snappy batch: codec not available")
    if len(data) > _XERIAL_HEADER and data[: len(_XERIAL_MAGIC)].tobytes() == _XERIAL_MAGIC:
        pos = _XERIAL_HEADER
        while pos < len(data):
            (length,) = _BLOCK_LENGTH.unpack_from(data, pos)
            pos += _BLOCK_LENGTH.size
            if length < 0 or pos + length > len(data):
                raise ValueError(f"xerial block of {length} bytes past the end")
            _snappy_block(out, codec, data[pos : pos + length], cap)
            pos += length
    else:
        _snappy_block(out, codec, data, cap)


def _snappy_block(out: bytearray, codec: Any, block: memoryview, cap: int) -> None:
    size = pos = shift = 0
    while True:  # the inflated length: an unsigned varint of at most 5 bytes
        byte = block[pos]
        size |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            break
        shift += 7
        if shift > 28:
            raise ValueError("snappy length longer than 5 bytes")
    if len(out) + size > cap:
        raise _OverCap
    if size:
        out += codec.decompress(block, decompressed_size=size)


@functools.cache
def _snappy_codec() -> Any:
    """pyarrow's snappy codec (pyarrow is pinned, through chdb), imported on the first snappy
    batch: the import costs 0.14 s and 40 MB once, which a router without snappy producers
    never pays. ``None`` when pyarrow is missing."""
    try:
        import pyarrow

        return pyarrow.Codec("snappy")
    except (ImportError, ValueError, NotImplementedError):
        return None


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n and not n & ((1 << 20) - 1) else f"{n:,} bytes"
