"""The router's counters: on its health endpoint (JSON) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ndxp.core import wire
from ndxp.core.errors import RejectionCode
from ndxp.metrics import SIZE_BUCKETS, Labels, Metrics


@dataclass
class RouterStats:
    started_at: float = field(default_factory=time.time)
    routed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    last_message_at: float | None = None
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        m = self.metrics
        self.messages = m.counter(
            "ndxp_router_messages_total",
            "Messages decided, by outcome (routed, rejected), rejection code and sender member",
            ("outcome", "code", "member"),
        )
        self.quota_refusals = m.counter(
            "ndxp_router_quota_refusals_total",
            "Requests refused QUOTA_EXCEEDED, by limit",
            ("limit",),
        )
        self.processing = m.histogram(
            "ndxp_router_processing_seconds",
            "Time an agent spends on one run of records (one record in events delivery)",
            ("stage",),
        )
        self.run_records = m.histogram(
            "ndxp_router_run_records",
            "Records in each run an agent processed (a partition's part of one fetch)",
            ("stage",),
            buckets=SIZE_BUCKETS,
        )
        self.end_to_end = m.histogram(
            "ndxp_router_end_to_end_seconds",
            "From a message's production (its Kafka timestamp) to its routing",
        )

    def watch(
        self,
        lag: Callable[[], Iterable[tuple[Labels, float]]],
        registry_version: Callable[[], str],
        holes: Callable[[], int],
        changelog_records: Callable[[], int],
    ) -> None:
        """Values read at scrape time."""
        m = self.metrics
        m.gauge(
            "ndxp_router_consumer_lag",
            "Messages not yet processed, per assigned partition (high watermark - next offset)",
            ("topic", "partition"),
            lag,
        )
        m.gauge(
            "ndxp_router_registry_info",
            "The registry version in force (value 1)",
            ("version",),
            lambda: [((registry_version(),), 1.0)],
        )
        m.gauge(
            "ndxp_router_delivery_holes_total",
            "Times Faust skipped messages and the router sought back (ndxp.router.faust_fixes)",
            collect=lambda: [((), float(holes()))],
        )
        m.gauge(
            "ndxp_router_quota_changelog_records_total",
            "Quota changelog records written (one per dirty client per commit)",
            collect=lambda: [((), float(changelog_records()))],
        )

    def on_run(self, records: int, seconds: float, stage: str) -> None:
        self.processing.observe(seconds, stage)
        self.run_records.observe(records, stage)

    def on_routed(self, topic: str, produced_ms: int | None) -> None:
        self.routed += 1
        now = time.time()
        self.last_message_at = now
        self.messages.inc("routed", "", _member(topic))
        if produced_ms is not None:
            self.end_to_end.observe(max(0.0, now - produced_ms / 1000))

    def on_rejected(self, code: RejectionCode, topic: str, limit: str | None = None) -> None:
        self.rejected[code.value] += 1
        self.last_message_at = time.time()
        self.messages.inc("rejected", code.value, _member(topic))
        if limit is not None:
            self.quota_refusals.inc(limit)

    def snapshot(self) -> dict[str, Any]:
        return {
            "routed": self.routed,
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "uptime_s": round(time.time() - self.started_at, 1),
            "last_message_at": self.last_message_at,
        }


def _member(topic: str) -> str:
    return topic[len(wire.INGRESS_PREFIX) :] if topic.startswith(wire.INGRESS_PREFIX) else topic
