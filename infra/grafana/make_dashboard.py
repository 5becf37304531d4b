"""Writes infra/grafana/ndxp-dashboard.json: the SRE dashboard on the router's and the ledger's
Prometheus metrics (import it in Grafana; data source variable ``DS_PROMETHEUS``).
Run: ``python infra/grafana/make_dashboard.py``. A unit test checks every metric it uses exists.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).with_name("ndxp-dashboard.json")
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}


def quantile(q: float, metric: str, by: str = "le") -> str:
    return f"histogram_quantile({q}, sum by ({by}) (rate({metric}_bucket[1m])))"


E2E, PROC = "ndxp_router_end_to_end_seconds", "ndxp_router_processing_seconds"
RUN = "ndxp_router_run_records"
FRESH, INSERT = "ndxp_ledger_freshness_seconds", "ndxp_ledger_insert_seconds"
BATCH = "ndxp_ledger_batch_rows"

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
        "Router consumer lag (messages)",
        "short",
        [
            ("sum by (topic) (ndxp_router_consumer_lag)", "{{topic}}"),
        ],
        12,
    ),
    (
        "Ledger consumer lag (messages)",
        "short",
        [
            ("sum(ndxp_ledger_consumer_lag)", "ledger"),
        ],
        12,
    ),
    (
        "Produced → routed latency",
        "s",
        [
            (quantile(0.5, E2E), "p50"),
            (quantile(0.99, E2E), "p99"),
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
            ("sum(ndxp_router_delivery_holes_total)", "holes sought back"),
            ("sum(rate(ndxp_router_quota_changelog_records_total[1m]))", "changelog records/s"),
        ],
        12,
    ),
]


def panel(n: int, title: str, unit: str, targets: list[tuple[str, str]], width: int) -> dict:
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


def dashboard() -> dict:
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


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
