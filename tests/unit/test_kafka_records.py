"""Records whose header names are not UTF-8, and compressed batches, read through aiokafka's own
``PartitionRecords``.

Batches are built with aiokafka's pure-Python builder: a header name whose ``encode`` gives
raw bytes writes those bytes as the name, as a raw client can (aiokafka's and
confluent-kafka's producers cannot). Compressed batches are compressed here, codec by codec,
with the libraries ndxp reads them with (zlib, lz4.frame, backports.zstd, pyarrow's snappy):
aiokafka itself cannot read snappy, lz4 and zstd without cramjam, which is not installed.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import aiokafka.codec as codec
import aiokafka.consumer.fetcher as fetcher
import aiokafka.record.memory_records as memory_records
import lz4.frame
import pyarrow
import pytest
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy, _DefaultRecordBatchPy
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition

from ndxp.kafka import inflate as kafka_inflate
from ndxp.kafka import records as kafka_records
from ndxp.kafka.batch_format import batch_bytes, read_batch
from ndxp.kafka.inflate import Cause, inflate
from ndxp.kafka.placeholders import Marker, Unreadable, UnreadableBatch
from ndxp.kafka.records import LenientMemoryRecords, install, installed

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

SNAPPY = pyarrow.Codec("snappy")

TP = TopicPartition("ndxp.in.000.00.00.H41", 0)
READ_COMMITTED = 1
BODY_AT = 61  # the records of a v2 batch start after its 61-byte header

Header = tuple[bytes, bytes | None]
Rec = tuple[bytes | None, bytes | None, list[Header]]  # key, value, headers (names as bytes)


class RawName(str):
    """A header name that aiokafka's Python builder writes as these exact bytes."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawName:
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw
        return name

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return self.raw


