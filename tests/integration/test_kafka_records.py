"""Records that stopped aiokafka's consumer, through the real broker (issue 11).

A header name that is not UTF-8: the broker takes it (it never checks the encoding).
aiokafka's and confluent-kafka's producers cannot write one, so the batch is built with
aiokafka's pure-Python builder and sent as a raw ``ProduceRequest`` through aiokafka's
low-level client. A plain ``AIOKafkaConsumer`` (as the ledger's) stops at it with
``UnicodeDecodeError``; after :func:`ndxp.kafka.records.install` it reads past it and gets
every record, in order.

A zstd bomb (512 MiB of zeros in a 23 KB batch, sent raw) and batches that confluent-kafka
(librdkafka) compresses with lz4, zstd, snappy and gzip: a plain consumer without aiokafka's
codecs (cramjam, which ndxp installs only for the router to write zstd) stops at the bomb and
at each lz4, zstd and snappy batch (``UnsupportedCodecError``); one with them would inflate the
bomb whole, 512 MiB at once; after :func:`~ndxp.kafka.records.install` it reads one
:class:`~ndxp.kafka.placeholders.Unreadable` placeholder per offset of the bomb, then every record
(0.35 s here; the test allows 20 s), Python's allocations staying under twice the cap.
"""

from __future__ import annotations

import asyncio
import gzip
import struct
import sys
import time
import tracemalloc
import uuid
from typing import Any

import aiokafka.codec as codec
import aiokafka.consumer.fetcher as fetcher
import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.errors import UnsupportedCodecError
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy
from aiokafka.record.util import calc_crc32c
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from ndxp.kafka.inflate import MAX_INFLATED, Cause
from ndxp.kafka.placeholders import Unreadable
from ndxp.kafka.records import install, installed

from .conftest import Broker
from .kafka_tools import producer

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

pytestmark = pytest.mark.integration

RAW = b"\xff\xfex-raw"  # not UTF-8
Rec = tuple[bytes, list[tuple[bytes, bytes]]]  # value, headers (names as bytes)


class _RawName(str):
    """A header name aiokafka's Python builder writes as these exact bytes."""

    def __new__(cls, raw: bytes) -> _RawName:
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw  # type: ignore[attr-defined]
        return name

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return self.raw  # type: ignore[attr-defined,no-any-return]


def raw_batch(records: list[Rec], gzipped: bool = False) -> bytes:
    b = _DefaultRecordBatchBuilderPy(2, 0, 0, -1, -1, -1, 1 << 20)
    for i, (value, headers) in enumerate(records):
        named = [(_RawName(n), v) for n, v in headers]
        b.append(i, timestamp=1_700_000_000_000 + i, key=b"k", value=value, headers=named)
    data = bytearray(b.build())
    if gzipped:  # records after the 61-byte header, compressed; attributes, length, CRC
        data[61:] = gzip.compress(bytes(data[61:]))
        struct.pack_into(">i", data, 8, len(data) - 12)
        struct.pack_into(">h", data, 21, struct.unpack_from(">h", data, 21)[0] | 1)
        struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


async def produce_raw(bootstrap: str, topic: str, batch: bytes) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        client.add_topic(topic)
        await client.force_metadata_update()
        leader = client.cluster.leader_for_partition(TopicPartition(topic, 0))
        response = await client.send(
            leader, ProduceRequest(None, -1, 30_000, [(topic, [(0, batch)])])
        )
        [(_, [(partition, error, *_)])] = response.topics
        assert (partition, error) == (0, 0), response
    finally:
        await client.close()


async def consume_all(bootstrap: str, topic: str, expect: int, start: int = 0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.start()
    consumer.seek(TopicPartition(topic, 0), start)
    got: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < expect:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    got.extend(records)
    finally:
        await consumer.stop()
    return got


@pytest.fixture(scope="module")
def topic(kafka: Broker) -> str:
    """A topic holding: a raw batch (good, raw name, good), a gzipped raw batch (raw name
    first, then good) and two records from confluent-kafka's producer — offsets 0..6."""
    name = f"test.raw-names.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    first = raw_batch(
        [(b"v0", [(b"ndxp-id", b"0")]), (b"v1", [(RAW, b"1"), (b"x", b"y")]), (b"v2", [])]
    )
    second = raw_batch([(b"v3", [(b"a", b"b"), (RAW + b"\x80", b"")]), (b"v4", [])], gzipped=True)

    async def write() -> None:
        await produce_raw(kafka.bootstrap, name, first)
        await produce_raw(kafka.bootstrap, name, second)

    asyncio.run(write())
    p = producer(kafka.bootstrap)
    for i in (5, 6):
        p.produce(name, value=f"v{i}".encode(), key=b"k", partition=0, headers=[("ok", b"1")])
    assert p.flush(30) == 0
    return name


def test_a_plain_consumer_stops_at_the_raw_name(kafka: Broker, topic: str) -> None:
    assert not installed()
    with pytest.raises(UnicodeDecodeError):
        asyncio.run(consume_all(kafka.bootstrap, topic, 7))


