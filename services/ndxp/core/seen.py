"""Which ingress coordinates the ledger holds, from memory (pure).

The ledger's identity of a row is its ingress record (topic, partition, offset). Before an
insert it must leave out the identities already in the table. :class:`Seen` answers from
memory, per ingress partition, with a bitmap per **chunk** of :data:`CHUNK` offsets (one bit
an offset):

- above the partition's **floor** (the highest offset the table held when the ledger started,
  or raised since, see below) only this ledger has written: an offset is present if it set
  its bit (:meth:`Seen.add`), new otherwise — no query;
- at or below the floor an offset is :data:`UNKNOWN` until the table has been read for it:
  :meth:`Seen.gap` is the stretch of its chunk to read (from the lowest offset wanted up to
  what was read before), :meth:`Seen.load` takes what the table holds there. From then on
  the chunk answers for every offset from there to its end, as long as it is kept.

Why: a batch of a replayed day holds, for each ingress partition, offsets from all over the
day (the ledger reads every egress partition at once, and a small one's whole day comes in its
first fetch), so asking the table about each batch's offset range per partition read the
replayed region again for every batch: 1.8 M rows read to replay 300,000, each batch's check
282 → 587 ms as the day's table grew from 0 to 30 M rows; and a fresh day's scattered offsets
outgrew the 256 intervals per partition kept before, so fresh batches were asked about too
(81 → 251 ms, ``make bench-ledger-day``). Here every offset is read from the table at most
once, and memory is one bit an offset whatever the order.

A document's copies share their ingress record's offset, one row per receiver: a chunk holds
them apart from its bitmap, as ``"<offset in chunk> <receiver>"`` strings (:meth:`Seen.add`).
Chunks and floors are per ingress partition, never per receiver: a sender who names a new
agency code on each record (a status's receiver, a document's unknown receivers, each a
rejected row) adds one entry, never a chunk or a floor. Keyed by receiver, as they were, one
such code per record gave each its own 1 KiB chunk and, once pushed out, a floor for good:
memory without bound, and honest partitions' chunks pushed out (asked of the table again).

Memory is bounded: past ``max_chunks`` chunks (:data:`MAX_CHUNKS`: 32 MiB of bitmaps, 268 M
offsets) or ``max_copies`` receivers' rows (:data:`MAX_COPIES`, ~115 B each), the oldest
chunk is dropped and its partition's floor raised over it (its offsets are asked of the
table again, never assumed new). The chunk just loaded or added to is never the one dropped:
it alone may hold more (at most :data:`CHUNK` records × 128 receivers).

Exact for one ledger worker (the default). With several, a router redelivery whose copy lands
on another worker's egress partition is not seen by that worker's memory; the table's
ReplacingMergeTree key (the same coordinates) collapses it, and ``FINAL`` counts it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Source = tuple[str, int]  # ingress topic, partition
Key = tuple[str, int, int, str]  # ingress topic, partition, offset, receiver ('' for none)
Chunk = tuple[str, int, int]  # ingress topic, partition, offset >> CHUNK_BITS
Held = tuple[int, str]  # what the table holds: an offset, a receiver ('' for none)

CHUNK_BITS = 13
CHUNK = 1 << CHUNK_BITS  # offsets per chunk (a table granule's worth): a bitmap of 1 KiB
MASK = CHUNK - 1
MAX_CHUNKS = 32_768
MAX_COPIES = 1 << 19  # receivers' rows held (copies, statuses): 57 MiB (tracemalloc)
NEW, PRESENT, UNKNOWN = 0, 1, 2


def chunk_of(key: Key) -> Chunk:
    topic, partition, offset, _ = key
    return topic, partition, offset >> CHUNK_BITS


def chunk_range(chunk: Chunk) -> tuple[int, int]:
    """The first and the last offset of a chunk."""
    first = chunk[2] << CHUNK_BITS
    return first, first + MASK


def _copy(offset: int, receiver: str) -> str:
    """A receiver's row in its chunk's set."""
    return f"{offset & MASK} {receiver}"


class Seen:
    def __init__(
        self,
        floors: Mapping[Source, int] | None = None,
        max_chunks: int = MAX_CHUNKS,
        max_copies: int = MAX_COPIES,
    ) -> None:
        self.floors: dict[Source, int] = dict(floors or {})
        self.max_chunks = max_chunks
        self.max_copies = max_copies
        self.bits: dict[Chunk, bytearray] = {}  # oldest first: every chunk held is here
        self.copies: dict[Chunk, set[str]] = {}  # receivers' rows, of chunks in ``bits``
        self.copy_count = 0
        # chunks read from the table: from this offset to the chunk's end, the bits answer
        self.known: dict[Chunk, int] = {}

    def state(self, key: Key) -> int:
        """:data:`NEW` (certainly not in the table), :data:`PRESENT`, or :data:`UNKNOWN` (at
        or below the floor, where the table has not been read: ask it)."""
        topic, partition, offset, receiver = key
        chunk = (topic, partition, offset >> CHUNK_BITS)
        if offset <= self.floors.get((topic, partition), -1):
            known = self.known.get(chunk)
            if known is None or offset < known:
                return UNKNOWN
        if receiver:
            copies = self.copies.get(chunk)
            return PRESENT if copies is not None and _copy(offset, receiver) in copies else NEW
        bits = self.bits.get(chunk)
        if bits is None:
            return NEW
        i = offset & MASK
        return PRESENT if bits[i >> 3] >> (i & 7) & 1 else NEW

    def gap(self, chunk: Chunk, lowest: int) -> tuple[int, int]:
        """The offsets of ``chunk`` to read from the table so that it answers for ``lowest``
        and above: from ``lowest`` up to the floor, or to what was read before."""
        last = min(chunk_range(chunk)[1], self.floors.get((chunk[0], chunk[1]), -1))
        known = self.known.get(chunk)
        if known is not None:
            last = min(last, known - 1)
        return lowest, last

    def load(self, chunk: Chunk, first: int, held: Iterable[Held]) -> None:
        """``held`` is what the table holds of ``chunk``'s :meth:`gap` from ``first``, read
        just now: each row's offset and receiver."""
        bits = self.bits.pop(chunk, None) or bytearray(CHUNK >> 3)
        self.bits[chunk] = bits  # the youngest now
        for offset, receiver in held:
            self._set(chunk, bits, offset, receiver)
        self.known[chunk] = min(first, self.known.get(chunk, first))
        self._bound(chunk)

    def add(self, keys: Iterable[Key]) -> None:
        """These identities are in the table now."""
        for topic, partition, offset, receiver in keys:
            chunk = (topic, partition, offset >> CHUNK_BITS)
            bits = self.bits.get(chunk)
            if bits is None:
                bits = self.bits[chunk] = bytearray(CHUNK >> 3)
            self._set(chunk, bits, offset, receiver)
            if len(self.bits) > self.max_chunks or self.copy_count > self.max_copies:
                self._bound(chunk)

    def _set(self, chunk: Chunk, bits: bytearray, offset: int, receiver: str) -> None:
        if receiver:
            copies = self.copies.setdefault(chunk, set())
            size = len(copies)
            copies.add(_copy(offset, receiver))
            self.copy_count += len(copies) - size
        else:
            i = offset & MASK
            bits[i >> 3] |= 1 << (i & 7)

    def _bound(self, keep: Chunk) -> None:
        """Drop the oldest chunks but ``keep`` (the one just loaded or added to: it answers
        now) until the rest is within the bounds: ``keep`` alone may hold more copies."""
        while len(self.bits) > self.max_chunks or self.copy_count > self.max_copies:
            chunk = next(iter(self.bits))
            if chunk == keep:
                if len(self.bits) == 1:
                    return
                self.bits[chunk] = self.bits.pop(chunk)  # the youngest now
                continue
            del self.bits[chunk]
            self.copy_count -= len(self.copies.pop(chunk, ()))
            self.known.pop(chunk, None)
            source = (chunk[0], chunk[1])
            self.floors[source] = max(self.floors.get(source, -1), chunk_range(chunk)[1])

    def chunk_count(self) -> int:
        return len(self.bits)