def is_raw_name(name: str) -> bool:
    """A name that was not UTF-8 on the wire (its bytes come back as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _lz4(data: bytes) -> bytes:
    return lz4.frame.compress(data, block_linked=False)  # type: ignore[no-any-return]


def _zstd(data: bytes) -> bytes:
    return zstd.compress(data)


def _snappy(data: bytes) -> bytes:
    """Raw snappy, as librdkafka writes it."""
    return SNAPPY.compress(data, asbytes=True)  # type: ignore[no-any-return]


def xerial(data: bytes, block: int = 32 * 1024) -> bytes:
    """Snappy in xerial's framing, as the Java client writes it: a 16-byte header, then
    blocks of an int32 length and raw snappy."""
    out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
    for i in range(0, len(data), block):
        packed = _snappy(data[i : i + block])
        out += struct.pack(">i", len(packed)) + packed
    return bytes(out)


COMPRESS: dict[int, Callable[[bytes], bytes]] = {
    1: gzip.compress,
    2: _snappy,
    3: _lz4,
    4: _zstd,
}
CODECS = [0, 1, 2, 3, 4]
CODEC_IDS = ["none", "gzip", "snappy", "lz4", "zstd"]


def batch(
    base: int,
    records: list[Rec],
    compression: int = 0,
    *,
    compress: Callable[[bytes], bytes] | None = None,
    producer_id: int = -1,
    transactional: bool = False,
    control: bool = False,
    log_append_time: int | None = None,
) -> bytes:
    """One v2 batch with these records at offsets ``base``, ``base + 1``..."""
    b = _DefaultRecordBatchBuilderPy(
        magic=2,
        compression_type=0,
        is_transactional=int(transactional),
        producer_id=producer_id,
        producer_epoch=0 if producer_id >= 0 else -1,
        base_sequence=0 if producer_id >= 0 else -1,
        batch_size=1 << 24,
    )
    for i, (key, value, headers) in enumerate(records):
        b.append(i, timestamp=1_000 + i, key=key, value=value, headers=_named(headers))
    data = bytearray(b.build())
    struct.pack_into(">q", data, 0, base)  # the base offset is outside the CRC
    attributes = struct.unpack_from(">h", data, 21)[0] | compression
    if control:
        attributes |= 0x20
    if log_append_time is not None:
        attributes |= 0x08
        struct.pack_into(">q", data, 35, log_append_time)  # MaxTimestamp
    if compression:
        data[BODY_AT:] = (compress or COMPRESS[compression])(bytes(data[BODY_AT:]))
        struct.pack_into(">i", data, 8, len(data) - 12)
    struct.pack_into(">h", data, 21, attributes)
    struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


def _named(headers: list[Header]) -> list[tuple[str, bytes | None]]:
    return [(RawName(name), value) for name, value in headers]


def expected(base: int, records: list[Rec]) -> list[tuple[int, Any, Any, list[Any]]]:
    return [
        (base + i, key, value, [(n.decode("utf-8", "surrogateescape"), v) for n, v in headers])
        for i, (key, value, headers) in enumerate(records)
    ]


def read(
    buffer: bytes,
    factory: Any = LenientMemoryRecords,
    fetch_offset: int = 0,
    aborted: list[tuple[int, int]] | None = None,
    isolation: int = 0,
) -> list[tuple[int, Any, Any, list[Any]]]:
    """What aiokafka's consumer hands out of one fetched partition's bytes."""
    records = fetcher.PartitionRecords(
        TP, factory(buffer), aborted, fetch_offset, None, None, True, isolation
    )
    return [(r.offset, r.key, r.value, list(r.headers)) for r in records]


def good(n: int, tag: str) -> list[Rec]:
    return [
        (f"{tag}{i}".encode(), b"v" * i, [(b"ndxp-id", f"{tag}-{i}".encode())]) for i in range(n)
    ]


BAD = b"\xff\xfeab"
TRACE = (b"traceparent", b"00-1")


def with_bad(n: int, bad_at: set[int]) -> list[Rec]:
    recs = good(n, "b")
    for i in bad_at:
        key, value, headers = recs[i]
        recs[i] = (key, value, [*headers, (BAD, b"x"), TRACE])
    return recs


def test_without_the_wrapper_aiokafka_stops_at_the_record() -> None:
    buffer = batch(0, good(3, "a")) + batch(3, with_bad(3, {1}))
    with pytest.raises(UnicodeDecodeError):
        read(buffer, memory_records.MemoryRecords)


@pytest.mark.parametrize("compression", CODECS, ids=CODEC_IDS)
@pytest.mark.parametrize(
    "bad_at",
    [{0}, {2}, {4}, {0, 4}, {1, 2, 3}, {0, 1, 2, 3, 4}],
    ids=["first", "middle", "last", "first+last", "three", "all"],
)
def test_every_record_is_read_past_raw_header_names(compression: int, bad_at: set[int]) -> None:
    before, bad, after = good(4, "a"), with_bad(5, bad_at), good(3, "c")
    buffer = (
        batch(10, before, compression) + batch(14, bad, compression) + batch(19, after, compression)
    )
    got = read(buffer, fetch_offset=10)
    assert got == expected(10, before) + expected(14, bad) + expected(19, after)
    names = [name for i in sorted(bad_at) for name, _ in got[4 + i][3]]
    assert names == ["ndxp-id", "\udcff\udcfeab", "traceparent"] * len(bad_at)
    assert all(n.encode("utf-8", "surrogateescape") == BAD for n in names if is_raw_name(n))


def test_several_raw_names_in_one_record_and_several_batches() -> None:
    odd = [(b"\xc3\x28", b"1"), (b"ok", None), (b"\xed\xa0\x80", b""), (b"caf\xc3\xa9\x80", b"3")]
    recs: list[Rec] = [(None, None, odd), (b"k", b"v", [])]
    buffer = batch(0, recs) + batch(2, with_bad(2, {1})) + batch(4, recs, 1)
    got = read(buffer)
    assert got == expected(0, recs) + expected(2, with_bad(2, {1})) + expected(4, recs)
    assert [n.encode("utf-8", "surrogateescape") for n, _ in got[0][3]] == [n for n, _ in odd]
    assert [is_raw_name(n) for n, _ in got[0][3]] == [True, False, True, True]


def test_a_fetch_from_inside_a_batch_skips_the_records_below_it() -> None:
    """A consumer that committed past the bad record fetches from the batch's start again."""
    buffer = batch(0, with_bad(5, {1, 3}))
    assert read(buffer, fetch_offset=2) == expected(0, with_bad(5, {1, 3}))[2:]


