"""What SREs watch: /metrics (Prometheus text) and health that says "caught up"."""

from __future__ import annotations

import time
import urllib.request
import uuid

import pytest

from .conftest import Broker
from .kafka_tools import LedgerProcess, RouterProcess, producer, request, send

pytestmark = pytest.mark.integration

IN_G05 = "ndxp.in.000.00.00.G05"  # a ministry no other test sends as
CLIENT = "VN:GOV:000.00.00.G05:lgsp"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def value(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_metrics_count_what_was_routed_and_rejected(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    before = scrape(router.web_port)
    family = "ndxp_router_messages_total"
    routed_key = f'{family}{{outcome="routed",code="",member="000.00.00.G05"}}'
    refused_key = f'{family}{{outcome="rejected",code="UNKNOWN_SERVICE",member="000.00.00.G05"}}'
    p = producer(kafka.bootstrap)
    run = uuid.uuid4().hex[:8]
    for i in range(20):
        send(p, IN_G05, request(f"{run}-{i}", CLIENT, POP), key=CLIENT.encode())
    for i in range(3):
        send(p, IN_G05, request(f"{run}-x{i}", CLIENT, POP + "-nope"), key=CLIENT.encode())
    p.flush(10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = scrape(router.web_port)
        if (
            value(after, routed_key) - value(before, routed_key) >= 20
            and value(after, refused_key) - value(before, refused_key) >= 3
        ):
            break
        time.sleep(0.5)
    assert value(after, routed_key) - value(before, routed_key) == 20
    assert value(after, refused_key) - value(before, refused_key) == 3
    for name in (
        "ndxp_router_consumer_lag{",
        "ndxp_router_processing_seconds_bucket{",
        "ndxp_router_end_to_end_seconds_count",
        "ndxp_router_registry_info{",
    ):
        assert name in after, name
    health = router.health() or {}
    assert health["caught_up"] is True and health["lag"] == 0
    # the ledger: rows, insert latency, freshness, lag
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = scrape(ledger.web_port)
        if value(text, 'ndxp_ledger_rows_total{fate="inserted"}') > 0:
            break
        time.sleep(0.5)
    for name in (
        "ndxp_ledger_batch_rows_bucket{",
        "ndxp_ledger_insert_seconds_count",
        "ndxp_ledger_freshness_seconds_bucket{",
        "ndxp_ledger_consumer_lag{",
    ):
        assert name in text, name
    assert (ledger.health() or {}).get("caught_up") is True
