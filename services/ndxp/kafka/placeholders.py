"""Records that stand for offsets holding no message an ndxp consumer can read, so that a
partition's offsets stay consecutive (the router's in-order guard seeks back over a gap):

- a compressed batch :mod:`ndxp.kafka.records` could not read (a zip bomb past the cap, a codec
  no library here reads, corrupt data): one record per offset valued with an
  :class:`Unreadable`, which the router refuses and the ledger quarantines;
- a transaction's commit or abort marker (a control batch the broker writes), in a process
  that passes markers on: one record per offset valued with a :class:`Marker`, which the
  router passes over.

Each has key ``None``, no headers and its batch's timestamp. Their values are empty ``bytes``
of a type only this module makes: a sender's value is plain ``bytes``, so nobody can forge one,
and aiokafka and Faust hand a value over unchanged, so ``type(record.value) is Unreadable``
holds at the consumer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ndxp.kafka.batch_format import LenientRecord
from ndxp.kafka.inflate import CODECS, Cause


@dataclass(frozen=True, slots=True)
class UnreadableBatch:
    """The batch an :class:`Unreadable` value stands for: its offsets (inclusive), its size as
    fetched (header and compressed records, bytes) and its codec's name."""

    base_offset: int
    last_offset: int
    compressed_size: int
    codec: str


class Unreadable(bytes):
    """The value of a placeholder record for one offset of a batch that could not be read:
    empty bytes, with ``cause`` (a :class:`Cause`), ``reason`` (for people, e.g. "zstd batch
    inflates past 32 MiB") and ``batch`` (:class:`UnreadableBatch`). Every placeholder of a
    batch shares one instance. Only this module makes them: a sender's value is plain bytes."""

    cause: Cause
    reason: str
    batch: UnreadableBatch

    def __new__(cls, cause: Cause, reason: str, batch: UnreadableBatch) -> Unreadable:
        value = super().__new__(cls)
        value.cause = cause
        value.reason = reason
        value.batch = batch
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return (Unreadable, (self.cause, self.reason, self.batch))

    def __repr__(self) -> str:
        b = self.batch
        return f"Unreadable({self.reason!r}, offsets {b.base_offset}..{b.last_offset})"


class Marker(bytes):
    """The value of a placeholder record for one offset of a control batch: a transaction's
    commit or abort marker, written by the broker. Empty bytes with ``producer_id`` and
    ``kind`` (``"commit"``, ``"abort"``, or ``"control"`` for a type Kafka may add). Only this
    module makes them (:func:`ndxp.kafka.records.pass_markers`); a sender's value is plain bytes."""

    producer_id: int
    kind: str

    def __new__(cls, producer_id: int, kind: str) -> Marker:
        value = super().__new__(cls)
        value.producer_id = producer_id
        value.kind = kind
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return (Marker, (self.producer_id, self.kind))

    def __repr__(self) -> str:
        return f"Marker({self.kind}, producer {self.producer_id})"


class Forwarded:
    """A v2 batch's attributes, as ``PartitionRecords`` reads them, forwarded to aiokafka's."""

    __slots__ = ("_batch",)

    base_offset = property(attrgetter("_batch.base_offset"))
    next_offset = property(attrgetter("_batch.next_offset"))
    producer_id = property(attrgetter("_batch.producer_id"))
    producer_epoch = property(attrgetter("_batch.producer_epoch"))
    base_sequence = property(attrgetter("_batch.base_sequence"))
    is_control_batch = property(attrgetter("_batch.is_control_batch"))
    is_transactional = property(attrgetter("_batch.is_transactional"))
    compression_type = property(attrgetter("_batch.compression_type"))
    timestamp_type = property(attrgetter("_batch.timestamp_type"))
    first_timestamp = property(attrgetter("_batch.first_timestamp"))
    max_timestamp = property(attrgetter("_batch.max_timestamp"))
    last_offset_delta = property(attrgetter("_batch.last_offset_delta"))
    attributes = property(attrgetter("_batch.attributes"))
    magic = property(attrgetter("_batch.magic"))
    crc = property(attrgetter("_batch.crc"))
    validate_crc = property(attrgetter("_batch.validate_crc"))

    def __init__(self, batch: Any) -> None:
        self._batch = batch


class MarkerBatch(Forwarded):
    """A control batch as ``PartitionRecords`` reading uncommitted sees it once markers are
    passed on (:func:`ndxp.kafka.records.pass_markers`): not a control batch, but one
    placeholder record per offset, each valued with one shared :class:`Marker`."""

    __slots__ = ("_iterator",)

    is_control_batch = False  # the point of the wrapper

    def __init__(self, batch: Any) -> None:
        super().__init__(batch)
        self._iterator: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        if self._iterator is None:
            self._iterator = self._placeholders()
        return self._iterator

    def __next__(self) -> Any:
        return next(self.__iter__())

    def _placeholders(self) -> Iterator[LenientRecord]:
        batch = self._batch
        kind = "control"
        for record in batch:  # the marker: its key says which (version 0, type 0 or 1)
            key = bytes(record.key or b"")
            if len(key) >= 4 and key[:2] == b"\x00\x00":
                kind = {0: "abort", 1: "commit"}.get(int.from_bytes(key[2:4], "big"), kind)
            break
        return stand_ins(batch, Marker(batch.producer_id, kind))


def unreadable(batch: Any, cause: Cause, reason: str, size: int) -> Iterator[LenientRecord]:
    """A batch that could not be read, as one record per offset valued with one shared
    :class:`Unreadable`."""
    first = batch.base_offset
    codec = batch.compression_type
    name = CODECS.get(codec, f"codec {codec}")
    detail = UnreadableBatch(first, first + batch.last_offset_delta, size, name)
    return stand_ins(batch, Unreadable(cause, reason, detail))


def stand_ins(batch: Any, value: bytes) -> Iterator[LenientRecord]:
    """One record per offset of ``batch`` (base offset .. base offset + last offset delta),
    made as they are read, each with key ``None``, no headers, ``value`` and the batch's
    timestamp (its max timestamp under log-append time, else its first) and type."""
    first = batch.base_offset
    ts_type = batch.timestamp_type
    timestamp = batch.max_timestamp if ts_type else batch.first_timestamp
    for offset in range(first, first + batch.last_offset_delta + 1):
        yield LenientRecord(offset, timestamp, ts_type, None, value, ())