def test_records_read_again_equal_aiokafkas_own() -> None:
    """Offsets, timestamps (create time, log append time), keys, values and headers of the
    lenient parser are those of aiokafka's parser, for a batch both can read."""
    recs: list[Rec] = [(None, b"", []), (b"", None, [(b"h", None)]), *good(3, "x")]
    for kw in ({}, {"log_append_time": 99_999}):
        data = batch(7, recs, **kw)  # type: ignore[arg-type]
        ours = read_batch(data)
        theirs = list(memory_records.MemoryRecords(data).next_batch())  # type: ignore[union-attr]
        fields = ("offset", "timestamp", "timestamp_type", "key", "value", "headers", "checksum")
        for a, b in zip(ours, theirs, strict=True):
            assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


def test_a_corrupt_batch_still_fails_its_crc_check() -> None:
    data = bytearray(batch(0, with_bad(3, {1})))
    data[-1] ^= 0xFF  # in the last record's last header value
    with pytest.raises(CorruptRecordException, match="Invalid CRC"):
        read(bytes(data))


def test_a_malformed_record_is_still_refused_when_read_again() -> None:
    """A raw name in a batch whose records do not add up: the lenient parser refuses it
    as aiokafka's does, instead of inventing records (its CRC made right)."""
    data = bytearray(batch(0, with_bad(2, {0})))
    assert data[-4:] == b"\x06b-1"  # the last header value: its length (3), then 3 bytes
    data[-4] = 0x7E  # now 63 bytes, past the end of the batch
    struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    with pytest.raises(CorruptRecordException):
        read_batch(bytes(data))
    with pytest.raises(CorruptRecordException):
        read(bytes(data))


def test_a_batch_is_looked_up_by_offset_and_crc_in_the_fetched_bytes() -> None:
    first, second = batch(0, good(2, "a")), batch(2, with_bad(2, {0}))
    crc = struct.unpack_from(">I", second, 17)[0]
    assert bytes(batch_bytes(first + second, 2, crc)) == second
    with pytest.raises(CorruptRecordException):
        batch_bytes(first + second, 2, crc ^ 1)
    broken = bytearray(first)
    struct.pack_into(">i", broken, 8, -12)  # a length that would never move on
    with pytest.raises(CorruptRecordException):
        batch_bytes(bytes(broken) + second, 2, crc)


def test_aborted_transactions_and_control_batches_behave_as_before() -> None:
    """read_committed: an aborted transactional batch is skipped (raw names and all), its
    abort marker (a control batch) too, and the records after them are read."""
    pid = 7
    aborted_batch = batch(0, with_bad(3, {1}), producer_id=pid, transactional=True)
    marker = batch(3, [(b"\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00\x00", [])], producer_id=pid,
                   transactional=True, control=True)  # fmt: skip
    after = with_bad(2, {0})
    buffer = aborted_batch + marker + batch(4, after)
    got = read(buffer, aborted=[(pid, 0)], isolation=READ_COMMITTED)
    assert got == expected(4, after)
    # read_uncommitted reads the aborted records (raw names too) and skips only the marker
    assert read(buffer) == expected(0, with_bad(3, {1})) + expected(4, after)


def _marker(offset: int, pid: int, type_: int) -> bytes:
    """A control batch: the broker's commit (type 1) or abort (type 0) marker."""
    key = struct.pack(">hh", 0, type_)
    return batch(offset, [(key, b"\x00\x00\x00\x00\x00\x00", [])], producer_id=pid,
                 transactional=True, control=True)  # fmt: skip


