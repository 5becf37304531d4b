"""The router's batches compressed at zstd level 1, not aiokafka's level 3.

aiokafka 0.14 compresses a zstd batch with ``aiokafka.codec.zstd_encode`` at level 3 (the
broker's default, KIP-390) and gives a producer no way to choose another. The router
compresses every batch it writes (``NDXP_ROUTER_COMPRESSION``, so that a member's compressed
record is not inflated onto its receiver's topic), on its one thread. On 1.3 KB random values
with the router's headers, aiokafka's batch builder took 2.7-3.0 µs a record uncompressed,
6.5-7.9 at level 3, 4.5-5.9 at level 1: level 1 halves what compressing costs. What it gives
up: a few percent of the ratio on JSON; a megabyte of zeros is still ~60 bytes.

aiokafka's ``zstd_encode`` (cramjam) also sets up a new zstd context for every batch: ~5 µs a
call whatever the batch's size, and the router's batches are small (one per egress partition
per send, often a record or two). The encoder here keeps one context
(``backports.zstd``'s ``ZstdCompressor``, whose ``FLUSH_FRAME`` ends each batch's frame and
keeps the context): the same bytes as cramjam's, 1.4 KB in 4.4 µs against 7.1.

:func:`install` replaces the name ``zstd_encode`` in the modules of aiokafka's batch builder
(the C one and the pure-Python one, each imported it from ``aiokafka.codec``: internals listed
in :mod:`ndxp.internals.producing` for the version guard), then builds one batch to check that
the replacement is what compresses it, and raises otherwise.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Final

if sys.version_info >= (3, 14):
    from compression.zstd import ZstdCompressor
else:
    from backports.zstd import ZstdCompressor

LEVEL: Final = 1
BUILDERS: Final = (
    "aiokafka.record._crecords.default_records",  # the C builder aiokafka uses
    "aiokafka.record.default_records",  # the pure-Python one (AIOKAFKA_NO_EXTENSIONS)
)
_ZSTD: Final = 4  # Kafka's codec id


class Encoder:
    """``zstd_encode`` at :data:`LEVEL`, one frame a call from the one context it keeps,
    counting its calls (for :func:`install`'s check). aiokafka never passes a level; one
    given is honoured with a context of its own for that call."""

    def __init__(self) -> None:
        self.calls = 0
        self._context = ZstdCompressor(level=LEVEL)

    def __call__(self, payload: Any, level: int | None = None) -> bytes:
        self.calls += 1
        context = self._context if level is None or level == LEVEL else ZstdCompressor(level)
        return context.compress(payload, mode=ZstdCompressor.FLUSH_FRAME)


ENCODE: Final = Encoder()


def install() -> None:
    """Have aiokafka's batch builders compress zstd at :data:`LEVEL`; raise ``RuntimeError``
    when a built batch shows they do not."""
    for name in BUILDERS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # no C extension here: the Python builder is the one used
            continue
        module.zstd_encode = ENCODE  # type: ignore[attr-defined]
    before = ENCODE.calls
    one_batch(bytes(1024))
    if ENCODE.calls != before + 1:
        raise RuntimeError("aiokafka's batch builder no longer compresses through zstd_encode")


def one_batch(
    value: bytes, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
) -> bytes:
    """A zstd batch of one record, as aiokafka's batch builder makes it (through whatever
    ``zstd_encode`` it calls now)."""
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=_ZSTD,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=0, key=key, value=value, headers=headers or [])
    return bytes(builder.build())
