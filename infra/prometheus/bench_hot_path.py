"""What the metrics cost per message (router) and per row (ledger): ``prometheus_client``'s
metric objects against plain counting, and the services' own calls.

Run: ``.venv/bin/python infra/prometheus/bench_hot_path.py [calls]`` (default 1,000,000).
The router's labels: outcome, code, member (one of 10 sender members); each figure is the best
of five runs in CPU time, in ns per call, loop included (an empty loop is printed for reference).
``as before`` reproduces the hand-written exposition that ``ndxp.metrics`` replaced
(a dict of label tuples per counter, one bisect per observation).
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram as PromHistogram

from ndxp.core import wire
from ndxp.core.ledger import ROUTED_AT, ledger_row
from ndxp.ledger.sink_metrics import LedgerMetrics
from ndxp.metrics import LATENCY_BUCKETS, Buckets
from ndxp.router.stats import RouterStats

MEMBERS = [f"000.00.00.H{i:02d}" for i in range(41, 51)]
TOPICS = [wire.INGRESS_PREFIX + m for m in MEMBERS]


class AsBefore:
    """The hand-written counter and histogram ``ndxp.metrics`` had (their hot paths)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], float] = {}
        self.counts: dict[tuple[str, ...], list[int]] = {}
        self.sums: dict[tuple[str, ...], float] = {}
        self.routed = 0
        self.last_message_at = 0.0

    def inc(self, *labels: str) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + 1.0

    def observe(self, value: float, *labels: str) -> None:
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * (len(LATENCY_BUCKETS) + 1)
            self.sums[labels] = 0.0
        counts[bisect_left(LATENCY_BUCKETS, value)] += 1
        self.sums[labels] += value

    def on_routed(self, topic: str, received_ms: int) -> None:
        self.routed += 1
        now = time.time()
        self.last_message_at = now
        member = topic[len(wire.INGRESS_PREFIX) :]
        self.inc("routed", "", member)
        self.observe(max(0.0, now - received_ms / 1000))


def best(n: int, fn: Callable[[int], None]) -> float:
    """ns per call, the best of five runs in this process's CPU time (other processes on a
    shared machine inflate wall-clock time, not this)."""
    runs = []
    for _ in range(5):
        t0 = time.process_time()
        fn(n)
        runs.append(time.process_time() - t0)
    return min(runs) / n * 1e9


def router(n: int) -> dict[str, float]:
    registry = CollectorRegistry()
    counter = PromCounter("x", "x", ("outcome", "code", "member"), registry=registry)
    histogram = PromHistogram("h_seconds", "h", registry=registry, buckets=LATENCY_BUCKETS)
    children = {m: counter.labels("routed", "", m) for m in MEMBERS}
    plain: Counter[str] = Counter()
    buckets = Buckets(LATENCY_BUCKETS)
    before = AsBefore()
    stats = RouterStats()
    received = int(time.time() * 1000)

    def empty(n: int) -> None:
        for i in range(n):
            MEMBERS[i % 10]

    def labels_inc(n: int) -> None:
        for i in range(n):
            counter.labels("routed", "", MEMBERS[i % 10]).inc()

    def child_inc(n: int) -> None:
        for i in range(n):
            children[MEMBERS[i % 10]].inc()

    def plain_inc(n: int) -> None:
        for i in range(n):
            plain[TOPICS[i % 10]] += 1

    def before_inc(n: int) -> None:
        for i in range(n):
            before.inc("routed", "", MEMBERS[i % 10])

    def prom_observe(n: int) -> None:
        for _ in range(n):
            histogram.observe(0.003)

    def buckets_observe(n: int) -> None:
        for _ in range(n):
            buckets.observe(0.003)

    def before_observe(n: int) -> None:
        for _ in range(n):
            before.observe(0.003)

    def before_on_routed(n: int) -> None:
        for i in range(n):
            before.on_routed(TOPICS[i % 10], received)

    def prom_on_routed(n: int) -> None:  # the same with prometheus_client's objects
        for i in range(n):
            before.routed += 1
            now = time.time()
            before.last_message_at = now
            counter.labels("routed", "", TOPICS[i % 10][len(wire.INGRESS_PREFIX) :]).inc()
            histogram.observe(max(0.0, now - received / 1000))

    def on_routed(n: int) -> None:
        for i in range(n):
            stats.on_routed(TOPICS[i % 10], received)

    return {
        "empty loop": best(n, empty),
        "prometheus_client Counter.labels(outcome, code, member).inc()": best(n, labels_inc),
        "prometheus_client cached child .inc()": best(n, child_inc),
        "plain Counter[topic] += 1 (RouterStats)": best(n, plain_inc),
        "as before: hand-written Counter.inc(outcome, code, member)": best(n, before_inc),
        "prometheus_client Histogram.observe()": best(n, prom_observe),
        "ndxp.metrics.Buckets.observe()": best(n, buckets_observe),
        "as before: hand-written Histogram.observe()": best(n, before_observe),
        "as before: RouterStats.on_routed()": best(n, before_on_routed),
        "RouterStats.on_routed() with prometheus_client's Counter and Histogram": best(
            n, prom_on_routed
        ),
        "RouterStats.on_routed()": best(n, on_routed),
    }


def ledger(rows_per_batch: int = 20_000) -> dict[str, float]:
    """``LedgerMetrics.on_batch`` per row: half requests, half their responses."""
    t = int(time.time() * 1000)
    rows = []
    for i in range(rows_per_batch // 2):
        for kind, corr in (("request", None), ("response", f"m{i}")):
            headers = [
                (wire.H_ID, f"m{i}" if corr is None else f"r{i}"),
                (wire.H_KIND, kind),
                (wire.H_CLIENT, f"VN:GOV:{MEMBERS[i % 10]}:motcua"),
                (wire.H_SERVICE, "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
                *([(wire.H_CORRELATION_ID, corr)] if corr else []),
                (wire.H_ROUTED_AT, str(t + 20)),
            ]
            encoded = [(k, v.encode()) for k, v in headers]
            row = ledger_row("ndxp.out.000.00.01.G01", 0, i, t, b"{}", encoded)
            assert row is not None
            rows.append(row)
    metrics = LedgerMetrics(list)
    before = AsBefore()

    def on_batch(_: int) -> None:
        metrics.on_batch(rows, len(rows), 0, 0, 0.1, t + 500)

    def as_before(_: int) -> None:
        for row in rows:
            before.observe(max(0.0, t + 500 - row[ROUTED_AT]) / 1000)

    n = len(rows)
    return {
        "as before: freshness per row": best(n, lambda _: as_before(n)),
        "LedgerMetrics.on_batch per row (freshness + round trips)": best(n, lambda _: on_batch(n)),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for name, ns in {**router(n), **ledger()}.items():
        print(f"{ns:8.0f} ns  {name}")


if __name__ == "__main__":
    main()
