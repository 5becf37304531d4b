"""Faults under a steady stream on a three-broker cluster: nothing lost, nothing twice in the
ledger, quotas still exact. ``make faults`` runs the long variant and prints the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import scenario
from .scenario import Cluster, Result

pytestmark = pytest.mark.integration


def check(result: Result, results: list[Result]) -> None:
    results.append(result)
    assert result.sent == scenario.TOTAL, result
    assert result.lost == 0, result
    assert result.in_ledger == scenario.TOTAL, result
    assert result.duplicated_in_ledger == 0, result
    assert result.quota_exact, result


def test_broker_killed_and_brought_back(
    cluster: Cluster, tmp_path: Path, results: list[Result]
) -> None:
    r = scenario.run(
        cluster, tmp_path, "broker kill -9, back after outage", "H71", scenario.kill_broker
    )
    check(r, results)


def test_router_worker_killed_the_other_takes_over(
    cluster: Cluster, tmp_path: Path, results: list[Result]
) -> None:
    r = scenario.run(
        cluster,
        tmp_path,
        "router worker kill -9 (1 of 2)",
        "H72",
        scenario.kill_router_worker,
        workers=2,
    )
    check(r, results)


def test_ledger_killed_and_restarted(
    cluster: Cluster, tmp_path: Path, results: list[Result]
) -> None:
    r = scenario.run(cluster, tmp_path, "ledger kill -9, restarted", "H73", scenario.kill_ledger)
    check(r, results)
    assert r.decided_during_outage > 0, "routing must not wait for the ledger"


def test_ledger_engine_stalled_routing_goes_on(
    cluster: Cluster, tmp_path: Path, results: list[Result]
) -> None:
    r = scenario.run(
        cluster, tmp_path, "ledger engine frozen (SIGSTOP)", "H74", scenario.stall_ledger_engine
    )
    check(r, results)
    assert r.decided_during_outage > 0, "routing must not wait for the ledger"
