from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.core.access import Principal
from ndxp.core.quota import DOCUMENTS, Limit, QuotaState, counted_as, most_specific, policy
from ndxp.core.registry import Registry, RegistryError

from .conftest import small_document

CLIENT = "VN:GOV:001.01.01.H41:motcua"
LINEAGE = [
    "VN:GOV:001.01.01.H41",
    "VN:GOV:000.01.01.H41",
    "VN:GOV:000.00.01.H41",
    "VN:GOV:000.00.00.H41",
]
T0 = int(datetime(2022, 3, 15, 9, 0, tzinfo=UTC).timestamp() * 1000)


def rate(r: float, burst: int) -> Limit:
    return Limit("r", Principal(), False, None, rate=r, burst=burst)


def daily(n: int) -> Limit:
    return Limit("d", Principal(), False, None, daily=n)


def take(state: QuotaState, limits: list[Limit], now: int) -> bool:
    hit = state.check(limits, now)
    if hit is None:
        state.charge(limits, now)
    return hit is None


def test_token_bucket_burst_then_rate() -> None:
    s, lim = QuotaState(), [rate(10, 5)]
    assert [take(s, lim, T0) for _ in range(6)] == [True] * 5 + [False]
    hit = s.check(lim, T0)
    assert hit is not None and hit.kind == "rate" and hit.retry_after_s == pytest.approx(0.1)
    assert not take(s, lim, T0 + 99)  # 0.99 of a token
    assert take(s, lim, T0 + 100)  # one token after 100 ms at 10/s
    assert not take(s, lim, T0 + 100)
    assert [take(s, lim, T0 + 10_000) for _ in range(6)] == [True] * 5 + [False]  # refilled


def test_refused_requests_consume_nothing() -> None:
    s, lim = QuotaState(), [rate(1, 1), daily(100)]
    assert take(s, lim, T0)
    for _ in range(50):
        assert not take(s, lim, T0 + 10)  # refused by rate: the daily count stays at 1
    assert s.remaining(lim[1], T0) == 99


def test_clock_going_back_adds_no_tokens() -> None:
    s, lim = QuotaState(), [rate(1, 1)]
    assert take(s, lim, T0)
    assert not take(s, lim, T0 - 60_000)
    assert take(s, lim, T0 + 1000)


def test_daily_cap_resets_at_vietnamese_midnight() -> None:
    s, lim = QuotaState(), [daily(3)]
    evening = int(datetime(2022, 3, 15, 16, 59, 0, tzinfo=UTC).timestamp() * 1000)  # 23:59 VN
    assert [take(s, lim, evening) for _ in range(4)] == [True, True, True, False]
    hit = s.check(lim, evening)
    assert hit is not None and hit.kind == "daily" and hit.retry_after_s == pytest.approx(60)
    assert "3 requests/day" in hit.detail
    midnight = evening + 60_000  # 00:00 in Hà Nội, still 17:00 UTC on the same UTC day
    assert take(s, lim, midnight)


def test_a_document_costs_a_unit_per_delivery_admitted_while_one_is_left() -> None:
    """A document to 3 receivers costs 3; it passes while a unit is left and may take the
    bucket below zero or the day past its cap, and what follows waits for that debt."""
    s, lim = QuotaState(), [rate(1, 4)]
    assert s.admit(lim, T0, cost=3) is None  # 4 -> 1
    assert s.admit(lim, T0, cost=3) is None  # 1 -> -2: a unit was left
    hit = s.admit(lim, T0)
    assert hit is not None and hit.retry_after_s == pytest.approx(3)  # back to 1 in 3 s
    assert s.admit(lim, T0 + 2_999) is not None
    assert s.admit(lim, T0 + 3_000) is None
    d = QuotaState()
    assert [d.admit([daily(5)], T0, cost=2) is None for _ in range(4)] == [True] * 3 + [False]
    assert d.remaining(daily(5), T0) == 0  # 6 used of 5: the third document's second copy


def test_a_document_to_more_receivers_than_the_burst_still_passes_once() -> None:
    s = QuotaState()
    assert s.admit([rate(10, 20)], T0, cost=92) is None  # 92 agencies at once
    assert s.admit([rate(10, 20)], T0 + 7_000) is not None  # 20 - 92 + 70 = -2
    assert s.admit([rate(10, 20)], T0 + 7_300) is None


