"""What :mod:`ndxp.kafka.records` costs on the normal path, CPU time through aiokafka's
``PartitionRecords``: ``python -m ndxp.bench.records [RECORDS] [PER_BATCH]`` (the figures are
in that module's docstring)."""

from __future__ import annotations

import functools
import struct
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

import aiokafka
import aiokafka.consumer.fetcher as fetcher
import lz4.frame

from ndxp.kafka.batch_format import (
    CODEC_AT,
    CRC,
    CRC_AT,
    HEADER,
    LENGTH,
    LENGTH_AT,
    LOG_OVERHEAD,
    read_batch,
)
from ndxp.kafka.inflate import CODECS, _snappy_codec
from ndxp.kafka.records import _ORIGINAL, LenientMemoryRecords

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd


def _bench(records: int = 200_000, per_batch: int = 500) -> None:
    """Per-record cost on the normal path: ``records`` JSON values of about 1.4 KB with three
    headers, in batches of ``per_batch``, uncompressed and with each codec, iterated through
    ``PartitionRecords`` over aiokafka's MemoryRecords (where it has the codec: cramjam) and
    over :class:`LenientMemoryRecords`; for compressed batches also :func:`read_batch` over
    each batch alone (the pure-Python alternative to handing aiokafka's C parser the inflated
    bytes; without ``PartitionRecords`` around it, so a lower bound)."""
    import aiokafka.codec as aiokafka_codec

    batches = _bench_batches(records, per_batch)
    raw = sum(len(b) for b in batches)
    print(
        f"aiokafka {aiokafka.__version__}, {records:,} records of {raw / records:,.0f} bytes "
        f"in batches of {per_batch}, CPU µs a record (best of 9, interleaved):"
    )
    has = {1: True, 2: aiokafka_codec.has_snappy(), 3: aiokafka_codec.has_lz4()}
    has[4] = aiokafka_codec.has_zstd()
    for codec in (0, 1, 2, 3, 4):
        packed = [_bench_compress(b, codec) for b in batches] if codec else batches
        buffer = b"".join(packed)
        runs = {"lenient": functools.partial(_bench_iterate, LenientMemoryRecords, buffer)}
        if not codec or has[codec]:
            runs["aiokafka"] = functools.partial(_bench_iterate, _ORIGINAL, buffer)
        if codec:
            runs["read_batch"] = functools.partial(_bench_read_each, packed)
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(9):  # interleaved, best of 9, CPU time: the machine is shared
            for name, run in runs.items():
                t0 = time.process_time()
                n = run()
                best[name] = min(best[name], time.process_time() - t0)
                assert n == records, (name, n)
        us = {name: t / records * 1e6 for name, t in best.items()}
        line = ", ".join(f"{name} {t:.3f}" for name, t in us.items())
        if "aiokafka" in us:
            line += f"; wrapper {us['lenient'] - us['aiokafka']:+.3f}"
        print(f"  {CODECS.get(codec, 'none'):6} ({len(buffer) / raw:4.0%} of raw): {line}")


def _bench_batches(records: int, per_batch: int) -> list[bytes]:
    import random

    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    rng = random.Random(11)
    words = [rng.randbytes(rng.randint(2, 6)).hex() for _ in range(2000)]
    batches = []
    for base in range(0, records - per_batch + 1, per_batch):
        b = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 26)
        for i in range(per_batch):
            note = " ".join(rng.choices(words, k=120))
            value = (
                f'{{"id":"{rng.randbytes(16).hex()}","n":{base + i},"kind":"request",'
                f'"sender":"VN:GOV:000.00.00.H41","service":"VN:GOV:000.00.00.H92:dv:v1",'
                f'"citizen":"{rng.randrange(10**11, 10**12)}","note":"{note}"}}'
            )
            trace = f"00-{rng.randbytes(16).hex()}-{rng.randbytes(8).hex()}-01"
            headers = [("ndxp-id", rng.randbytes(16).hex().encode()), ("ndxp-kind", b"request")]
            headers.append(("traceparent", trace.encode()))
            b.append(i, 1_700_000_000_000 + i, None, value.encode(), headers)
        data = bytearray(b.build())
        struct.pack_into(">q", data, 0, base)  # base offset (outside the CRC)
        batches.append(bytes(data))
    return batches


def _bench_compress(data: bytes, codec: int) -> bytes:
    """The batch with its records compressed as producers do (gzip level 6, zstd level 3,
    lz4 frames of independent blocks, raw snappy as librdkafka writes it)."""
    from aiokafka.record.util import calc_crc32c

    records = data[HEADER.size :]
    if codec == 1:
        packed = zlib.compress(records, 6, wbits=16 + zlib.MAX_WBITS)
    elif codec == 2:
        packed = _snappy_codec().compress(records, asbytes=True)
    elif codec == 3:
        packed = lz4.frame.compress(records, block_linked=False)
    else:
        packed = zstd.compress(records, 3)
    out = bytearray(data[: HEADER.size]) + packed
    out[CODEC_AT] |= codec
    LENGTH.pack_into(out, LENGTH_AT, len(out) - LOG_OVERHEAD)
    CRC.pack_into(out, CRC_AT, calc_crc32c(bytes(out[21:])))
    return bytes(out)


def _bench_iterate(factory: Callable[[bytes], Any], buffer: bytes) -> int:
    from aiokafka.structs import TopicPartition

    tp = TopicPartition("t", 0)
    return sum(
        1 for _ in fetcher.PartitionRecords(tp, factory(buffer), None, 0, None, None, True, 0)
    )


def _bench_read_each(batches: list[bytes]) -> int:
    return sum(len(read_batch(b)) for b in batches)


if __name__ == "__main__":
    _bench(*(int(a) for a in sys.argv[1:3]))
