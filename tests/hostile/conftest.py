"""The hostile-traffic suite's platform (own broker, router, ledger, simulator), started for
the module that uses it and stopped after it (so a router it broke does not run on beside the
other suites), and its table (printed at the end, written to var/hostile/hostile.json with a chart
beside it). ``make test`` runs the short variant; ``make faults`` the long one
(NDXP_HOSTILE=long, or NDXP_FAULTS=long)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.kafka_tools import (  # noqa: F401 (an autouse fixture)
    REPO,
    no_service_left_running,
)

from .platform import Platform, Watch
from .report import chart, table
from .runner import PhaseResult
from .variant import MAX_RESTARTS

pytestmark = pytest.mark.integration

RESULTS: list[PhaseResult] = []
WATCHES: list[Watch] = []


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform(tmp_path_factory.mktemp("hostile"))
    try:
        p.start()
        p.probe = p.plant_back_dated()
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def watch(platform: Platform) -> Iterator[Watch]:
    w = Watch(platform, max_restarts=MAX_RESTARTS).start()
    WATCHES.append(w)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="session")
def results() -> list[PhaseResult]:
    return RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.write_sep(
        "=", "hostile traffic (crashes, stalls, not accounted for must be 0)"
    )
    for line in table(RESULTS):
        terminalreporter.write_line(line)
    out = REPO / "var" / "hostile"
    out.mkdir(parents=True, exist_ok=True)
    doc = {"when": time.strftime("%Y%m%d-%H%M%S"), "results": [r.as_dict() for r in RESULTS]}
    (out / "hostile.json").write_text(json.dumps(doc, indent=2))
    written = [out / "hostile.json"]
    if WATCHES:
        written.append(chart(WATCHES[0], RESULTS, out / "hostile.png"))
    terminalreporter.write_line(
        "written to " + ", ".join(str(p.relative_to(REPO)) for p in written)
    )
