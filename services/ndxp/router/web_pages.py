"""The router's web server serves ndxp's own pages only (``/health``, ``/metrics``).

faust-streaming 0.15.3 mounts built-in views beside an app's own pages unless told not to:
``/table/`` lists the app's tables and reads their keys over HTTP (the quota counters),
``/router/`` tells which worker owns a key and the URLs of every other worker, and with
``debug`` ``/`` (sensor statistics), ``/assignment/`` and ``/graph``; ``/performance/`` is
opt-in. Each has a public setting of its own since 0.15.0 (``web_tables_enabled`` …), so
no private internals are touched; with all of them off ``/`` answers ``{"status": "OK"}``
(Faust's production index). ndxp uses no ``@table_route``, the one feature ``/router/``
serves. Measured on a Faust app's web server alone: ``/table/`` and ``/router/`` answer 200
with the defaults and 404 with these settings; ``/health`` answers 200 either way.
"""

from __future__ import annotations

from typing import Any

# faust.App(...) keyword settings, all public in faust-streaming >= 0.15.0
_BUILT_IN_VIEWS_OFF = {
    "web_tables_enabled": False,
    "web_router_enabled": False,
    "web_stats_enabled": False,
    "web_graph_enabled": False,
    "web_metrics_enabled": False,
}


def built_in_views_off() -> dict[str, Any]:
    """``faust.App`` settings that switch off every built-in web view; the app's own
    ``@app.page`` pages stay."""
    return dict(_BUILT_IN_VIEWS_OFF)
