"""Load profiles: how many requests per second, over time.

- ``steady``: the published national average, 1.5 M transactions a day ≈ 17.4 tx/s.
- ``workday``: the same daily total, concentrated in office hours with a morning peak; the day
  is compressed into the run's duration.
- ``peak``: 10× steady.
- ``stress``: ramps up step by step until a service level objective breaks — p99 round trip
  over ``NDXP_SLO_P99_MS`` (1000), more than 1 % failures, or answers falling behind (under
  90 % of the target rate: lag growing) — then stops and reports the highest rate sustained.

A rate becomes users at ``user_rate`` requests per second each (Locust's constant throughput).
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NATIONAL_DAILY = 1_500_000
STEADY_TPS = NATIONAL_DAILY / 86_400  # 17.36

# Relative load per hour of a Vietnamese working day (offices open 7:30–17:00; a morning peak,
# a lunch dip, a smaller afternoon peak; little at night).
WORKDAY_HOURS = (
    0.1, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 1.0, 2.6, 3.2, 2.8, 2.2,
    0.9, 1.6, 2.4, 2.3, 1.8, 0.8, 0.4, 0.25, 0.2, 0.2, 0.15, 0.1,
)  # fmt: skip


def workday_rate(fraction_of_day: float) -> float:
    """Requests per second at this point of the day, averaging STEADY_TPS over the day."""
    hour = min(23, int(fraction_of_day * 24))
    mean = sum(WORKDAY_HOURS) / 24
    return STEADY_TPS * WORKDAY_HOURS[hour] / mean


# The document axis at 10× its busiest month (issue 14): the synthetic history's busiest month
# (ndxp.ledger.history, 960,000 documents sent + received, 24 % of them sent) times ten, over
# 22 working days, at the workday's peak hour (13.4 % of a day): ≈ 3.9 documents a second,
# ≈ 12 deliveries (3.16 receivers each).
DOCUMENTS_BUSIEST_MONTH_SENT = 960_000 * 111_456 / 463_910
DOCUMENTS_PEAK_TPS = (
    10 * DOCUMENTS_BUSIEST_MONTH_SENT / 22 * max(WORKDAY_HOURS) / sum(WORKDAY_HOURS) / 3600
)


def users_for(rate: float, user_rate: float) -> int:
    return max(1, math.ceil(rate / user_rate))


@dataclass
class Fixed:
    """A rate that follows a function of the run's progress (0..1)."""

    name: str
    duration_s: float
    user_rate: float
    rate_at: Any  # Callable[[float], float]

    def tick(self, run_time: float, runner: Any) -> tuple[int, float] | None:
        if run_time >= self.duration_s:
            return None
        users = users_for(self.rate_at(run_time / self.duration_s), self.user_rate)
        return users, float(max(users, 10))


@dataclass
class Step:
    target: float
    started: float
    requests: int
    failures: int
    times: dict[int, int]


