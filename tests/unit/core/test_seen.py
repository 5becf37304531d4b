"""What the ledger knows it holds, from memory: equal to a set of everything inserted, for any
order of inserts, with a floor below which the table must be asked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ndxp.core.seen import MAX_SPANS, NEW, PRESENT, UNKNOWN, Seen


@given(
    floor=st.integers(-1, 50),
    offsets=st.lists(st.integers(0, 400), max_size=300),
    probes=st.lists(st.integers(0, 450), max_size=50),
)
def test_state_matches_a_plain_set(floor: int, offsets: list[int], probes: list[int]) -> None:
    seen = Seen({("t", 0): floor})
    seen.add(("t", 0, o) for o in offsets)
    inserted = {o for o in offsets if o > floor}
    for o in set(probes) | set(offsets):
        state = seen.state(("t", 0, o))
        if o <= seen.floors[("t", 0)]:
            assert state == UNKNOWN
        else:
            assert state == (PRESENT if o in inserted else NEW), o
        assert state != NEW or o not in inserted  # never "new" for something inserted


def test_memory_is_bounded_by_raising_the_floor() -> None:
    seen = Seen()
    seen.add(("t", 1, o) for o in range(0, 4 * MAX_SPANS, 2))  # every other offset: no merging
    assert seen.span_count() <= MAX_SPANS
    floor = seen.floors[("t", 1)]
    assert floor > 0
    assert seen.state(("t", 1, 0)) == UNKNOWN  # given up: ask the table again
    assert seen.state(("t", 1, 4 * MAX_SPANS - 2)) == PRESENT
    assert seen.state(("t", 1, 4 * MAX_SPANS - 1)) == NEW


def test_partitions_and_topics_are_apart() -> None:
    seen = Seen({("a", 0): 10})
    seen.add([("a", 1, 5), ("b", 0, 5)])
    assert seen.state(("a", 0, 5)) == UNKNOWN
    assert seen.state(("a", 1, 5)) == PRESENT
    assert seen.state(("b", 0, 5)) == PRESENT
    assert seen.state(("b", 1, 5)) == NEW
