"""The Grafana dashboard is generated from infra/grafana/make_dashboard.py and uses only
metrics the router and the ledger export."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

from ndxp.ledger.sink import LedgerSink
from ndxp.paths import REPO
from ndxp.router.stats import RouterStats
from ndxp.settings import LedgerSettings


def exported() -> set[str]:
    stats = RouterStats()
    stats.watch(lambda: [], lambda: "v", lambda: 0, lambda: 0)
    sink = LedgerSink(LedgerSettings(), None, None)  # type: ignore[arg-type]
    names = set()
    for metrics in (stats.metrics, sink.metrics):
        for m in metrics.metrics:
            names.add(m.name)
            if m.kind == "histogram":
                names |= {f"{m.name}_bucket", f"{m.name}_sum", f"{m.name}_count"}
    return names


def generator() -> Any:
    path = REPO / "infra" / "grafana" / "make_dashboard.py"
    spec = importlib.util.spec_from_file_location("make_dashboard", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboard_uses_only_exported_metrics_and_is_up_to_date() -> None:
    board = generator().dashboard()
    committed = json.loads((REPO / "infra" / "grafana" / "ndxp-dashboard.json").read_text())
    assert committed == board, "run: python infra/grafana/make_dashboard.py"
    used = {
        name
        for p in board["panels"]
        for t in p["targets"]
        for name in re.findall(r"\b(ndxp_[a-z_]+)", t["expr"])
    }
    assert used and used <= exported(), used - exported()
    assert len(board["panels"]) >= 10
