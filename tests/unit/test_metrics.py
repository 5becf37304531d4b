"""The router's and the ledger's ``/metrics`` text, fed known data and read back with
``prometheus_client``'s parser."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ndxp.core import wire
from ndxp.core.errors import RejectionCode
from ndxp.core.ledger import Row, ledger_row
from ndxp.ledger.sink_metrics import LedgerMetrics
from ndxp.metrics import Buckets, exposition
from ndxp.router.stats import RouterStats

H41, G05 = "ndxp.in.000.00.00.H41", "ndxp.in.000.00.00.G05"
CLIENT = "VN:GOV:000.00.00.H41:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted label pairs: value}`` of the samples called ``name``."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    }


def router_text() -> str:
    stats = RouterStats()
    lag = [
        ((H41, "0"), 3.0),
        ((H41, "2"), 4.0),
        ((G05, "1"), 0.0),
        (("q-quota-requests", "0"), 9.0),
    ]
    stats.watch(lambda: lag, lambda: "vn-sample-2", lambda: 2, lambda: 5)
    now_ms = int(time.time() * 1000)
    for _ in range(3):
        stats.on_routed(H41, now_ms - 40)
    stats.on_routed(G05, now_ms)
    stats.on_rejected(RejectionCode.QUOTA_EXCEEDED, H41, "daily")
    stats.on_rejected(RejectionCode.UNKNOWN_SERVICE, G05)
    stats.on_run(500, 0.02, "route")
    return stats.exposition().decode()


def routed(kind: str, mid: str, received_ms: int, routed_ms: int, corr: str | None = None) -> Row:
    headers = [
        (wire.H_ID, mid),
        (wire.H_KIND, kind),
        (wire.H_CLIENT, CLIENT),
        (wire.H_SERVICE, POP),
        *([(wire.H_CORRELATION_ID, corr)] if corr else []),
        (wire.H_ROUTED_AT, str(routed_ms)),
    ]
    topic = "ndxp.out.000.00.01.G01" if kind == "request" else "ndxp.out.000.00.00.H41"
    row = ledger_row(topic, 0, routed_ms, received_ms, b"{}", [(k, v.encode()) for k, v in headers])
    assert row is not None
    return row


def ledger_text() -> str:
    lag = [
        (("ndxp.out.000.00.01.G01", "0"), 5.0),
        (("ndxp.out.000.00.01.G01", "1"), 6.0),
        (("ndxp.rejected", "0"), 2.0),
    ]
    m = LedgerMetrics(lambda: lag)
    t = int(time.time() * 1000) - 1000
    rows = [
        routed("request", "a", t, t + 1),
        routed("request", "b", t, t + 1),
        routed("response", "ra", t + 30, t + 30, corr="a"),  # a round trip of 30 ms
        routed("response", "rb", t + 4000, t + 4000, corr="b"),  # one of 4 s
    ]
    m.on_batch(
        rows,
        inserted=4,
        duplicates=1,
        quarantined=0,
        seconds=0.05,
        now_ms=t + 4300,
        dedup_seconds=0.02,
        dedup_rows_read=7,
    )
    return m.exposition().decode()


def test_the_router_counts_messages_by_outcome_code_and_member() -> None:
    text = router_text()
    messages = samples(text, "ndxp_router_messages_total")
    assert messages == {
        (("code", ""), ("member", "000.00.00.H41"), ("outcome", "routed")): 3,
        (("code", ""), ("member", "000.00.00.G05"), ("outcome", "routed")): 1,
        (("code", "QUOTA_EXCEEDED"), ("member", "000.00.00.H41"), ("outcome", "rejected")): 1,
        (("code", "UNKNOWN_SERVICE"), ("member", "000.00.00.G05"), ("outcome", "rejected")): 1,
    }
    assert samples(text, "ndxp_router_quota_refusals_total") == {(("limit", "daily"),): 1}
    receipt = samples(text, "ndxp_router_receipt_to_route_seconds_bucket")
    assert receipt[(("le", "0.025"),)] == 1  # the one routed at once
    assert receipt[(("le", "0.05"),)] == 4  # and the three received 40 ms earlier
    assert samples(text, "ndxp_router_run_records_sum") == {(("stage", "route"),): 500}


def test_the_router_lag_is_per_partition_and_per_sender_member() -> None:
    text = router_text()
    assert samples(text, "ndxp_router_member_lag_records") == {
        (("member", "000.00.00.H41"),): 7,
        (("member", "000.00.00.G05"),): 0,
    }  # the quota stage's topic is no member's, but it is in the per-partition lag
    partitions = samples(text, "ndxp_router_consumer_lag_records")
    assert len(partitions) == 4 and sum(partitions.values()) == 16


def test_counts_read_at_scrape_time_are_counters_and_the_registry_an_info() -> None:
    f = families(router_text())
    assert f["ndxp_router_delivery_holes"].type == "counter"
    assert f["ndxp_router_quota_changelog_records"].type == "counter"
    assert f["ndxp_router_delivery_holes"].samples[0].value == 2
    assert f["ndxp_router_registry_info"].samples[0].labels == {"version": "vn-sample-2"}


def test_only_counters_end_in_total() -> None:
    """What ``promtool check metrics`` refused in the hand-written exposition: two gauges
    called ``…_total``. The parser strips ``_total`` from a counter's family name only."""
    for text in (router_text(), ledger_text()):
        for family in text_string_to_metric_families(text):
            assert not family.name.endswith("_total"), (family.name, family.type)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: apt-get install prometheus")