@dataclass
class Stress:
    """Steps of ``step_s`` seconds, each ``factor`` times the last, from ``start`` tx/s."""

    duration_s: float
    user_rate: float
    out: str | None
    start: float = 50.0
    factor: float = 1.5
    step_s: float = 20.0
    warmup_s: float = 5.0
    slo_p99_ms: float = 1000.0
    # the share of the target's calls that are answered (and so in Locust's statistics): the
    # rest are one-way notices (loadtest/locustfile.py: 1 - traffic.NOTICE_SHARE)
    answered_share: float = 1.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    current: Step | None = None
    done: bool = False

    def tick(self, run_time: float, runner: Any) -> tuple[int, float] | None:
        if self.done:
            return None
        total = runner.stats.total
        if self.current is None:
            self.current = Step(self.start, run_time + self.warmup_s, 0, 0, {})
        step = self.current
        if run_time < step.started:  # warming up: the window opens after the warmup
            step.requests, step.failures = total.num_requests, total.num_failures
            step.times = dict(total.response_times)
        elif run_time >= step.started + self.step_s or run_time >= self.duration_s:
            verdict = self._judge(step, run_time, total)
            self.steps.append(verdict)
            print(_line(verdict), file=sys.stderr, flush=True)
            if not verdict["ok"] or run_time >= self.duration_s:
                self._finish()
                return None
            nxt = step.target * self.factor
            self.current = Step(nxt, run_time + self.warmup_s, 0, 0, {})
        users = users_for(self.current.target, self.user_rate)
        return users, float(max(users, 10))

    def _judge(self, step: Step, run_time: float, total: Any) -> dict[str, Any]:
        window = max(0.001, run_time - step.started)
        answered = total.num_requests - step.requests
        failed = total.num_failures - step.failures
        times = {
            k: v - step.times.get(k, 0)
            for k, v in total.response_times.items()
            if v - step.times.get(k, 0) > 0
        }
        p99 = _percentile(times, 0.99)
        p50 = _percentile(times, 0.50)
        rate = answered / window
        reasons = []
        if p99 > self.slo_p99_ms:
            reasons.append(f"p99 {p99:.0f} ms > {self.slo_p99_ms:.0f} ms")
        if answered and failed / answered > 0.01:
            reasons.append(f"{failed / answered:.1%} failures")
        due = step.target * self.answered_share  # calls that expect an answer
        if rate < 0.9 * due:
            reasons.append(f"answers at {rate:.0f}/s, under 90% of {due:.0f}/s")
        return {
            "target_tps": round(step.target, 1),
            "answered_tps": round(rate, 1),
            "p50_ms": p50,
            "p99_ms": p99,
            "failures": failed,
            "ok": not reasons,
            "broken_by": reasons,
        }

    def _finish(self) -> None:
        self.done = True
        passed = [s for s in self.steps if s["ok"]]
        result = {
            "highest_sustained_tps": max((s["answered_tps"] for s in passed), default=0.0),
            "slo": {"p99_ms": self.slo_p99_ms, "failures": 0.01, "answers_vs_target": 0.9},
            "steps": self.steps,
        }
        print(
            f"stress: highest sustained {result['highest_sustained_tps']:.0f} tx/s",
            file=sys.stderr,
            flush=True,
        )
        if self.out:
            Path(self.out).mkdir(parents=True, exist_ok=True)
            (Path(self.out) / "stress.json").write_text(json.dumps(result, indent=2))
        return None


def _percentile(times: dict[int, int], q: float) -> float:
    n = sum(times.values())
    if not n:
        return 0.0
    seen = 0
    for t in sorted(times):
        seen += times[t]
        if seen >= q * n:
            return float(t)
    return float(max(times))


def _line(v: dict[str, Any]) -> str:
    state = "ok" if v["ok"] else "BROKEN: " + "; ".join(v["broken_by"])
    return (
        f"stress: target {v['target_tps']:.0f}/s answered {v['answered_tps']:.0f}/s "
        f"p50 {v['p50_ms']:.0f} ms p99 {v['p99_ms']:.0f} ms — {state}"
    )


def shape_for(
    name: str, duration_s: float, user_rate: float, out: str | None, answered_share: float = 1.0
) -> Any:
    if name == "steady":
        return Fixed(name, duration_s, user_rate, lambda _f: STEADY_TPS)
    if name == "peak":
        return Fixed(name, duration_s, user_rate, lambda _f: 10 * STEADY_TPS)
    if name == "workday":
        return Fixed(name, duration_s, user_rate, workday_rate)
    if name == "documents":
        return Fixed(name, duration_s, user_rate, lambda _f: DOCUMENTS_PEAK_TPS)
    if name == "stress":
        slo = float(os.environ.get("NDXP_SLO_P99_MS", "1000"))
        start = float(os.environ.get("NDXP_STRESS_START_TPS", "50"))
        step = float(os.environ.get("NDXP_STRESS_STEP_S", "20"))
        return Stress(
            duration_s,
            user_rate,
            out,
            start=start,
            step_s=step,
            slo_p99_ms=slo,
            answered_share=answered_share,
        )
    raise SystemExit(f"unknown profile {name!r}: steady, workday, peak, stress or documents")