@pytest.mark.parametrize("python_parser", [False, True])
def test_passed_markers_keep_a_partitions_offsets_consecutive(
    monkeypatch: pytest.MonkeyPatch, python_parser: bool
) -> None:
    """A transactional sender's records, then the broker's markers: with markers passed on
    (the router), each control batch's offset is a placeholder valued with a Marker, so no
    offset is missing; without (every other consumer), aiokafka skips them as before."""
    if python_parser:
        monkeypatch.setattr(memory_records, "DefaultRecordBatch", _DefaultRecordBatchPy)
        monkeypatch.setattr(kafka_records, "_ORIGINAL", memory_records._MemoryRecordsPy)
    pid = 7
    first, second = good(2, "t"), good(1, "u")
    buffer = (
        batch(0, first, producer_id=pid, transactional=True)
        + _marker(2, pid, 1)
        + batch(3, second, producer_id=pid, transactional=True)
        + _marker(4, pid, 0)
        + batch(5, good(1, "z"))
    )
    plain = expected(0, first) + expected(3, second) + expected(5, good(1, "z"))
    assert read(buffer) == plain  # a gap at 2 and at 4
    monkeypatch.setattr(LenientMemoryRecords, "markers", False)
    kafka_records.pass_markers()
    assert LenientMemoryRecords.markers
    got = read(buffer)
    assert [offset for offset, *_ in got] == [0, 1, 2, 3, 4, 5]
    markers = {offset: value for offset, _, value, _ in got if type(value) is Marker}
    assert sorted(markers) == [2, 4]
    assert (markers[2].kind, markers[2].producer_id, bytes(markers[2])) == ("commit", pid, b"")
    assert (markers[4].kind, markers[4].producer_id) == ("abort", pid)
    assert [r for r in got if r[0] not in markers] == plain
    assert pickle.loads(pickle.dumps(markers[2])) == b"" and repr(markers[4]).startswith("Marker")


def test_a_sender_cannot_make_a_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender's value is plain bytes: one equal to a marker's key and value is a record."""
    monkeypatch.setattr(LenientMemoryRecords, "markers", True)
    got = read(batch(0, [(struct.pack(">hh", 0, 1), b"", [])]))
    assert type(got[0][2]) is bytes


def test_the_pure_python_parser_is_wrapped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under AIOKAFKA_NO_EXTENSIONS aiokafka raises CorruptRecordException (caused by the
    decode error) instead: the wrapper reads past it the same way."""
    monkeypatch.setattr(memory_records, "DefaultRecordBatch", _DefaultRecordBatchPy)
    monkeypatch.setattr(kafka_records, "_ORIGINAL", memory_records._MemoryRecordsPy)
    buffer = batch(0, with_bad(3, {1})) + batch(3, good(1, "z"))
    with pytest.raises(CorruptRecordException):
        read(buffer, memory_records._MemoryRecordsPy)
    assert read(buffer) == expected(0, with_bad(3, {1})) + expected(3, good(1, "z"))


def test_install_replaces_what_it_lists_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for obj, attr in kafka_records.PATCHES + kafka_records.READS:
        assert hasattr(obj, attr), (obj, attr)
    monkeypatch.setattr(fetcher, "MemoryRecords", memory_records.MemoryRecords)
    assert not installed()
    install()
    install()
    assert installed()
    assert fetcher.MemoryRecords is LenientMemoryRecords
    assert read(batch(0, with_bad(2, {1})), fetcher.MemoryRecords) == expected(0, with_bad(2, {1}))


# --- compressed batches: read here with a cap; what cannot be read becomes placeholders ---

MiB = 1 << 20


def consumer_records(buffer: bytes, fetch_offset: int = 0) -> list[Any]:
    """aiokafka's ConsumerRecords out of one fetched partition's bytes (no deserializers, as
    ndxp's consumers)."""
    return list(fetcher.PartitionRecords(
        TP, LenientMemoryRecords(buffer), None, fetch_offset, None, None, True, 0
    ))  # fmt: skip


def zeros(n: int, value_kib: int) -> list[Rec]:
    """``n`` records of ``value_kib`` KiB of zeros each: a bomb once compressed."""
    return [(None, bytes(value_kib << 10), []) for _ in range(n)]


