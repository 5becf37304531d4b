"""Writes infra/grafana/ndxp-dashboard.json: the SRE dashboard on the router's and the ledger's
Prometheus metrics (import it in Grafana; data source variable ``DS_PROMETHEUS``).
Run: ``python infra/grafana/make_dashboard.py``. Tests check that every metric it queries is in
the services' ``/metrics`` (tests/unit/test_dashboard.py with fed data,
tests/integration/test_observability.py on the running router and ledger).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

OUT = Path(__file__).with_name("ndxp-dashboard.json")
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def quantile(q: float, metric: str, by: str = "le", window: str = "1m") -> str:
    return f"histogram_quantile({q}, sum by ({by}) (rate({metric}_bucket[{window}])))"


IN_ROUTER, PROC = "ndxp_router_receipt_to_route_seconds", "ndxp_router_processing_seconds"
RUN = "ndxp_router_run_records"
FRESH, INSERT = "ndxp_ledger_freshness_seconds", "ndxp_ledger_insert_seconds"
BATCH = "ndxp_ledger_batch_rows"
TRIP = "ndxp_ledger_round_trip_seconds"

# (title, unit, [(expression, legend)], width)
PANELS = [
    (
        "Routed per second",
        "reqps",
        [
            ('sum(rate(ndxp_router_messages_total{outcome="routed"}[1m]))', "routed"),
            ('sum(rate(ndxp_router_messages_total{outcome="rejected"}[1m]))', "rejected"),
        ],
        12,
    ),
    (
        "Rejected per second, by code",
        "reqps",
        [
            (
                'sum by (code) (rate(ndxp_router_messages_total{outcome="rejected"}[1m]))',
                "{{code}}",
            ),
        ],
        12,
    ),
    (
        "Top senders (members)",
        "reqps",
        [
            ("topk(10, sum by (member) (rate(ndxp_router_messages_total[5m])))", "{{member}}"),
        ],
        12,
    ),
    (
        "Quota refusals per second, by limit",
        "reqps",
        [
            ("sum by (limit) (rate(ndxp_router_quota_refusals_total[1m]))", "{{limit}}"),
        ],
        12,
    ),
    (
        "Members held: refusals past their allowance (holds in 5 min)",
        "short",
        [
            ("sum by (member) (increase(ndxp_router_refusal_holds_total[5m]))", "{{member}}"),
        ],
        12,
    ),
    (
        "Router lag per sender member (messages)",
        "short",
        [
            ("topk(10, sum by (member) (ndxp_router_member_lag_records))", "{{member}}"),
            ("sum(ndxp_router_consumer_lag_records)", "all partitions"),
        ],
        12,
    ),
    (
        "Ledger lag per egress member (messages)",
        "short",
        [
            ("topk(10, sum by (member) (ndxp_ledger_member_lag_records))", "{{member}}"),
            ("sum(ndxp_ledger_consumer_lag_records)", "all partitions"),
        ],
        12,
    ),
    (
        "Round trip: request received → response routed",
        "s",
        [
            (quantile(0.5, TRIP), "p50"),
            (quantile(0.9, TRIP), "p90"),
            (quantile(0.99, TRIP), "p99"),
        ],
        12,
    ),
    (
        "Round trip p99 by client member (slowest 10)",
        "s",
        [
            (f"topk(10, {quantile(0.99, TRIP, 'le, member', '5m')})", "{{member}}"),
        ],
        12,
    ),
    (
        "Round trips completed and requests given up",
        "short",
        [
            (f"sum(rate({TRIP}_count[1m]))", "round trips/s"),
            (
                "sum by (reason) (rate(ndxp_ledger_round_trip_dropped_requests_total[5m]))",
                "given up/s ({{reason}})",
            ),
            (
                'sum(ndxp_ledger_round_trip_waiting_records{table="waiting"})',
                "requests waiting",
            ),
        ],
        12,
    ),
    (
        "Receipt → routed (waiting in the ingress topic + the router)",
        "s",
        [
            (quantile(0.5, IN_ROUTER), "p50"),
            (quantile(0.99, IN_ROUTER), "p99"),
        ],
        12,
    ),
    (
        "Router processing time per run of records",
        "s",
        [
            (quantile(0.99, PROC, "le, stage"), "p99 {{stage}}"),
        ],
        12,
    ),
    (
        "Records per run (batching at work)",
        "short",
        [
            (quantile(0.5, RUN, "le, stage"), "p50 {{stage}}"),
            (quantile(0.99, RUN, "le, stage"), "p99 {{stage}}"),
        ],
        12,
    ),
    (
        "Ledger freshness (routed → in the ledger)",
        "s",
        [
            (quantile(0.5, FRESH), "p50"),
            (quantile(0.99, FRESH), "p99"),
        ],
        12,
    ),
    (
        "Ledger inserts",
        "short",
        [
            ('sum(rate(ndxp_ledger_rows_total{fate="inserted"}[1m]))', "rows/s inserted"),
            ('sum(rate(ndxp_ledger_rows_total{fate="duplicate"}[1m]))', "rows/s skipped (replays)"),
            (f"sum(rate({BATCH}_sum[1m])) / sum(rate({BATCH}_count[1m]))", "rows per batch"),
            (quantile(0.99, INSERT) + " * 1000", "insert p99 (ms)"),
        ],
        12,
    ),
    (
        "Registry version in force",
        "short",
        [
            ("ndxp_router_registry_info", "{{version}} ({{instance}})"),
        ],
        12,
    ),
    (
        "Delivery repairs and quota changelog",
        "short",
        [
            ("sum(increase(ndxp_router_delivery_holes_total[5m]))", "holes sought back (5 min)"),
            ("sum(rate(ndxp_router_quota_changelog_records_total[1m]))", "changelog records/s"),
        ],
        12,
    ),
]


def panel(
    n: int, title: str, unit: str, targets: list[tuple[str, str]], width: int
) -> dict[str, Any]:
    return {
        "id": n + 1,
        "type": "timeseries",
        "title": title,
        "datasource": DS,
        "gridPos": {"h": 8, "w": width, "x": (n % 2) * 12, "y": (n // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, Any]:
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "title": "ndxp — router and ledger",
        "uid": "ndxp-overview",
        "tags": ["ndxp", "kafka"],
        "timezone": "Asia/Ho_Chi_Minh",
        "schemaVersion": 39,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": [panel(n, *p) for n, p in enumerate(PANELS)],
    }


def queried(board: dict[str, Any]) -> set[str]:
    """The metric names the dashboard's PromQL expressions query (every ``ndxp_…`` word: the
    services' metrics all start so, and no function, label or keyword does)."""
    return {
        name
        for p in board["panels"]
        for t in p["targets"]
        for name in re.findall(r"\b(ndxp_[a-zA-Z0-9_]+)", t["expr"])
    }


def offered(exposition: str) -> set[str]:
    """The series names a ``/metrics`` text offers, parsed by ``prometheus_client``: each
    family's samples, and the names its type promises even before it has a sample (a counter's
    ``_total``, a histogram's ``_bucket``, ``_sum``, ``_count``)."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {sample.name for sample in family.samples}
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count")}
        else:
            names.add(family.name)
    return names


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