@pytest.mark.parametrize("make", [router_text, ledger_text])
def test_promtool_accepts_the_exposition(make: Any) -> None:
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=make(), capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_ledger_observes_round_trips_by_client_member() -> None:
    text = ledger_text()
    trips = samples(text, "ndxp_ledger_round_trip_seconds_bucket")
    member = ("member", "000.00.00.H41")
    assert trips[(("le", "0.025"), member)] == 0
    assert trips[(("le", "0.05"), member)] == 1
    assert trips[(("le", "2.5"), member)] == 1
    assert trips[(("le", "5.0"), member)] == 2
    assert trips[(("le", "30.0"), member)] == 2
    assert samples(text, "ndxp_ledger_round_trip_seconds_sum") == {(member,): 4.03}
    assert samples(text, "ndxp_ledger_round_trip_waiting_records") == {
        (("table", "waiting"),): 0,
        (("table", "early"),): 0,
    }


def test_the_ledger_counts_rows_freshness_and_lag_per_egress_member() -> None:
    text = ledger_text()
    assert samples(text, "ndxp_ledger_rows_total") == {
        (("fate", "inserted"),): 4,
        (("fate", "duplicate"),): 1,
        (("fate", "quarantined"),): 0,
    }
    assert samples(text, "ndxp_ledger_freshness_seconds_count") == {(): 4}
    assert samples(text, "ndxp_ledger_batch_rows_count") == {(): 1}
    assert samples(text, "ndxp_ledger_dedup_seconds_sum") == {(): 0.02}
    assert samples(text, "ndxp_ledger_dedup_rows_read_total") == {(): 7}
    assert samples(text, "ndxp_ledger_member_lag_records") == {(("member", "000.00.01.G01"),): 11}
    assert sum(samples(text, "ndxp_ledger_consumer_lag_records").values()) == 13


def test_two_services_in_one_process_keep_their_own_counts() -> None:
    a, b = RouterStats(), RouterStats()
    a.on_routed(H41, None)
    text = b.exposition().decode()
    assert samples(text, "ndxp_router_messages_total") == {}
    assert "ndxp_router_member_lag_records" in families(text)  # names exist before data


def test_buckets_are_cumulative_with_le_inclusive() -> None:
    from prometheus_client import CollectorRegistry

    h = Buckets((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 3.0):
        h.observe(v, ("x",))

    class One:
        def collect(self) -> Any:
            yield h.family("t_seconds", "test", ("k",))

    registry = CollectorRegistry()
    registry.register(One())
    got = samples(exposition(registry).decode(), "t_seconds_bucket")
    assert got == {
        (("k", "x"), ("le", "0.1")): 2,
        (("k", "x"), ("le", "1.0")): 3,
        (("k", "x"), ("le", "+Inf")): 4,
    }
