"""``core/refusal_allowance.py``: refusals a member's ingress topic may cost the router before
its records wait."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pytest import approx

from ndxp.core.refusal_allowance import RefusalAllowance

TOPIC = "ndxp.in.000.00.00.H41"


def test_a_burst_at_first_then_the_topic_waits_until_the_allowance_is_back() -> None:
    a = RefusalAllowance(rate=100, burst=3)
    assert [a.spend(TOPIC, 10.0) for _ in range(3)] == [None, None, None]
    assert a.spend(TOPIC, 10.0) == approx(10.01)  # one overspent: a hundredth of a second
    assert a.spend(TOPIC, 10.0) == approx(10.02)  # each refusal past it lengthens the wait
    assert a.level(TOPIC, 10.02) == approx(0.0)
    assert a.spend(TOPIC, 10.031) is None  # refilled by one
    assert a.level(TOPIC, 1000.0) == 3  # never more than the burst


def test_each_topic_has_its_own() -> None:
    a = RefusalAllowance(rate=1, burst=1)
    assert a.spend(TOPIC, 0.0) is None
    assert a.spend(TOPIC, 0.0) == 1.0
    assert a.spend("ndxp.in.000.00.00.H40", 0.0) is None


def test_rate_zero_never_holds() -> None:
    a = RefusalAllowance(rate=0, burst=0)
    assert all(a.spend(TOPIC, 0.0) is None for _ in range(100_000))
    assert a.levels == {}


def test_a_clock_going_back_adds_nothing() -> None:
    a = RefusalAllowance(rate=10, burst=2)
    a.spend(TOPIC, 5.0)
    a.spend(TOPIC, 5.0)
    assert a.spend(TOPIC, 1.0) == approx(5.1)  # counted at the latest time seen, not refilled
    assert a.level(TOPIC, 1.0) == -1


@settings(max_examples=300, deadline=None)
@given(
    st.floats(0.5, 1000),
    st.integers(1, 500),
    st.lists(st.tuples(st.floats(0, 0.5), st.integers(1, 50)), min_size=1, max_size=200),
)
def test_refusals_let_through_keep_to_the_burst_and_the_rate(
    rate: float, burst: int, steps: list[tuple[float, int]]
) -> None:
    """A router refuses what it is handed while a topic is not held (and, once held, what was
    handed over before: ``overshoot`` at most each time). Over any run, what it refused is at
    most the burst, the rate times the time, and one overshoot."""
    overshoot = 50
    a = RefusalAllowance(rate, burst)
    now, held_until, refused = 0.0, 0.0, 0
    for gap, handed in steps:
        now += gap
        if now < held_until:
            continue
        for _ in range(min(handed, overshoot)):
            refused += 1
            until = a.spend(TOPIC, now)
            if until is not None:
                held_until = max(held_until, until)
        assert refused <= burst + rate * now + overshoot + 1e-6
