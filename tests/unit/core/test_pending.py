"""Offsets finished out of order: a partition commits up to its first unfinished record."""

from __future__ import annotations

import random

from ndxp.core.pending import Pending


def test_nothing_is_committable_until_the_first_record_is_finished() -> None:
    p = Pending()
    for offset in (10, 11, 12):
        p.take("a", offset)
    p.finish("a", 12)
    p.finish("a", 11)
    assert p.committable() == {}
    p.finish("a", 10)
    assert p.committable() == {"a": 13}
    assert p.committable() == {}  # reported once
    assert p.in_progress() == 0


def test_a_slow_record_holds_its_partition_only() -> None:
    p = Pending()
    p.take("slow", 0)
    p.take("slow", 1)
    p.take("fast", 5)
    p.finish("slow", 1)
    p.finish("fast", 5)
    assert p.committable() == {"fast": 6}
    p.finish("slow", 0)
    assert p.committable() == {"slow": 2}


def test_gaps_in_offsets_are_fine() -> None:
    p = Pending()
    p.take("a", 3)
    p.take("a", 7)  # offsets 4-6 were compacted away, or control records
    p.finish("a", 3)
    assert p.committable() == {"a": 4}
    p.finish("a", 7)
    assert p.committable() == {"a": 8}


def test_a_partition_read_again_from_an_earlier_offset_starts_over() -> None:
    p = Pending()
    p.take("a", 5)
    p.take("a", 6)
    p.take("a", 5)  # assigned back after a rebalance, read again from its committed offset
    assert p.in_progress() == 1
    p.finish("a", 6)  # the earlier reading's work, still published: changes nothing here
    assert p.committable() == {}
    p.finish("a", 5)
    assert p.committable() == {"a": 6}
    p.take("a", 6)  # the same offset taken twice in a row is a new reading too
    p.take("a", 6)
    p.finish("a", 6)
    assert p.committable() == {"a": 7}


def test_finishing_twice_or_after_a_drop_changes_nothing() -> None:
    p = Pending()
    p.take("a", 0)
    p.take("a", 1)
    p.finish("a", 1)
    p.finish("a", 1)
    assert p.committable() == {}
    p.drop("a")
    p.finish("a", 0)
    assert p.committable() == {} and p.partitions() == []


def test_any_finishing_order_commits_the_longest_finished_prefix() -> None:
    rng = random.Random(5)
    for _ in range(300):
        offsets = sorted(rng.sample(range(1000), rng.randrange(1, 40)))
        p = Pending()
        for o in offsets:
            p.take("t", o)
        order = offsets[:]
        rng.shuffle(order)
        finished: set[int] = set()
        committed = None
        for o in order:
            p.finish("t", o)
            finished.add(o)
            committed = p.committable().get("t", committed)
            prefix = []
            for x in offsets:
                if x not in finished:
                    break
                prefix.append(x)
            assert committed == (prefix[-1] + 1 if prefix else None)
        assert committed == offsets[-1] + 1 and p.in_progress() == 0
