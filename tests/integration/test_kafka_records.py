"""A record whose header name is not UTF-8, through the real broker (issue 11).

The broker takes such a name (it never checks the encoding). aiokafka's and confluent-kafka's
producers cannot write one, so the batch is built with aiokafka's pure-Python builder and sent
as a raw ``ProduceRequest`` through aiokafka's low-level client. A plain ``AIOKafkaConsumer``
(as the ledger's) stops at it with ``UnicodeDecodeError``; after
:func:`ndxp.kafka_records.install` it reads past it and gets every record, in order.
"""

from __future__ import annotations

import asyncio
import gzip
import struct
import uuid
from typing import Any

import aiokafka.consumer.fetcher as fetcher
import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy
from aiokafka.record.util import calc_crc32c
from confluent_kafka.admin import AdminClient, NewTopic

from ndxp.kafka_records import install, installed

from .conftest import Broker
from .kafka_tools import producer

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


async def consume_all(bootstrap: str, topic: str, expect: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.start()
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
