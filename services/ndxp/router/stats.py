"""The router's counters: on its health endpoint (JSON) and ``/metrics`` (Prometheus).

Per message (:meth:`RouterStats.on_routed`, :meth:`RouterStats.on_rejected`) the counting is
plain ints and :class:`~ndxp.metrics.Buckets` (see :mod:`ndxp.metrics` for the measured cost);
per run and per refusal, ``prometheus_client``'s metric objects. :class:`RouterCollector` turns
the plain counts into metric families at scrape time, with the values only readable then:
consumer lag (per partition, and per sender member: the sum over its ingress topic's
partitions), the registry version in force, delivery holes, quota changelog records.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram as PromHistogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from ndxp.core import wire
from ndxp.core.errors import RejectionCode
from ndxp.metrics import (
    LATENCY_BUCKETS,
    SIZE_BUCKETS,
    Buckets,
    Labels,
    exposition,
    lag_by_member,
)

_REGISTRY, _REGISTRY_HELP = "ndxp_router_registry", "The registry version in force (value 1)"
LagReader = Callable[[], Iterable[tuple[Labels, float]]]


@dataclass
class RouterStats:
    started_at: float = field(default_factory=time.time)
    routed: int = 0
    rehomed: int = 0  # requests written again on their client's home partition (home copies)
    rejected: Counter[str] = field(default_factory=Counter)
    last_message_at: float | None = None
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # per message, read by RouterCollector: routed by ingress topic; rejected by (code, topic)
        self.routed_by_topic: Counter[str] = Counter()
        self.rejected_by: Counter[tuple[str, str]] = Counter()
        self.in_router = Buckets(LATENCY_BUCKETS)
        self.watched: Watched | None = None
        m = self.metrics
        self.quota_refusals = PromCounter(
            "ndxp_router_quota_refusals",
            "Requests refused QUOTA_EXCEEDED, by limit",
            ("limit",),
            registry=m,
        )
        self._refused_by_limit: dict[str, Any] = {}  # each limit's child of quota_refusals
        self.processing = PromHistogram(
            "ndxp_router_processing_seconds",
            "Time an agent spends on one run of records (one record in events delivery)",
            ("stage",),
            registry=m,
            buckets=LATENCY_BUCKETS,
        )
        self.run_records = PromHistogram(
            "ndxp_router_run_records",
            "Records in each run an agent processed (a partition's part of one fetch)",
            ("stage",),
            registry=m,
            buckets=SIZE_BUCKETS,
        )
        self.markers = PromCounter(
            "ndxp_router_transaction_markers",
            "Transaction markers (control records of a transactional sender) passed over, by topic",
            ("topic",),
            registry=m,
        )
        self.refusal_holds = PromCounter(
            "ndxp_router_refusal_holds",
            "Times a sender member's records were held on the broker, its refusals' allowance "
            "spent (ndxp.core.refusal_allowance)",
            ("member",),
            registry=m,
        )
        m.register(RouterCollector(self))

    def watch(
        self,
        lag: LagReader,
        registry_version: Callable[[], str],
        holes: Callable[[], int],
        changelog_records: Callable[[], int],
    ) -> None:
        """Values read at scrape time."""
        self.watched = Watched(lag, registry_version, holes, changelog_records)

    def on_run(self, records: int, seconds: float, stage: str) -> None:
        self.processing.labels(stage).observe(seconds)
        self.run_records.labels(stage).observe(records)

    def on_routed(self, topic: str, received_ms: int | None) -> None:
        """A message routed: ``received_ms`` is its time of receipt (the broker's
        LogAppendTime on the ingress topic; the router's clock on a topic not yet set)."""
        self.routed += 1
        now = time.time()
        self.last_message_at = now
        self.routed_by_topic[topic] += 1
        if received_ms is not None:
            self.in_router.observe(max(0.0, now - received_ms / 1000))

    def on_marker(self, topic: str) -> None:
        """A transaction marker (a control record) passed over on ``topic``."""
        self.markers.labels(topic).inc()

    def on_rehomed(self) -> None:
        """A request under a limit written again on its client's home partition."""
        self.rehomed += 1

    def on_rejected(self, code: RejectionCode, topic: str, limit: str | None = None) -> None:
        self.rejected[code.value] += 1
        self.last_message_at = time.time()
        self.rejected_by[(code.value, topic)] += 1
        if limit is not None:  # the registry's limits: a few children, each looked up once
            child = self._refused_by_limit.get(limit)
            if child is None:
                child = self._refused_by_limit[limit] = self.quota_refusals.labels(limit)
            child.inc()

    def on_held(self, topic: str) -> None:
        """``topic``'s records held: its sender's refusals spent their allowance."""
        self.refusal_holds.labels(member_of(topic)).inc()

    def exposition(self) -> bytes:
        """``/metrics``: the text format 0.0.4 (:data:`ndxp.metrics.CONTENT_TYPE`)."""
        return exposition(self.metrics)

    def snapshot(self) -> dict[str, Any]:
        return {
            "routed": self.routed,
            "rehomed": self.rehomed,
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "uptime_s": round(time.time() - self.started_at, 1),
            "last_message_at": self.last_message_at,
        }


@dataclass(frozen=True, slots=True)
class Watched:
    """What the app lets the stats read at scrape time."""

    lag: LagReader  # ((topic, partition), messages behind) per assigned partition
    registry_version: Callable[[], str]
    holes: Callable[[], int]
    changelog_records: Callable[[], int]


class RouterCollector:
    """The router's scrape-time metric families (a ``prometheus_client`` custom collector)."""

    def __init__(self, stats: RouterStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        messages = CounterMetricFamily(
            "ndxp_router_messages",
            "Messages decided, by outcome (routed, rejected), rejection code and sender member",
            labels=("outcome", "code", "member"),
        )
        for topic, n in s.routed_by_topic.items():
            messages.add_metric(("routed", "", member_of(topic)), n)
        for (code, topic), n in s.rejected_by.items():
            messages.add_metric(("rejected", code, member_of(topic)), n)
        yield messages
        yield CounterMetricFamily(
            "ndxp_router_rehomed",
            "Requests under a limit written again on their client's home partition (they "
            "arrived on another: the sender does not key requests by the client id)",
            value=s.rehomed,
        )
        yield s.in_router.family(
            "ndxp_router_receipt_to_route_seconds",
            "From a message's time of receipt (the broker's append time on its ingress topic) "
            "to its routing: waiting in the topic, the router's work, and a home copy's pass",
        )
        yield from self._watched()

    def _watched(self) -> Iterator[Metric]:
        by_partition = GaugeMetricFamily(
            "ndxp_router_consumer_lag_records",
            "Messages not yet processed, per assigned partition (high watermark - next offset)",
            labels=("topic", "partition"),
        )
        by_member = GaugeMetricFamily(
            "ndxp_router_member_lag_records",
            "Messages not yet processed, per sender member (its ingress topic's partitions "
            "assigned to this worker)",
            labels=("member",),
        )
        holes = CounterMetricFamily(
            "ndxp_router_delivery_holes",
            "Times Faust skipped messages and the router sought back (ndxp.router.in_order)",
        )
        changelog = CounterMetricFamily(
            "ndxp_router_quota_changelog_records",
            "Quota changelog records written (one per dirty client per commit)",
        )
        w = self.stats.watched
        if w is None:  # the names exist before the app is wired (a scrape, a test)
            yield from (by_partition, by_member, holes, changelog)
            yield InfoMetricFamily(_REGISTRY, _REGISTRY_HELP, labels=("version",))
            return
        lag = list(w.lag())
        for labels, behind in lag:
            by_partition.add_metric(labels, behind)
        for member, behind in sorted(lag_by_member(lag, wire.INGRESS_PREFIX).items()):
            by_member.add_metric((member,), behind)
        holes.add_metric((), w.holes())
        changelog.add_metric((), w.changelog_records())
        yield from (by_partition, by_member, holes, changelog)
        yield InfoMetricFamily(_REGISTRY, _REGISTRY_HELP, value={"version": w.registry_version()})


def member_of(topic: str) -> str:
    return topic[len(wire.INGRESS_PREFIX) :] if topic.startswith(wire.INGRESS_PREFIX) else topic