@pytest.fixture
def cap_1mib(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(LenientMemoryRecords, "max_inflated", MiB)
    return MiB


def assert_placeholders(got: list[Any], first: int, last: int, cause: Cause, reason: str) -> None:
    assert [r.offset for r in got] == list(range(first, last + 1))
    assert all(type(r.value) is Unreadable for r in got)
    value = got[0].value
    assert all(r.value is value for r in got)  # one instance for the whole batch
    assert (value.cause, value.reason, bytes(value)) == (cause, reason, b"")
    assert (value.batch.base_offset, value.batch.last_offset) == (first, last)
    assert all((r.key, r.headers, r.serialized_value_size) == (None, (), 0) for r in got)


@pytest.mark.parametrize("compression", [2, 3, 4], ids=["snappy", "lz4", "zstd"])
def test_without_the_wrapper_aiokafka_cannot_read_snappy_lz4_zstd_without_its_codecs(
    compression: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a client without cramjam (ndxp installs it for the router to write zstd)."""
    monkeypatch.setattr(codec, "cramjam", None)
    with pytest.raises(UnsupportedCodecError):
        read(batch(0, good(2, "a"), compression), memory_records.MemoryRecords)


@pytest.mark.parametrize("compression", [1, 2, 3, 4], ids=CODEC_IDS[1:])
def test_compressed_batches_among_uncompressed_ones_are_read(compression: int) -> None:
    parts = [(0, good(3, "a"), 0), (3, good(4, "b"), compression), (7, good(1, "c"), 0),
             (8, good(500, "d"), compression), (508, with_bad(3, {1}), compression)]  # fmt: skip
    buffer = b"".join(batch(base, recs, c) for base, recs, c in parts)
    assert read(buffer) == [r for base, recs, _ in parts for r in expected(base, recs)]
    # a fetch from inside a compressed batch starts at that batch, as the broker's does
    from_inside = b"".join(batch(base, recs, c) for base, recs, c in parts[3:])
    assert read(from_inside, fetch_offset=9) == [
        *expected(8, good(500, "d"))[1:],
        *expected(508, with_bad(3, {1})),
    ]


def test_java_snappy_in_xerial_blocks_is_read() -> None:
    recs = good(300, "x")  # over 32 KiB of records: several xerial blocks
    data = batch(5, recs, 2, compress=xerial)
    assert data[BODY_AT : BODY_AT + 8] == b"\x82SNAPPY\x00"
    assert read(data, fetch_offset=5) == expected(5, recs)


@pytest.mark.parametrize(
    "compression, compress",
    [(1, lambda b: gzip.compress(b[:9]) + gzip.compress(b[9:]) + b"\0\0"),
     (3, lambda b: _lz4(b[:9]) + _lz4(b[9:])), (4, lambda b: _zstd(b[:9]) + _zstd(b[9:]))],
    ids=["gzip members, zero padding", "lz4 frames", "zstd frames"],
)  # fmt: skip
def test_concatenated_frames_are_read(compression: int, compress: Callable[[bytes], bytes]) -> None:
    recs = good(4, "f")
    assert read(batch(0, recs, compression, compress=compress)) == expected(0, recs)


@pytest.mark.parametrize("compression", [1, 2, 3, 4], ids=CODEC_IDS[1:])
def test_a_batch_inflating_past_the_cap_becomes_placeholders(
    compression: int, cap_1mib: int
) -> None:
    """64 records of 32 KiB of zeros (2 MiB inflated, a few KiB compressed) at offsets 10..73,
    then a good batch: placeholders for 10..73 carrying the reason, then the good records."""
    bomb = batch(10, zeros(64, 32), compression)
    got = consumer_records(bomb + batch(74, good(2, "g")))
    name = CODEC_IDS[compression]
    assert_placeholders(got[:64], 10, 73, Cause.OVER_CAP, f"{name} batch inflates past 1 MiB")
    assert got[0].value.batch == UnreadableBatch(10, 73, len(bomb), name)
    assert [(r.offset, r.value) for r in got[64:]] == [(74, b"v" * 0), (75, b"v")]
    assert [(r.timestamp, r.timestamp_type) for r in got[:2]] == [(1_000, 0)] * 2


def test_placeholders_carry_the_log_append_time(cap_1mib: int) -> None:
    got = consumer_records(batch(0, zeros(40, 32), 4, log_append_time=7_777))
    assert {(r.timestamp, r.timestamp_type) for r in got} == {(7_777, 1)}


def test_a_batch_just_under_the_cap_is_read(cap_1mib: int) -> None:
    recs = zeros(31, 32)  # 31 records of 32 KiB and their framing: under 1 MiB
    got = read(batch(0, recs, 4))
    assert got == expected(0, recs)


@pytest.mark.parametrize("compression", [1, 2, 3, 4], ids=CODEC_IDS[1:])
@pytest.mark.parametrize("damage", ["garbled", "truncated"])
def test_corrupt_compressed_data_becomes_placeholders(compression: int, damage: str) -> None:
    """Compressed bytes the decompressor refuses (the CRC made right: a sender's own bytes):
    a garbled frame header after the codec's magic number, or a stream cut in half."""

    def broken(data: bytes) -> bytes:
        packed = COMPRESS[compression](data)
        if damage == "truncated":
            return packed[: len(packed) // 2]
        return packed[:4] + bytes(range(7, 250, 3)) + packed[90:]

    recs = good(50, "c")
    got = consumer_records(batch(3, recs, compression, compress=broken) + batch(53, good(1, "n")))
    assert [r.offset for r in got] == list(range(3, 54))
    value = got[0].value
    assert type(value) is Unreadable and value.cause is Cause.CORRUPT, value
    assert value.reason.startswith(f"{CODEC_IDS[compression]} batch: corrupt compressed data")
    assert_placeholders(got[:50], 3, 52, Cause.CORRUPT, value.reason)
    assert got[50].value == b"v" * 0


def test_an_unknown_codec_becomes_placeholders() -> None:
    data = bytearray(batch(0, good(2, "u"), 4))
    data[22] |= 0x07  # codec 7: no such codec
    struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    got = consumer_records(bytes(data))
    assert_placeholders(got, 0, 1, Cause.UNKNOWN_CODEC, "batch with unknown codec 7")
    assert got[0].value.batch.codec == "codec 7"


def test_a_codec_whose_library_is_missing_becomes_placeholders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(kafka_inflate._DECOMPRESSORS, 3, None)
    monkeypatch.setattr(kafka_inflate, "_snappy_codec", lambda: None)
    got = consumer_records(batch(0, good(2, "a"), 3) + batch(2, good(3, "b"), 2))
    assert_placeholders(got[:2], 0, 1, Cause.CODEC_UNAVAILABLE, "lz4 batch: codec not available")
    assert_placeholders(got[2:], 2, 4, Cause.CODEC_UNAVAILABLE, "snappy batch: codec not available")


def test_records_that_do_not_parse_once_inflated_become_placeholders_after_the_good_ones() -> None:
    """The records before the one that fails are handed out once; placeholders follow."""

    def malformed(data: bytes) -> bytes:
        assert data[-4:] == b"\x06m-2"  # the last record's last header value: 3 bytes
        return zlib.compress(data[:-4] + b"\x7em-2", wbits=31)  # now 63 bytes: past the end

    got = consumer_records(batch(0, good(3, "m"), 1, compress=malformed) + batch(3, good(1, "z")))
    assert [(r.offset, r.key) for r in got[:2]] == [(0, b"m0"), (1, b"m1")]
    assert type(got[2].value) is Unreadable and got[2].offset == 2
    assert got[2].value.cause is Cause.CORRUPT
    assert got[2].value.reason.startswith("gzip batch: records do not parse")
    assert [(r.offset, r.key) for r in got[3:]] == [(3, b"z0")]


def test_a_compressed_batch_still_fails_its_crc_check_on_the_compressed_bytes() -> None:
    data = bytearray(batch(0, good(3, "a"), 4))
    data[-1] ^= 0xFF
    with pytest.raises(CorruptRecordException, match="Invalid CRC"):
        read(bytes(data))


def test_an_unreadable_value_is_plain_empty_bytes_to_everyone_else() -> None:
    value = Unreadable(
        Cause.OVER_CAP, "zstd batch inflates past 32 MiB", UnreadableBatch(1, 2, 3, "zstd")
    )
    assert value == b"" and len(value) == 0 and isinstance(value, bytes)
    assert "zstd batch inflates past 32 MiB" in repr(value)
    copy = pickle.loads(pickle.dumps(value))
    assert type(copy) is Unreadable
    assert (copy.cause, copy.reason, copy.batch) == (value.cause, value.reason, value.batch)
    assert type(b"" + value) is bytes  # what a sender can send is never one


@pytest.mark.parametrize("compression", [1, 3, 4], ids=["gzip", "lz4", "zstd"])
def test_a_bomb_costs_the_cap_not_what_it_inflates_to(compression: int) -> None:
    """A 256 MiB bomb under the real cap (32 MiB): the peak of what Python allocates while
    reading it stays near the cap, and is far under the inflated size."""
    inflated = 256 * MiB
    packed = _bomb(compression, inflated)
    assert len(packed) < inflated // 200
    tracemalloc.start()
    try:
        with pytest.raises(kafka_inflate.InflateError, match="inflates past 32 MiB"):
            inflate(compression, packed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 * MiB, peak


def test_aiokafka_alone_inflates_a_bomb_whole() -> None:
    """What the cap saves: aiokafka's own gzip path holds the whole inflated batch."""
    packed = _bomb(1, 64 * MiB)
    tracemalloc.start()
    try:
        codec.gzip_decode(packed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak > 64 * MiB


def _bomb(compression: int, size: int) -> bytes:
    """``size`` bytes of zeros, compressed in 1 MiB steps (never held whole)."""
    chunk = bytes(MiB)
    if compression == 1:
        z = zlib.compressobj(1, zlib.DEFLATED, 31)
        return b"".join([*(z.compress(chunk) for _ in range(size // MiB)), z.flush()])
    if compression == 3:
        c = lz4.frame.LZ4FrameCompressor(block_linked=False)
        return b"".join([c.begin(), *(c.compress(chunk) for _ in range(size // MiB)), c.flush()])
    zc = zstd.ZstdCompressor(level=1)
    return b"".join([*(zc.compress(chunk) for _ in range(size // MiB)), zc.flush()])


def test_a_snappy_block_over_the_cap_is_refused_before_it_is_inflated() -> None:
    """Raw snappy declares its length first: a block claiming 4 GiB is refused at once."""
    claim = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) + b"\x00" * 16  # varint 2**32 - 1
    with pytest.raises(kafka_inflate.InflateError, match="snappy batch inflates past 32 MiB"):
        inflate(2, claim)


def _headers(n: int, name: bytes = b"x") -> list[Header]:
    return [(name + str(i).encode(), b"") for i in range(n)]


@pytest.mark.parametrize("compression", CODECS, ids=CODEC_IDS)
@pytest.mark.parametrize("raw_name", [False, True], ids=["utf8", "raw-name"])
def test_a_record_with_more_headers_than_the_bound_is_read_clipped(
    compression: int, raw_name: bool
) -> None:
    """A record over READ_HEADERS headers is handed over with its first READ_HEADERS and their
    count on the wire (an unforgeable HeaderCount), by aiokafka's C parser's path and by the
    pure-Python one (a raw header name before them); the records around it are untouched,
    and one at the bound is handed over whole."""
    from ndxp.core.budget import HeaderCount, header_count
    from ndxp.core.wire import H_X_HEADER_COUNT, READ_HEADERS

    first: list[Header] = [(BAD, b"1")] if raw_name else [(b"ndxp-id", b"m-1")]
    many = [*first, *_headers(21_000 - len(first))]
    recs: list[Rec] = [
        (b"k0", b"v0", _headers(READ_HEADERS)),
        (b"k1", b"v1", many),
        (b"k2", b"v2", [(b"ndxp-id", b"m-2")]),
    ]
    got = read(batch(5, recs, compression) + batch(8, good(2, "c"), compression))
    want = expected(5, recs) + expected(8, good(2, "c"))
    assert [g[:3] for g in got] == [w[:3] for w in want]  # offsets, keys, values
    assert got[0][3] == want[0][3] and got[2:] == want[2:]
    clipped = got[1][3]
    assert len(clipped) == READ_HEADERS + 1
    assert clipped[:READ_HEADERS] == want[1][3][:READ_HEADERS]
    assert clipped[-1] == (H_X_HEADER_COUNT, b"21000")
    assert type(clipped[-1][1]) is HeaderCount
    assert header_count(clipped) == 21_000


def test_clipping_bounds_what_a_record_of_many_headers_holds() -> None:
    """21,000 headers held as Python objects take ~2 MB a record; clipped, ~60 KB."""
    buffer = batch(0, [(b"k", b"v", _headers(21_000))] * 4)
    tracemalloc.start()
    try:
        got = read(buffer)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(got) == 4 and all(len(h) == 513 for *_, h in got)
    assert held < 1_000_000, held
