"""Record batches no Kafka client writes: header names that are not UTF-8, a record with
neither key nor value, timestamps of 0 or before 1970 or none at all, a batch claiming the
broker's timestamp type, and gzip bombs — built with aiokafka's pure-Python batch builder and
sent as a raw ``ProduceRequest`` through aiokafka's low-level client (as
``tests/integration/test_kafka_records.py`` does).

Uses aiokafka internals (``_DefaultRecordBatchBuilderPy``, ``AIOKafkaClient.send`` with a
``ProduceRequest``, ``calc_crc32c``): test-side only, pinned by requirements.lock."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaClient, TopicPartition
from aiokafka.errors import for_code
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy
from aiokafka.record.util import calc_crc32c

from .catalog import Hostile

GZIP = 1  # the batch attributes' compression codec
LOG_APPEND_TIME = 0x08  # the batch attributes' timestamp-type bit
ATTRIBUTES_AT, CRC_AT = 21, 17  # offsets in a v2 batch header


class RawName(str):
    """A header name aiokafka's Python builder writes as these exact bytes."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawName:
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw
        return name

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return self.raw


def batch(records: Sequence[Hostile]) -> bytes:
    """One record batch of ``records`` (a bomb: ``copies`` identical records, gzipped). The
    batch-level attributes (compression, timestamp type) are the first record's."""
    first = records[0]
    codec = GZIP if first.copies > 1 else 0
    size = 2 * sum(r.copies * (len(r.value or b"") + r.size + 64) for r in records) + (1 << 20)
    b = _DefaultRecordBatchBuilderPy(2, codec, 0, -1, -1, -1, size)
    offset = 0
    for r in records:
        names = [(RawName(n) if isinstance(n, bytes) else n, v) for n, v in r.headers]
        for _ in range(r.copies):
            appended = b.append(
                offset, timestamp=r.timestamp_ms, key=r.key, value=r.value, headers=names
            )
            assert appended is not None, "batch builder full"
            offset += 1
    data = bytearray(b.build())
    if first.log_append_time:
        attrs = struct.unpack_from(">h", data, ATTRIBUTES_AT)[0] | LOG_APPEND_TIME
        struct.pack_into(">h", data, ATTRIBUTES_AT, attrs)
        struct.pack_into(">I", data, CRC_AT, calc_crc32c(bytes(data[ATTRIBUTES_AT:])))
    return bytes(data)


@dataclass(frozen=True, slots=True)
class Written:
    """Where a raw batch went: its first offset (record i is at base + i), or the broker's
    refusal (the error's name)."""

    base_offset: int
    error: str | None


Group = tuple[str, int, Sequence[Hostile]]  # topic, partition, the records of one batch


async def _send(bootstrap: str, groups: Sequence[Group]) -> list[Written]:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=60_000)
    await client.bootstrap()
    out: list[Written] = []
    try:
        for topic in {t for t, _, _ in groups}:
            client.add_topic(topic)
        await client.force_metadata_update()
        for topic, partition, records in groups:
            leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
            if leader is None:  # no such topic: the broker cannot take it
                out.append(Written(-1, "UnknownTopicOrPartitionError"))
                continue
            req = ProduceRequest(None, -1, 30_000, [(topic, [(partition, batch(records))])])
            response = await client.send(leader, req)
            [(_, [(_, error, base, *_)])] = response.topics
            out.append(Written(base, None if error == 0 else for_code(error).__name__))
    finally:
        await client.close()
    return out


def send(bootstrap: str, groups: Sequence[Group]) -> list[Written]:
    """Send each group as one batch to its topic's partition, in order."""
    return asyncio.run(_send(bootstrap, groups))