def test_a_byte_limit_counts_every_copy_s_bytes_admitted_while_a_byte_is_left() -> None:
    """A byte bucket of 1,000 bytes a second (burst 4,000): a call is admitted while a byte
    is left and charged all its copies' bytes; what follows waits for the debt."""
    lim = [Limit("b", Principal(), False, None, bytes_rate=1000, bytes_burst=4000)]
    s = QuotaState()
    assert s.admit(lim, T0, size=3000) is None  # 4,000 -> 1,000
    assert s.admit(lim, T0, cost=3, size=3 * 1500) is None  # a document to 3: -> -3,500
    hit = s.admit(lim, T0, size=10)
    assert hit is not None and hit.kind == "bytes"
    assert hit.retry_after_s == pytest.approx(3.501)  # back to 1 byte in 3.501 s
    assert "1000 bytes/s (burst 4000)" in hit.detail
    assert s.admit(lim, T0 + 3_500, size=10) is not None
    assert s.admit(lim, T0 + 3_501, size=10) is None
    assert s.admit(lim, T0 + 60_000, size=0) is None  # refilled to the burst, no further
    assert s.data["y"]["b"] == [4000.0, T0 + 60_000]


def test_a_byte_limit_beside_a_rate_refuses_on_either_and_charges_neither_then() -> None:
    both = Limit("x", Principal(), False, None, rate=10, burst=10, bytes_rate=100)
    s = QuotaState()
    assert s.admit([both], T0, size=150) is None  # bytes: 100 -> -50 (burst: a second's)
    hit = s.admit([both], T0, size=1)
    assert hit is not None and hit.kind == "bytes"
    assert s.data["b"]["x"][0] == 9  # the refused call took no unit
    assert policy(both) == "rate=10/s;burst=10;bytes=100/s;bytes_burst=100"
    sample = Limit("g", Principal(), False, None, bytes_rate=32 * 2**20, bytes_burst=256 * 2**20)
    assert policy(sample) == "bytes=33554432/s;bytes_burst=268435456"  # every digit
    big = QuotaState()
    assert big.admit([sample], T0, size=2**30) is None  # a byte was left: into debt
    hit = big.admit([sample], T0)
    assert hit is not None and "33554432 bytes/s (burst 268435456)" in hit.detail


def test_most_specific_limit_wins() -> None:
    sub = Limit("sub", Principal(subsystems=frozenset({CLIENT})), False, None, daily=1)
    own = Limit("own", Principal(members=frozenset({LINEAGE[0]})), False, None, daily=2)
    near = Limit("near", Principal(subtrees=frozenset({LINEAGE[1]})), False, None, daily=3)
    far = Limit("far", Principal(subtrees=frozenset({LINEAGE[3]})), False, None, daily=4)
    group = Limit("group", Principal(subtrees=frozenset({LINEAGE[3]})), True, None, daily=5)
    exact_only = Limit("x", Principal(members=frozenset({LINEAGE[3]})), False, None, daily=6)
    order = [group, far, near, own, sub]
    for n in range(len(order)):
        chosen = most_specific([*order[: n + 1], exact_only], CLIENT, LINEAGE[0], LINEAGE)
        assert chosen is order[n]
    assert most_specific([exact_only], CLIENT, LINEAGE[0], LINEAGE) is None


def test_registry_gives_the_per_service_and_the_overall_limit() -> None:
    doc = small_document()
    doc["limits"] = [
        {"name": "all", "group": "provinces", "rate": 100, "daily": 1000},
        {
            "name": "pop",
            "group": "provinces",
            "service": "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1",
            "daily": 10,
        },
        {
            "name": "pop-h41",
            "member": "VN:GOV:000.00.00.H41",
            "descendants": True,
            "service": "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1",
            "daily": 5,
        },
    ]
    registry = Registry.from_document(doc)
    client = registry.subsystems[CLIENT]
    names = [lim.id for lim in registry.limits_for(client, "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1")]
    assert names == ["pop-h41", "all"]
    other = registry.subsystems["VN:GOV:000.00.00.H42:motcua"]
    assert [
        lim.id for lim in registry.limits_for(other, "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1")
    ] == ["pop", "all"]
    assert [
        lim.id for lim in registry.limits_for(other, "VN:GOV:000.00.01.G01:dancu:tra-cuu:v2")
    ] == ["all"]
    viettel = registry.subsystems["VN:COM:0100109106:xacthuc"]
    assert registry.limits_for(viettel, "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1") == ()