def test_after_install_every_record_is_read(
    kafka: Broker, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetcher, "MemoryRecords", fetcher.MemoryRecords)  # undone after
    install()
    got = asyncio.run(consume_all(kafka.bootstrap, topic, 7))
    assert [(r.offset, r.value) for r in got] == [(i, f"v{i}".encode()) for i in range(7)]
    names = [[n.encode("utf-8", "surrogateescape") for n, _ in r.headers] for r in got]
    assert names == [[b"ndxp-id"], [RAW, b"x"], [], [b"a", RAW + b"\x80"], [], [b"ok"], [b"ok"]]
    assert got[1].headers[0][1] == b"1"
    assert got[1].timestamp == 1_700_000_000_001


# --- compressed batches: a zstd bomb, then what librdkafka compresses ---

BOMB_RECORDS = 512  # of 1 MiB of zeros each: 512 MiB inflated, 16 times the cap
BOMB_TIMESTAMP = 1_700_000_000_000
CODEC_BATCHES = ("lz4", "zstd", "snappy", "gzip", "none")  # 4 records each, after the bomb


def _varint(v: int) -> bytes:
    v = (v << 1) ^ (v >> 63)
    out = bytearray()
    while v > 0x7F:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    return bytes(out + bytes([v]))


def zstd_bomb(records: int, value: int) -> bytes:
    """A v2 batch of ``records`` records of ``value`` bytes of zeros, compressed with zstd in
    1 MiB steps (never held whole)."""
    chunk = bytes(1 << 20)
    z = zstd.ZstdCompressor(level=3)
    parts = []
    for i in range(records):
        body = b"\x00" + _varint(0) + _varint(i) + _varint(-1) + _varint(value)
        parts.append(z.compress(_varint(len(body) + value + 1) + body))
        for _ in range(value // len(chunk)):
            parts.append(z.compress(chunk))
        parts.append(z.compress(_varint(0)))  # no headers
    parts.append(z.flush())
    after_crc = struct.pack(
        ">hiqqqhii", 4, records - 1, BOMB_TIMESTAMP, BOMB_TIMESTAMP, -1, -1, -1, records
    ) + b"".join(parts)
    head = struct.pack(">qiibI", 0, 4 + 1 + 4 + len(after_crc), -1, 2, calc_crc32c(after_crc))
    return head + after_crc


def codec_value(kind: str, i: int) -> bytes:
    return f'{{"codec":"{kind}","n":{i},"pad":"{"x" * 300}"}}'.encode()


@pytest.fixture(scope="module")
def codec_topic(kafka: Broker) -> str:
    """Offsets 0..511: the bomb. Then a batch of 4 records from confluent-kafka's producer
    for each of lz4, zstd, snappy, gzip and none (512..531)."""
    name = f"test.codecs.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    bomb = zstd_bomb(BOMB_RECORDS, 1 << 20)
    assert len(bomb) < 64 * 1024
    asyncio.run(produce_raw(kafka.bootstrap, name, bomb))
    for kind in CODEC_BATCHES:
        p = Producer(
            {"bootstrap.servers": kafka.bootstrap, "compression.type": kind, "linger.ms": 50}
        )
        for i in range(4):
            p.produce(name, codec_value(kind, i), kind.encode(), partition=0, headers=[("c", b"1")])
        assert p.flush(30) == 0
    return name


def test_a_plain_consumer_without_codecs_stops_at_a_zstd_lz4_or_snappy_batch(
    kafka: Broker, codec_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the bomb, and at each of librdkafka's lz4, zstd and snappy batches after it: a
    client without aiokafka's codecs (the router's cramjam hidden from it)."""
    assert not installed()
    monkeypatch.setattr(codec, "cramjam", None)
    for start in (0, BOMB_RECORDS, BOMB_RECORDS + 4, BOMB_RECORDS + 8):
        with pytest.raises(UnsupportedCodecError):
            asyncio.run(consume_all(kafka.bootstrap, codec_topic, 1, start))
    got = asyncio.run(consume_all(kafka.bootstrap, codec_topic, 8, BOMB_RECORDS + 12))
    assert [r.key for r in got] == [b"gzip"] * 4 + [b"none"] * 4


def test_after_install_a_bomb_is_placeholders_and_every_codec_is_read(
    kafka: Broker, codec_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetcher, "MemoryRecords", fetcher.MemoryRecords)  # undone after
    install()
    expect = BOMB_RECORDS + 4 * len(CODEC_BATCHES)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        got = asyncio.run(consume_all(kafka.bootstrap, codec_topic, expect))
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.offset for r in got] == list(range(expect))
    bomb, rest = got[:BOMB_RECORDS], got[BOMB_RECORDS:]
    assert all(type(r.value) is Unreadable for r in bomb)
    value = bomb[0].value
    assert (value.cause, value.reason) == (Cause.OVER_CAP, "zstd batch inflates past 32 MiB")
    assert (value.batch.base_offset, value.batch.last_offset) == (0, BOMB_RECORDS - 1)
    assert {(r.key, r.headers, r.timestamp) for r in bomb} == {(None, (), BOMB_TIMESTAMP)}
    assert [(r.key, r.value) for r in rest] == [
        (kind.encode(), codec_value(kind, i)) for kind in CODEC_BATCHES for i in range(4)
    ]
    assert all(type(r.value) is bytes and r.headers == (("c", b"1"),) for r in rest)
    assert elapsed < 20, elapsed  # aiokafka with cramjam: the whole 512 MiB, then more
    assert peak < 2 * MAX_INFLATED, peak  # what Python allocated: under 2x the cap
