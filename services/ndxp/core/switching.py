"""How often the router's interpreter switches threads, from the run it has just routed (pure).

Faust's consumer runs in a thread of its own; the agents' thread routes what it fetched. A short
switch interval (0.2 ms) lets the agents' thread have a fetch as soon as it lands, which a quiet
platform's round trips need (a router pass 4.7-5.4 -> 3.4-3.8 ms). Behind a backlog the same
interval has the two threads trade the interpreter every 0.2 ms: the router drained one
client's backlog (200,000 requests of 512 B on one partition) at 20,200-21,000 msg/s, and at
22,100-24,900 with Python's own 5 ms (six pairs, 2026-12-04). A run of records is what tells
the two apart: behind one client's backlog a fetch brings its partition hundreds of records,
on a quiet platform one or a few. Beside a loud neighbour (one province's 6,000 notices a
second, ``python -m ndxp.bench.roundtrip --flood 6000``) the quiet members' round trips were
no worse than at 0.2 ms throughout: p50 20.5-49.7 against 36.2-56.6 ms in four pairs.
"""

from __future__ import annotations

# A run of at least this many records means records are waiting behind it. At 1,000 round
# trips a second a run holds one to a few records; behind a backlog a fetch fills partition by
# partition, each up to its 256 KiB (~500 records of 512 B, ~180 of the many-agency mix). The
# national day, where router, ledger and broker share the two cores, did not move: 148 s with
# this rule, 149-152 s at 0.2 ms throughout, 152 s with the threshold at 16 (2026-12-04).
BUSY_RUN_RECORDS = 64


def switch_interval_s(run_records: int, idle_ms: float, busy_ms: float) -> float:
    """The interpreter's switch interval (seconds) after routing a run of ``run_records``."""
    return (busy_ms if run_records >= BUSY_RUN_RECORDS else idle_ms) / 1000
