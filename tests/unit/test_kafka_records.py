"""Records whose header names are not UTF-8, read through aiokafka's own ``PartitionRecords``.

Batches are built with aiokafka's pure-Python builder: a header name whose ``encode`` gives
raw bytes writes those bytes as the name, as a raw client can (aiokafka's and
confluent-kafka's producers cannot). Compressed batches are compressed here, codec by codec,
so no codec library is needed to write them; reading snappy, lz4 and zstd needs aiokafka's
codec library (cramjam), as it does without this module.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from typing import Any

import aiokafka.codec as codec
import aiokafka.consumer.fetcher as fetcher
import aiokafka.record.memory_records as memory_records
import pytest
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy, _DefaultRecordBatchPy
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition

from ndxp import kafka_records
from ndxp.kafka_records import (
    LenientMemoryRecords,
    batch_bytes,
    install,
    installed,
    read_batch,
)

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
    lz4_frame = pytest.importorskip("lz4.frame")
    return lz4_frame.compress(data)  # type: ignore[no-any-return]


def _zstd(data: bytes) -> bytes:
    zstd = pytest.importorskip("backports.zstd")
    return zstd.compress(data)  # type: ignore[no-any-return]


def _snappy(data: bytes) -> bytes:
    cramjam = pytest.importorskip("cramjam")
    return bytes(cramjam.snappy.compress_raw(data))


COMPRESS: dict[int, Callable[[bytes], bytes]] = {
    1: gzip.compress,
    2: _snappy,
    3: _lz4,
    4: _zstd,
}
NEEDS = {
    0: codec.has_gzip,
    1: codec.has_gzip,
    2: codec.has_snappy,
    3: codec.has_lz4,
    4: codec.has_zstd,
}


def batch(
    base: int,
    records: list[Rec],
    compression: int = 0,
    *,
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
        data[BODY_AT:] = COMPRESS[compression](bytes(data[BODY_AT:]))
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


@pytest.mark.parametrize(
    "compression", [0, 1, 2, 3, 4], ids=["none", "gzip", "snappy", "lz4", "zstd"]
)
@pytest.mark.parametrize(
    "bad_at",
    [{0}, {2}, {4}, {0, 4}, {1, 2, 3}, {0, 1, 2, 3, 4}],
    ids=["first", "middle", "last", "first+last", "three", "all"],
)
def test_every_record_is_read_past_raw_header_names(compression: int, bad_at: set[int]) -> None:
    if not NEEDS[compression]():
        pytest.skip("aiokafka cannot read this codec here (cramjam not installed)")
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
