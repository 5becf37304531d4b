"""Prometheus metrics without a dependency: counters, gauges and histograms with labels,
rendered in the text exposition format (version 0.0.4) for a ``/metrics`` endpoint.

Single-threaded use (one asyncio loop per service); collectors run at scrape time for values
that are cheaper to read than to maintain (consumer lag).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

Labels = tuple[str, ...]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 10, 100, 500, 1000, 5000, 10_000, 20_000, 50_000)


class Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)

    def samples(self) -> Iterable[tuple[str, Labels, float]]:
        raise NotImplementedError

    def _labels(self, values: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
        pairs = [*zip(self.label_names, values, strict=True), *extra]
        if not pairs:
            return ""
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
        return "{" + inner + "}"


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self.values: dict[Labels, float] = {}

    def inc(self, *labels: str, by: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + by

    def samples(self) -> Iterable[tuple[str, Labels, float]]:
        for labels, value in self.values.items():
            yield self.name, labels, value


class Gauge(Metric):
    kind = "gauge"

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        collect: Callable[[], Iterable[tuple[Labels, float]]] | None = None,
    ) -> None:
        super().__init__(name, help_text, label_names)
        self.values: dict[Labels, float] = {}
        self.collect = collect

    def set(self, value: float, *labels: str) -> None:
        self.values[labels] = value

    def samples(self) -> Iterable[tuple[str, Labels, float]]:
        if self.collect is not None:
            self.values = dict(self.collect())
        for labels, value in self.values.items():
            yield self.name, labels, value


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, label_names)
        self.buckets = tuple(buckets)
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * (len(self.buckets) + 1)
            self.sums[labels] = 0.0
        counts[bisect_left(self.buckets, value)] += 1
        self.sums[labels] += value

    def samples(self) -> Iterable[tuple[str, Labels, float]]:
        raise NotImplementedError  # rendered by render(): buckets carry an extra label

    def render(self) -> list[str]:
        lines = []
        for labels, counts in self.counts.items():
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = "+Inf" if bound == math.inf else _number(bound)
                lines.append(f"{self.name}_bucket{self._labels(labels, (('le', le),))} {running}")
            lines.append(f"{self.name}_sum{self._labels(labels)} {_number(self.sums[labels])}")
            lines.append(f"{self.name}_count{self._labels(labels)} {running}")
        return lines


class Metrics:
    """The metrics of one service."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    def add(self, metric: Metric) -> Metric:
        self.metrics.append(metric)
        return metric

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        return self.add(Counter(name, help_text, labels))  # type: ignore[return-value]

    def gauge(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        collect: Callable[[], Iterable[tuple[Labels, float]]] | None = None,
    ) -> Gauge:
        return self.add(Gauge(name, help_text, labels, collect))  # type: ignore[return-value]

    def histogram(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return self.add(Histogram(name, help_text, labels, buckets))  # type: ignore[return-value]

    def render(self) -> str:
        lines: list[str] = []
        for m in self.metrics:
            lines.append(f"# HELP {m.name} {m.help}")
            lines.append(f"# TYPE {m.name} {m.kind}")
            if isinstance(m, Histogram):
                lines.extend(m.render())
                continue
            for name, labels, value in m.samples():
                lines.append(f"{name}{m._labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4"  # UTF-8, the default


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
