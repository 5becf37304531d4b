"""The stress profile's verdict on a step when a share of the calls are one-way notices."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from ndxp.core import traffic
from ndxp.paths import REPO

sys.path.insert(0, str(REPO / "loadtest"))

from profiles import Step, Stress


def totals(requests: int) -> SimpleNamespace:
    """Locust's running totals: ``requests`` answered, each in 20 ms."""
    return SimpleNamespace(num_requests=requests, num_failures=0, response_times={20: requests})


def test_a_step_is_judged_on_the_calls_that_expect_an_answer() -> None:
    """At 100 calls/s with 10.5 % notices, 89.5 answers/s is the whole load answered; without
    notices it is a router falling behind."""
    step = Step(target=100.0, started=0.0, requests=0, failures=0, times={})
    answered = totals(int(100 * (1 - traffic.NOTICE_SHARE) * 20))  # 20 s of answers
    with_notices = Stress(60, 1.0, None, answered_share=1 - traffic.NOTICE_SHARE)
    assert with_notices._judge(step, 20.0, answered)["ok"]
    only_requests = Stress(60, 1.0, None)
    verdict = only_requests._judge(step, 20.0, answered)
    assert not verdict["ok"] and "under 90%" in verdict["broken_by"][0]
    assert not with_notices._judge(step, 20.0, totals(1500))["ok"]  # 75/s of 89.5 due
