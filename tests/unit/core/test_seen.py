"""What the ledger knows it holds, from memory: never "new" for what the table holds, never
"present" for what it does not, for any order of inserts and questions; the table read at
most once for each offset; memory bounded."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.core.seen import CHUNK, NEW, PRESENT, UNKNOWN, Seen, chunk_of

SPREAD = 4 * CHUNK  # offsets over a few chunks


Row = tuple[int, str]  # offset, receiver ('' for none)
RECEIVERS = ("", "000.00.00.H40", "000.00.00.H42")


def ask(seen: Seen, table: set[Row], rows: list[Row], reads: list[int]) -> dict[Row, int]:
    """What the ledger store does for a batch: ask memory, read the table's gaps for what
    memory cannot say (counting the offsets each read covers), ask again."""
    out = {}
    for o, r in rows:
        key = ("t", 0, o, r)
        state = seen.state(key)
        if state == UNKNOWN:
            chunk = chunk_of(key)
            first, last = seen.gap(chunk, o)
            assert first <= o <= last
            reads.append(last - first + 1)
            seen.load(chunk, first, [x for x in table if first <= x[0] <= last])
            state = seen.state(key)
            assert state != UNKNOWN
        out[(o, r)] = state
    return out


ROWS = st.tuples(st.integers(0, 2 * SPREAD), st.sampled_from(RECEIVERS))


@settings(max_examples=300)
@given(
    table=st.sets(st.tuples(st.integers(0, SPREAD), st.sampled_from(RECEIVERS)), max_size=60),
    steps=st.lists(st.tuples(st.booleans(), st.lists(ROWS, max_size=20)), max_size=12),
    max_chunks=st.integers(1, 6),
    max_copies=st.integers(1, 30),
)
def test_answers_are_the_tables(
    table: set[Row], steps: list, max_chunks: int, max_copies: int
) -> None:
    floor = max((o for o, _ in table), default=-1)
    seen = Seen({("t", 0): floor}, max_chunks=max_chunks, max_copies=max_copies)
    held = set(table)
    reads: list[int] = []
    for inserting, rows in steps:
        if inserting:
            seen.add(("t", 0, o, r) for o, r in rows)
            held.update(rows)
        for row, state in ask(seen, held, rows, reads).items():
            assert state == (PRESENT if row in held else NEW), (row, state)
        youngest = next(reversed(seen.bits), None)
        assert seen.chunk_count() <= max(max_chunks, 1)
        assert seen.copy_count <= max(max_copies, len(seen.copies.get(youngest, ())))
        assert seen.copy_count == sum(map(len, seen.copies.values()))


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
        states = ask(seen, {(o, "") for o in table}, [(o, "") for o in order[i : i + 100]], reads)
        assert set(states.values()) == {PRESENT}
    assert sum(reads) <= max(table) + 1


def test_a_fresh_day_in_any_order_needs_no_question() -> None:
    """Above the floor, memory answers for everything this ledger inserted, however scattered
    (the intervals kept before gave up past 256 per partition, and the table was asked)."""
    seen = Seen({("t", 0): 99})
    offsets = list(range(100, 100 + 5 * CHUNK, 2))
    seen.add(("t", 0, o, "") for o in reversed(offsets))
    for o in range(100, 100 + 5 * CHUNK):
        assert seen.state(("t", 0, o, "")) == (PRESENT if o % 2 == 0 else NEW)
    assert seen.state(("t", 0, 99, "")) == UNKNOWN


def test_memory_is_bounded_by_raising_the_floor() -> None:
    seen = Seen(max_chunks=3)
    seen.add(("t", 1, o, "") for o in range(0, 5 * CHUNK, CHUNK // 2))
    assert seen.chunk_count() == 3
    assert seen.floors[("t", 1)] == 2 * CHUNK - 1  # the two oldest chunks given up
    assert seen.state(("t", 1, 0, "")) == UNKNOWN  # ask the table again
    assert seen.state(("t", 1, 4 * CHUNK, "")) == PRESENT
    assert seen.state(("t", 1, 4 * CHUNK + 1, "")) == NEW


def test_partitions_and_topics_are_apart() -> None:
    seen = Seen({("a", 0): 10})
    seen.add([("a", 1, 5, ""), ("b", 0, 5, "")])
    assert seen.state(("a", 0, 5, "")) == UNKNOWN
    assert seen.state(("a", 1, 5, "")) == PRESENT
    assert seen.state(("b", 0, 5, "")) == PRESENT
    assert seen.state(("b", 1, 5, "")) == NEW


def test_a_new_receiver_on_every_record_adds_an_entry_never_a_chunk_or_a_floor() -> None:
    """A sender naming a made-up agency code on each record (each a rejected row with that
    receiver): keyed by receiver, each had a chunk of its own and, once pushed out, a floor
    for good; now they are entries of their partition's chunk, and honest chunks stay."""
    seen = Seen(max_chunks=8, max_copies=10_000)
    seen.add(("honest", 0, o, "") for o in range(100))
    seen.add(("attacker", 0, o, f"999.99.{o:05d}") for o in range(5_000))
    assert seen.chunk_count() == 2 and seen.copy_count == 5_000
    assert set(seen.floors) == set()
    assert seen.state(("honest", 0, 50, "")) == PRESENT
    assert seen.state(("attacker", 0, 7, "999.99.00007")) == PRESENT
    assert seen.state(("attacker", 0, 7, "999.99.00008")) == NEW
    assert seen.state(("attacker", 0, 7, "")) == NEW


def test_receivers_rows_past_the_bound_push_out_the_oldest_chunk() -> None:
    seen = Seen(max_copies=100)
    seen.add(("t", 0, o, "") for o in range(10))
    seen.add(("t", 1, o, r) for o in range(60) for r in ("A", "B"))
    assert seen.floors[("t", 0)] == CHUNK - 1  # the oldest chunk went first
    assert seen.state(("t", 0, 3, "")) == UNKNOWN  # ask the table again
    # the chunk being written answers for all it holds, even past the bound …
    assert seen.copy_count == 120 and seen.state(("t", 1, 59, "B")) == PRESENT
    # … until another is written
    seen.add([("t", 2, 0, "A")])
    assert seen.copy_count == 1 and seen.floors[("t", 1)] == CHUNK - 1
