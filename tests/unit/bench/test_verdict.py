"""What makes a capacity run fail."""

from __future__ import annotations

from ndxp.bench.verdict import problems


def test_a_clean_run_has_no_problems() -> None:
    assert problems({"many_agency": {"drains": [{"label": "a", "lost": 0, "duplicated": 0}]}}) == []


def test_each_kind_of_problem_is_named() -> None:
    rt = {"rate": 20.0, "not_answered": 1, "flood": {"sent": 10, "routed": 9}}
    found = problems(
        {
            "many_agency": {"drains": [{"label": "ndxp router", "lost": 1, "duplicated": 0}]},
            "day": {"lost": 0, "duplicated": 2},
            "neighbour": {"by_rate": [rt]},
            "failed": {"gateway": "RuntimeError: x\nmore"},
        }
    )
    assert found == [
        "ndxp router",
        "day",
        "neighbour at 20/s: 1 not answered",
        "neighbour: the flood's 1 notices neither routed nor refused",
        "gateway failed: RuntimeError: x",
    ]
