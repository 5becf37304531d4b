"""The router's zstd batches at level 1 (ndxp.kafka.zstd_level): aiokafka's own batch builder
compresses through the replacement, and what it writes reads back with any zstd decoder."""

from __future__ import annotations

import json

import cramjam
from aiokafka.record.default_records import DefaultRecordBatch
from backports import zstd

from ndxp.kafka import zstd_level

VALUE = json.dumps([{"so_dinh_danh": f"0401234{i:05}", "ho_ten": "Nguyễn An"} for i in range(60)])


def built(value: bytes) -> bytes:
    return zstd_level.one_batch(value, b"k", [("h", b"v")])


def test_after_install_the_batch_builder_compresses_at_level_1() -> None:
    zstd_level.install()
    calls = zstd_level.ENCODE.calls
    batch = built(VALUE.encode())
    assert zstd_level.ENCODE.calls == calls + 1
    records = batch[61:]  # after the batch header: the compressed records
    assert records == bytes(cramjam.zstd.compress(zstd.decompress(records), level=1))
    assert records != bytes(cramjam.zstd.compress(zstd.decompress(records), level=3))
    [record] = list(DefaultRecordBatch(batch))  # aiokafka reads it back (cramjam installed)
    assert (record.key, record.value) == (b"k", VALUE.encode())


def test_a_megabyte_of_zeros_stays_small() -> None:
    zstd_level.install()
    assert len(built(bytes(1 << 20))) < 200


def test_each_batch_is_a_frame_of_its_own_though_the_context_is_kept() -> None:
    """The encoder keeps its zstd context across batches: each batch must still decode alone,
    to the same bytes as a fresh context gives (no history carried from the batch before)."""
    zstd_level.install()
    first, second = built(VALUE.encode()), built(VALUE.encode())
    assert first == second
    for batch in (second, first):
        assert bytes(cramjam.zstd.decompress(batch[61:])) == zstd.decompress(batch[61:])
        [record] = list(DefaultRecordBatch(batch))
        assert record.value == VALUE.encode()
    assert zstd_level.ENCODE(b"x" * 1000, level=3) == bytes(
        cramjam.zstd.compress(b"x" * 1000, level=3)
    )
