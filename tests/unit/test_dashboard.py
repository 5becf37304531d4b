"""The Grafana dashboard is generated from infra/grafana/make_dashboard.py and queries only
metrics the router and the ledger export (their /metrics text with fed data, read back with
``prometheus_client``'s parser)."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

from ndxp.paths import REPO

from .test_metrics import ledger_text, router_text


def generator() -> ModuleType:
    path = REPO / "infra" / "grafana" / "make_dashboard.py"
    spec = importlib.util.spec_from_file_location("make_dashboard", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboard_is_up_to_date() -> None:
    board = generator().dashboard()
    committed = json.loads((REPO / "infra" / "grafana" / "ndxp-dashboard.json").read_text())
    assert committed == board, "run: python infra/grafana/make_dashboard.py"
    assert len(board["panels"]) >= 15


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    g = generator()
    queried = g.queried(g.dashboard())
    offered = g.offered(router_text()) | g.offered(ledger_text())
    assert {
        "ndxp_router_member_lag_records",
        "ndxp_ledger_member_lag_records",
        "ndxp_ledger_round_trip_seconds_bucket",
    } <= queried
    assert queried <= offered, sorted(queried - offered)


def test_the_check_sees_a_name_the_services_do_not_export() -> None:
    g = generator()
    board = g.dashboard()
    board["panels"][0]["targets"][0]["expr"] = "sum(rate(ndxp_router_end_to_end_seconds_count[1m]))"
    assert "ndxp_router_end_to_end_seconds_count" in g.queried(board)
    assert "ndxp_router_end_to_end_seconds_count" not in g.offered(router_text())
