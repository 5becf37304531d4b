"""Which ingress coordinates the ledger may already hold (pure).

The ledger's identity of a row is its ingress record: (topic, partition, offset). Before an
insert it must leave out the identities already in the table, and asking the table for every
batch costs more as the table grows. :class:`Seen` answers most of it from memory:

- per ingress partition, a **floor**: the highest offset the table held when the ledger
  started (or that was given up from memory since). An offset at or below it may be in the
  table: the table is asked (a lookup by its sort key, for just those rows);
- above the floor, the offsets this ledger inserted itself, as a few intervals (ingress
  offsets arrive nearly in order, so they merge): an offset among them is present, one that is
  not is new — neither needs a query.

Memory is bounded: past :data:`MAX_SPANS` intervals for a partition, the oldest is given up by
raising the floor over it (those offsets are asked of the table again, never assumed new).

Exact for one ledger worker (the default). With several, a router redelivery whose copy lands
on another worker's egress partition is not seen by that worker's memory; the table's
ReplacingMergeTree key (the same coordinates) collapses it, and ``FINAL`` counts it once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping

Source = tuple[str, int]  # ingress topic, partition
Key = tuple[str, int, int]  # ingress topic, partition, offset

MAX_SPANS = 256
NEW, PRESENT, UNKNOWN = 0, 1, 2


class Seen:
    def __init__(self, floors: Mapping[Source, int] | None = None) -> None:
        self.floors: dict[Source, int] = dict(floors or {})
        self.spans: dict[Source, list[list[int]]] = {}  # sorted, disjoint [first, last]

    def state(self, key: Key) -> int:
        """:data:`NEW` (certainly not in the table), :data:`PRESENT` (this ledger inserted
        it) or :data:`UNKNOWN` (at or below the floor: ask the table)."""
        topic, partition, offset = key
        source = (topic, partition)
        if offset <= self.floors.get(source, -1):
            return UNKNOWN
        spans = self.spans.get(source)
        return PRESENT if spans is not None and _covers(spans, offset) else NEW

    def add(self, keys: Iterable[Key]) -> None:
        """These identities are in the table now."""
        for topic, partition, offset in keys:
            source = (topic, partition)
            if offset <= self.floors.get(source, -1):
                continue
            spans = self.spans.setdefault(source, [])
            _insert(spans, offset)
            if len(spans) > MAX_SPANS:
                first = spans.pop(0)
                self.floors[source] = max(self.floors.get(source, -1), first[1])

    def span_count(self) -> int:
        return sum(len(s) for s in self.spans.values())


def _covers(spans: list[list[int]], offset: int) -> bool:
    i = bisect_left(spans, [offset + 1]) - 1  # the last span starting at or before offset
    return i >= 0 and spans[i][0] <= offset <= spans[i][1]


def _insert(spans: list[list[int]], offset: int) -> None:
    if spans and spans[-1][1] + 1 == offset:  # the common case: the next offset
        spans[-1][1] = offset
        return
    i = bisect_left(spans, [offset + 1])  # spans[:i] start at or before offset
    if i > 0 and spans[i - 1][1] >= offset:
        return  # already covered
    joins_left = i > 0 and spans[i - 1][1] + 1 == offset
    joins_right = i < len(spans) and spans[i][0] - 1 == offset
    if joins_left and joins_right:
        spans[i - 1][1] = spans[i][1]
        del spans[i]
    elif joins_left:
        spans[i - 1][1] = offset
    elif joins_right:
        spans[i][0] = offset
    else:
        spans.insert(i, [offset, offset])
