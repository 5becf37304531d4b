"""``ndxp.heap``: what a started service built is frozen out of later full collections."""

from __future__ import annotations

import gc

from ndxp import heap


def test_settle_moves_what_survives_out_of_the_collected_generations() -> None:
    kept = [[i] for i in range(1_000)]  # a service's long-lived state
    try:
        heap.settle()
        assert gc.get_freeze_count() >= len(kept)
        walked = {id(o) for o in gc.get_objects()}  # what a full collection walks
        assert id(kept) not in walked and id(kept[0]) not in walked
        made_later = [0]
        assert id(made_later) in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()
