"""What SREs watch: /metrics (Prometheus text, read back with ``prometheus_client``'s parser)
on the running router and ledger, the dashboard's metrics among them, round trips seen by the
ledger, and health that says "caught up"."""

from __future__ import annotations

import importlib.util
import time
import urllib.request
import uuid
from collections.abc import Callable
from types import ModuleType

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ndxp.core.ticket import Tickets
from ndxp.paths import REPO

from .conftest import Broker
from .kafka_tools import LedgerProcess, RouterProcess, group_tickets, producer, request, send

pytestmark = pytest.mark.integration

IN_G05 = "ndxp.in.000.00.00.G05"  # a ministry no other test sends as
IN_G01 = "ndxp.in.000.00.01.G01"  # the population database: POP's provider
CLIENT = "VN:GOV:000.00.00.G05:lgsp"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
G05 = "000.00.00.G05"


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return str(r.read().decode())


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def has(text: str, name: str, **labels: str) -> bool:
    return any(
        s.name == name and labels.items() <= s.labels.items()
        for f in text_string_to_metric_families(text)
        for s in f.samples
    )


def wait_for(port: int, done: Callable[[str], bool], seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        text = scrape(port)
        if done(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def generator() -> ModuleType:
    path = REPO / "infra" / "grafana" / "make_dashboard.py"
    spec = importlib.util.spec_from_file_location("make_dashboard", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def response(mid: str, correlation: str, tickets: Tickets) -> list[tuple[str, bytes]]:
    """The provider's answer, with the ticket of the request it answers (ndxp.core.ticket)."""
    return [
        (k, v.encode())
        for k, v in [
            ("ndxp-id", mid),
            ("ndxp-kind", "response"),
            ("ndxp-client", CLIENT),
            ("ndxp-service", POP),
            ("ndxp-correlation-id", correlation),
            ("ndxp-ticket", tickets.stamp(CLIENT, POP, correlation).decode()),
        ]
    ]


def test_metrics_count_what_was_routed_and_rejected(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    before = scrape(router.web_port)
    routed = {"name": "ndxp_router_messages_total", "outcome": "routed", "member": G05}
    refused = {
        "name": "ndxp_router_messages_total",
        "outcome": "rejected",
        "code": "UNKNOWN_SERVICE",
        "member": G05,
    }
    p = producer(kafka.bootstrap)
    run = uuid.uuid4().hex[:8]
    for i in range(20):
        send(p, IN_G05, request(f"{run}-{i}", CLIENT, POP), key=CLIENT.encode())
    for i in range(3):
        send(p, IN_G05, request(f"{run}-x{i}", CLIENT, POP + "-nope"), key=CLIENT.encode())
    p.flush(10)

    def delta(text: str, query: dict[str, str]) -> float:
        return value(text, **query) - value(before, **query)

    after = wait_for(router.web_port, lambda t: delta(t, routed) >= 20 and delta(t, refused) >= 3)
    assert delta(after, routed) == 20
    assert delta(after, refused) == 3
    assert has(after, "ndxp_router_consumer_lag_records", topic=IN_G05)
    assert has(after, "ndxp_router_member_lag_records", member=G05)
    assert value(after, "ndxp_router_receipt_to_route_seconds_count") >= 20
    assert has(after, "ndxp_router_processing_seconds_bucket", stage="route")
    assert has(after, "ndxp_router_registry_info")
    health = router.health() or {}
    assert health["caught_up"] is True and health["lag"] == 0
    # the ledger: rows, insert latency, freshness, lag
    text = wait_for(
        ledger.web_port, lambda t: value(t, "ndxp_ledger_rows_total", fate="inserted") > 0
    )
    for name in (
        "ndxp_ledger_batch_rows_bucket",
        "ndxp_ledger_insert_seconds_count",
        "ndxp_ledger_freshness_seconds_bucket",
        "ndxp_ledger_consumer_lag_records",
        "ndxp_ledger_member_lag_records",
    ):
        assert has(text, name), name
    assert (ledger.health() or {}).get("caught_up") is True


def test_the_ledger_measures_round_trips_by_client_member(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """Ten requests, and their responses sent at least 0.3 s after the router routed the
    requests: ten round trips of at least 0.3 s for the client's member."""
    count = "ndxp_ledger_round_trip_seconds_count"
    before = scrape(ledger.web_port)
    routed_before = value(scrape(router.web_port), "ndxp_router_messages_total", outcome="routed")
    p = producer(kafka.bootstrap)
    ids = [f"rt-{uuid.uuid4().hex[:12]}" for _ in range(10)]
    for mid in ids:
        send(p, IN_G05, request(mid, CLIENT, POP), key=CLIENT.encode())
    p.flush(10)
    wait_for(
        router.web_port,
        lambda t: value(t, "ndxp_router_messages_total", outcome="routed") >= routed_before + 10,
    )
    time.sleep(0.3)
    tickets = group_tickets(kafka.bootstrap, router.group)
    for mid in ids:
        send(p, IN_G01, response(f"{mid}-answer", mid, tickets), key=CLIENT.encode())
    # an answer whose request the ledger has not read (yet): its ticket made with the key
    early = response("unmatched-answer", "no-such-request", tickets)
    send(p, IN_G01, early, key=CLIENT.encode())
    p.flush(10)
    text = wait_for(
        ledger.web_port,
        lambda t: value(t, count, member=G05) >= value(before, count, member=G05) + 10,
    )
    trips = value(text, count, member=G05) - value(before, count, member=G05)
    assert trips == 10
    fast = "ndxp_ledger_round_trip_seconds_bucket"
    assert value(text, fast, member=G05, le="0.25") == value(before, fast, member=G05, le="0.25")
    total = "ndxp_ledger_round_trip_seconds_sum"
    assert value(text, total, member=G05) - value(before, total, member=G05) >= 3.0
    assert has(text, "ndxp_ledger_member_lag_records", member=G05)  # the responses' egress
    # the answer to no request waits as an early response (its request may still come)
    assert value(text, "ndxp_ledger_round_trip_waiting_records", table="early") >= 1


def test_every_metric_the_dashboard_queries_is_on_the_running_services(
    router: RouterProcess, ledger: LedgerProcess
) -> None:
    g = generator()
    offered = g.offered(scrape(router.web_port)) | g.offered(scrape(ledger.web_port))
    queried = g.queried(g.dashboard())
    assert queried <= offered, sorted(queried - offered)
