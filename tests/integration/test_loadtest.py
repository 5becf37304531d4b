"""A short steady Locust run through the real platform (broker, router, provider simulator,
ledger), verified against the ledger: nothing lost, nothing duplicated, every request
answered. Asserts counts, never timings (the machines are shared)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndxp.paths import REPO

from .conftest import Broker
from .kafka_tools import GatewayProcess, LedgerProcess, RouterProcess
from .kafka_tools import simulator as start_simulator

pytestmark = pytest.mark.integration


@pytest.fixture
def simulator(kafka: Broker, router: RouterProcess) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "NDXP_BOOTSTRAP": kafka.bootstrap, "NDXP_VAR": str(kafka.var)}
    proc = start_simulator(["--service-time-ms", "2"], env, kafka.var / "simulator.log")
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def run_loadtest(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess, out: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``loadtest/run.py`` for 15 s on the test's platform, its report in ``out``."""
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "loadtest" / "run.py"),
            *args,
            "--duration",
            "15",
            "--no-platform",
            "--bootstrap",
            kafka.bootstrap,
            "--router-port",
            str(router.web_port),
            "--ledger-port",
            str(ledger.web_port),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NDXP_VAR": str(kafka.var)},  # where the ledger keeps its SQL token
    )


@pytest.mark.parametrize("transport", ["kafka", "http"])
def test_steady_profile_loses_nothing(
    kafka: Broker,
    router: RouterProcess,
    ledger: LedgerProcess,
    simulator: subprocess.Popen[bytes],
    tmp_path: Path,
    transport: str,
    request: pytest.FixtureRequest,
) -> None:
    """Over Kafka (the Locust user's own client), and over HTTP through the X-Road gateway
    (FastHttpUser): every request in the ledger once, with its response; over Kafka, the
    one-stop shops' status notices in the ledger once, routed."""
    out = tmp_path / "report"
    extra: list[str] = []
    if transport == "http":
        gateway = GatewayProcess(
            kafka.bootstrap, kafka.var / "gateway-loadtest.log", env={"NDXP_VAR": str(kafka.var)}
        )
        gateway.start()
        request.addfinalizer(gateway.stop)
        gateway.wait_ready()
        extra = ["--http", "--gateway", f"http://127.0.0.1:{gateway.web_port}"]
    result = run_loadtest(kafka, router, ledger, out, "--profile", "steady", *extra)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    sent, ledger_view = summary["locust"], summary["ledger"]
    assert sent["send_failed"] == 0 and sent["delivered"] > 100  # ≈17 tx/s for 15 s
    assert sent["answered"] == sent["delivered"]  # the sample's grants: nothing refused
    # Over HTTP a call Locust cut off when the profile ended (seen once in CI, 2026-12-04,
    # despite --stop-timeout: 287 started, 286 answered, 286 in the ledger) has no outcome its
    # client saw: it may or may not have reached the gateway. At most one per user (18), and
    # the ledger holds every call answered and nothing beyond the ones cut off. Over Kafka the
    # client waits for every delivery report: none is cut off.
    cut_off = sent["sent"] - sent["delivered"]
    assert 0 <= cut_off <= (20 if transport == "http" else 0), sent
    requests, responses = ledger_view["requests_in_ledger"], ledger_view["responses_in_ledger"]
    assert requests == ledger_view["request_rows"]
    assert responses == ledger_view["response_rows"]
    assert sent["delivered"] <= requests <= sent["delivered"] + cut_off
    assert sent["answered"] <= responses <= requests  # a call that reached Kafka is answered
    assert (ledger_view["lost"], ledger_view["duplicated"]) == (0, 0)
    if transport == "kafka":  # one-stop shops' status notices too: routed, nothing answers
        assert sent["notices_delivered"] == sent["notices_sent"] > 0
        assert ledger_view["notices_in_ledger"] == sent["notices_delivered"]
        assert ledger_view["notices_routed"] == sent["notices_delivered"]
    for name in ("locust.html", "locust_stats.csv", "locust_stats_history.csv", "chart.png"):
        assert (out / name).stat().st_size > 0, name
    assert "PASS: nothing lost" in result.stdout


def test_the_documents_profile_delivers_every_document_to_every_receiver(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess, tmp_path: Path
) -> None:
    """Agencies sending documents at 10× the axis's busiest month for 15 s: every document
    reaches every receiver (seen on their egress topics), and the ledger holds each delivery
    once."""
    out = tmp_path / "documents"
    result = run_loadtest(kafka, router, ledger, out, "--documents")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    sent, ledger_view = summary["locust"], summary["ledger"]
    assert summary["profile"] == "documents"
    assert sent["documents_delivered"] == sent["sent"] > 30  # ≈3.9 documents/s for 15 s
    assert sent["answered"] == sent["documents_delivered"]  # every receiver had each
    assert sent["deliveries_expected"] > sent["documents_delivered"]
    assert ledger_view["documents_in_ledger"] == sent["documents_delivered"]
    assert ledger_view["deliveries_in_ledger"] == ledger_view["deliveries_routed"]
    assert ledger_view["deliveries_routed"] == sent["deliveries_expected"]
    assert (ledger_view["lost"], ledger_view["duplicated"]) == (0, 0)
    assert "PASS: nothing lost" in result.stdout