def test_a_limit_on_documents_counts_documents_only() -> None:
    doc = small_document()
    doc["limits"] = [
        {"name": "all", "group": "provinces", "rate": 100, "daily": 1000},
        {"name": "docs", "group": "provinces", "documents": True, "rate": 5, "daily": 20},
        {"name": "docs-h41", "member": "VN:GOV:000.00.00.H41", "documents": True, "daily": 9},
    ]
    registry = Registry.from_document(doc)
    h41, h42 = registry.subsystems["VN:GOV:000.00.00.H41:motcua"], registry.subsystems[CLIENT]
    assert counted_as("document", "") == DOCUMENTS
    assert counted_as("request", "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1") != DOCUMENTS
    assert counted_as("notice", None) == ""
    assert [lim.id for lim in registry.limits_for(h41, DOCUMENTS)] == ["docs-h41", "all"]
    assert [lim.id for lim in registry.limits_for(h42, DOCUMENTS)] == ["docs", "all"]
    for client in (h41, h42):  # a request is not counted under a limit on documents
        service = "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"
        assert [lim.id for lim in registry.limits_for(client, service)] == ["all"]
    # a document of 12 deliveries is admitted while a unit is left, then charged all 12
    state, limits = QuotaState(), registry.limits_for(h42, DOCUMENTS)
    assert state.admit(limits, T0, cost=12) is None
    assert state.admit(limits, T0 + 10_000, cost=12) is None  # 8 left today: admitted
    hit = state.admit(limits, T0 + 20_000, cost=1)
    assert hit is not None and hit.kind == "daily"
    assert hit.detail.startswith("daily limit docs for documents: 20 deliveries/day;")
    fresh = QuotaState()
    assert fresh.admit(limits, T0, cost=12) is None  # 5 tokens: 12 taken, 7 owed
    hit = fresh.admit(limits, T0 + 1000, cost=1)  # 5 back a second: still 2 owed
    assert hit is not None and hit.kind == "rate" and "5 deliveries/s" in hit.detail


def test_a_limit_is_on_documents_or_on_a_service_not_both() -> None:
    doc = small_document()
    doc["limits"] = [
        {
            "name": "both",
            "group": "provinces",
            "documents": True,
            "service": "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1",
            "daily": 5,
        }
    ]
    with pytest.raises(RegistryError, match="on documents or on a service, not both"):
        Registry.from_document(doc)


def test_replays_get_their_first_decision_back() -> None:
    s = QuotaState()
    src = "ndxp.in.000.00.00.H41:2"
    decisions = {10: False, 14: True, 15: True, 20: False, 31: True}  # offset -> refused
    for offset, refused in decisions.items():
        assert s.replayed(src, offset) is None
        s.record(src, offset, refused)
    for offset, refused in decisions.items():
        assert s.replayed(src, offset) is refused
    assert s.replayed(src, 32) is None
    assert s.replayed("ndxp.in.000.00.00.H41:0", 10) is None
    assert s.data["r"][src] == [[14, 15], [31, 31]]  # consecutive refusals share a range


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0.01, 1000)),
            st.one_of(st.none(), st.integers(1, 20)),
            st.one_of(st.none(), st.integers(0, 30)),
            st.one_of(st.none(), st.floats(1, 1e7)),
            st.one_of(st.none(), st.integers(1, 10**7)),
        ),
        min_size=1,
        max_size=2,
    ),
    st.lists(
        st.tuples(
            st.integers(-5_000, 20_000_000),
            st.sampled_from([1, 1, 1, 2, 92]),
            st.integers(0, 5_000_000),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_admit_is_check_then_charge(
    specs: list[tuple[float | None, int | None, int | None, float | None, int | None]],
    steps: list[tuple[int, int, int]],
) -> None:
    """The router's one-pass admit gives the same decisions, refusals and state as check()
    followed by charge(), over bursts, refills, clocks going back, days turning, calls that
    cost more than one unit (documents) and byte buckets."""
    limits = [
        Limit(
            f"l{i}",
            Principal(),
            False,
            None if i else "svc",
            rate=r,
            burst=b,
            daily=d,
            bytes_rate=br,
            bytes_burst=bb if br is not None else None,
        )
        for i, (r, b, d, br, bb) in enumerate(specs)
    ]
    one, two = QuotaState(), QuotaState()
    now = T0
    for step, cost, size in steps:
        now += step
        expected = one.check(limits, now)
        if expected is None:
            one.charge(limits, now, cost, size)
        assert two.admit(limits, now, cost, size) == expected
        assert two.data == one.data
