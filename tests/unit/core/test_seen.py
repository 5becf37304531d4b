"""What the ledger knows it holds, from memory: never "new" for what the table holds, never
"present" for what it does not, for any order of inserts and questions; the table read at
most once for each offset; memory bounded."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.core.seen import CHUNK, NEW, PRESENT, UNKNOWN, Seen, chunk_of

SPREAD = 4 * CHUNK  # offsets over a few chunks


def ask(seen: Seen, table: set[int], offsets: list[int], reads: list[int]) -> dict[int, int]:
    """What the ledger store does for a batch: ask memory, read the table's gaps for what
    memory cannot say (counting the offsets each read covers), ask again."""
    out = {}
    for o in offsets:
        key = ("t", 0, o)
        state = seen.state(key)
        if state == UNKNOWN:
            chunk = chunk_of(key)
            first, last = seen.gap(chunk, o)
            assert first <= o <= last
            reads.append(last - first + 1)
            seen.load(chunk, first, [x for x in table if first <= x <= last])
            state = seen.state(key)
            assert state != UNKNOWN
        out[o] = state
    return out


@settings(max_examples=300)
@given(
    table=st.sets(st.integers(0, SPREAD), max_size=60),
    steps=st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(0, 2 * SPREAD), max_size=20)), max_size=12
    ),
    max_chunks=st.integers(1, 6),
)
def test_answers_are_the_tables(table: set[int], steps: list, max_chunks: int) -> None:
    seen = Seen({("t", 0): max(table, default=-1)}, max_chunks=max_chunks)
    held = set(table)
    reads: list[int] = []
    for inserting, offsets in steps:
        if inserting:
            seen.add(("t", 0, o) for o in offsets)
            held.update(offsets)
        for o, state in ask(seen, held, offsets, reads).items():
            assert state == (PRESENT if o in held else NEW), (o, state)
        assert seen.chunk_count() <= max_chunks


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32))
def test_a_replay_reads_each_offset_of_the_table_once_whatever_its_order(seed: int) -> None:
    """A restarted ledger replaying its day in any order: the table is read over at most the
    day's offsets, not once per batch (batches of 100)."""
    table = set(range(0, 3 * CHUNK, 7))
    order = sorted(table)
    random.Random(seed).shuffle(order)
    seen = Seen({("t", 0): max(table)})
    reads: list[int] = []
    for i in range(0, len(order), 100):
        states = ask(seen, table, order[i : i + 100], reads)
        assert set(states.values()) == {PRESENT}
    assert sum(reads) <= max(table) + 1


def test_a_fresh_day_in_any_order_needs_no_question() -> None:
    """Above the floor, memory answers for everything this ledger inserted, however scattered
    (the intervals kept before gave up past 256 per partition, and the table was asked)."""
    seen = Seen({("t", 0): 99})
    offsets = list(range(100, 100 + 5 * CHUNK, 2))
    seen.add(("t", 0, o) for o in reversed(offsets))
    for o in range(100, 100 + 5 * CHUNK):
        assert seen.state(("t", 0, o)) == (PRESENT if o % 2 == 0 else NEW)
    assert seen.state(("t", 0, 99)) == UNKNOWN


def test_memory_is_bounded_by_raising_the_floor() -> None:
    seen = Seen(max_chunks=3)
    seen.add(("t", 1, o) for o in range(0, 5 * CHUNK, CHUNK // 2))
    assert seen.chunk_count() == 3
    assert seen.floors[("t", 1)] == 2 * CHUNK - 1  # the two oldest chunks given up
    assert seen.state(("t", 1, 0)) == UNKNOWN  # ask the table again
    assert seen.state(("t", 1, 4 * CHUNK)) == PRESENT
    assert seen.state(("t", 1, 4 * CHUNK + 1)) == NEW


def test_partitions_and_topics_are_apart() -> None:
    seen = Seen({("a", 0): 10})
    seen.add([("a", 1, 5), ("b", 0, 5)])
    assert seen.state(("a", 0, 5)) == UNKNOWN
    assert seen.state(("a", 1, 5)) == PRESENT
    assert seen.state(("b", 0, 5)) == PRESENT
    assert seen.state(("b", 1, 5)) == NEW
