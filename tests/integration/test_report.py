"""`ndxp ledger synth` + `ndxp report` on the real embedded engine reproduce the published
shape: March 2022 ≈ 48 M transactions, 18× March 2021 (here at 1/100 scale)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ndxp.ledger import doc_report, report
from ndxp.ledger.doc_synth import synthesize_documents
from ndxp.ledger.store import LedgerStore
from ndxp.ledger.synth import synthesize
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def history(store: LedgerStore) -> LedgerStore:
    registry = load_registry(DEFAULT_REGISTRY)
    synthesize(store, registry, 0.01, (2021, 3), (2021, 3), out=lambda s: None)
    synthesize(store, registry, 0.01, (2022, 3), (2022, 3), out=lambda s: None)
    return store


def test_march_2022_has_the_published_shape(history: LedgerStore, tmp_path: Path) -> None:
    period = report.parse_period("2022-03", None, None, None)
    r = report.build(history, period, load_registry(DEFAULT_REGISTRY))
    assert r["transactions"] == 480_000  # 48 M at 1/100
    assert r["same_period_last_year"] == round(48e6 / 18 / 100)
    assert r["growth_factor"] == pytest.approx(18.0, abs=0.05)
    assert r["daily_average"] == pytest.approx(480_000 / 31, rel=1e-3)
    # outcomes: ~1.2 % rejected by code, ~97.8 % answered
    rejected = sum(n for k, n in r["outcomes"].items() if "rejected" in k)
    assert 0.008 < rejected / r["transactions"] < 0.016
    assert {"MALFORMED", "UNKNOWN_CLIENT", "NOT_SENDER"} <= {
        k.split()[-1] for k in r["outcomes"] if "rejected" in k
    }
    assert 0.97 < r["answered_share"] < 0.995
    # population lookups lead; provinces are the top callers, with their names
    assert r["top_services"][0]["service"].startswith("VN:GOV:000.00.01.G01:dancu:")
    assert all(a["agency"].startswith(("H", "G", "0")) and a["name"] for a in r["top_agencies"])
    lat = r["round_trip_ms"]
    assert lat["pairs"] > 400_000
    assert 100 < lat["p50"] < 250 and lat["p50"] < lat["p90"] < lat["p99"]
    assert len(r["daily"]) == 31 and sum(d["transactions"] for d in r["daily"]) == 480_000
    # weekdays carry the load: every Sunday is far below every Tuesday
    by_day = {d["day"]: d["transactions"] for d in r["daily"]}
    assert max(by_day[d] for d in ("2022-03-06", "2022-03-13")) < 0.3 * min(
        by_day[d] for d in ("2022-03-08", "2022-03-15")
    )

    chart = tmp_path / "march.png"
    report.chart(r, str(chart))
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    assert "480,000" in report.render_table(r)
    rows = list(csv.reader(io.StringIO(report.render_csv(r))))
    assert ["summary", "transactions", "480000"] in rows
    json.dumps(r)  # the JSON format serializes as is


def test_quarter_and_range_periods(history: LedgerStore) -> None:
    q = report.parse_period(None, "2022Q1", None, None)
    assert (str(q.start), str(q.end), q.days) == ("2022-01-01", "2022-04-01", 90)
    r = report.build(history, q)
    assert r["transactions"] == 480_000  # only March was synthesized
    rng = report.parse_period(None, None, "2022-03-01", "2022-03-07")
    assert rng.days == 7
    week = report.build(history, rng)
    assert 0 < week["transactions"] < 480_000 * 7 / 31 * 1.3


def test_notices_are_transactions(history: LedgerStore) -> None:
    """A one-way notice is a transaction (a client system's call to a service), counted with
    the requests and shown as its own outcome."""
    from ndxp.core.ledger import ledger_row

    at = 1_688_958_000_000  # 2023-07-10 03:00 UTC: a month the synthetic history leaves empty
    rows = []
    for i, kind in enumerate(["request", "request", "request", "notice", "notice"]):
        service = "VN:GOV:000.00.02.G22:dongbo:trang-thai-ho-so:v1"
        headers = [
            ("ndxp-id", f"notices-{i}".encode()),
            ("ndxp-kind", kind.encode()),
            ("ndxp-client", b"VN:GOV:000.00.00.H41:motcua"),
            ("ndxp-service", service.encode()),
            ("ndxp-route", b"000.00.02.G22"),
            ("ndxp-source-topic", b"ndxp.in.000.00.00.H41"),
            ("ndxp-source-partition", b"0"),
            ("ndxp-source-offset", str(9_000_000 + i).encode()),
        ]
        row = ledger_row("ndxp.out.000.00.02.G22", 0, 9_000_000 + i, at + i, b"{}", headers)
        assert row is not None
        rows.append(row)
    history.insert(rows)
    r = report.build(history, report.parse_period("2023-07", None, None, None))
    assert r["transactions"] == 5
    assert r["outcomes"] == {"request routed": 3, "notice routed": 2}


@pytest.fixture(scope="module")
def documents(history: LedgerStore) -> LedgerStore:
    registry = load_registry(DEFAULT_REGISTRY)
    for month in ((2021, 3), (2022, 3)):
        synthesize_documents(history, registry, 0.01, month, month, out=lambda s: None)
    return history


def test_the_document_report_for_march_2022_gives_the_published_figures(
    documents: LedgerStore, tmp_path: Path
) -> None:
    """At 1/100: 1,115 documents sent and 3,525 deliveries received, 1.8× March 2021; each
    delivery followed to its receiver's last status; a chart."""
    period = report.parse_period("2022-03", None, None, None)
    r = doc_report.build(documents, period, load_registry(DEFAULT_REGISTRY))
    assert (r["documents_sent"], r["deliveries_received"]) == (1_115, 3_525)
    assert r["growth_factor"] == pytest.approx(1.8, abs=0.01)
    assert r["same_period_last_year"] == 619 + 1_958
    assert r["receivers_per_document"] == pytest.approx(3.16, abs=0.01)
    # every delivery ends done or refused (a few in a hundred), done in about three days
    assert sum(r["outcomes"].values()) == 3_525
    assert set(r["outcomes"]) == {"done", "refused"}
    assert 0.01 < r["outcomes"]["refused"] / 3_525 < 0.06
    t = r["sent_to_done_hours"]
    assert t["done"] == r["outcomes"]["done"] and 48 < t["p50"] < 130 and t["p90"] > t["p50"]
    # the Government Office sends the most; receivers are ministries and provinces, named
    assert r["top_senders"][0]["agency"] == "000.00.00.G22" and r["top_senders"][0]["name"]
    assert sum(d["documents"] for d in r["daily"]) == 1_115
    assert "1,115" in doc_report.render_table(r)
    path = tmp_path / "documents.png"
    doc_report.chart(r, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_the_document_history_is_written_once_whatever_the_runs(documents: LedgerStore) -> None:
    """A second synth of a month adds nothing: its rows have the same identities."""
    before = documents.read("SELECT count() FROM ndxp.ledger WHERE kind IN ('document', 'status')")
    synthesize_documents(
        documents, load_registry(DEFAULT_REGISTRY), 0.01, (2022, 3), (2022, 3), out=lambda s: None
    )
    after = documents.read("SELECT count() FROM ndxp.ledger WHERE kind IN ('document', 'status')")
    assert before == after
