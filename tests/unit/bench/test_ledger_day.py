"""The ledger-day benchmark's plan: the pre-filled rows lie below the copies on the partitions
the copies come from, the copies look as the router writes them, and the day is Vietnam's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ndxp.bench import prefill, routed_copies
from ndxp.bench.ledger_day import day_start_ms
from ndxp.core import wire
from ndxp.core.days import local_day
from ndxp.core.routing import Routed, Router
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

REGISTRY = load_registry(DEFAULT_REGISTRY)


@given(
    weights=st.dictionaries(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 5)), st.integers(1, 1000), min_size=1
    ),
    total=st.integers(0, 10**8),
)
def test_shares_add_up_and_follow_the_weights(weights: dict, total: int) -> None:
    out = prefill.shares(weights, total)
    assert sum(out.values()) == total and set(out) == set(weights)
    weight = sum(weights.values())
    for tp, w in weights.items():
        assert abs(out[tp] - total * w / weight) < 1


def test_chunks_cover_every_offset_once() -> None:
    counts = [0, 5, 200_000, 65_536]
    parts = prefill.chunks(counts)
    covered = {
        j: sorted(o for jj, first, n in parts if jj == j for o in range(first, first + n))
        for j in range(4)
    }
    assert all(covered[j] == list(range(c)) for j, c in enumerate(counts))
    assert max(n for _, _, n in parts) <= prefill.CHUNK


def test_statements_make_every_row_in_inserts_of_about_a_million() -> None:
    counts = [3_000_000, 1_234_567]
    sql = prefill.statements(prefill.chunks(counts), counts, [64, 3], 0, 86_400_000)
    assert sum(rows for _, rows in sql) == sum(counts)
    assert all(rows <= prefill.INSERT_ROWS for _, rows in sql)
    assert all(s.strip().startswith("INSERT INTO ndxp.ledger") for s, _ in sql)


def test_the_day_starts_at_midnight_in_vietnam() -> None:
    t = 1_796_200_338_772  # 2026-12-02 08:32 UTC = 15:32 in Hanoi
    start = day_start_ms(t)
    assert local_day(start) == local_day(t) and local_day(start - 1) == local_day(t) - 1
    assert (t - start) // 3_600_000 == 15


def test_copies_go_where_the_router_sends_them_from_the_senders_partitions() -> None:
    router = Router(REGISTRY)
    planned = routed_copies.plan(REGISTRY, "t", 2000, 3)
    assert len(planned) == 4000
    for p in planned:
        decision = router.decide(p.record.topic, p.record.headers, p.record.size, 0)
        assert isinstance(decision, Routed)
        assert decision.topic == p.topic and str(decision.route.code) == p.route
        assert p.source[0] == p.record.topic and 0 <= p.source[1] < 3
        assert p.topic.startswith(wire.EGRESS_PREFIX)
    assert sum(routed_copies.per_source(planned).values()) == 4000
