"""The fault suite's three-broker cluster (infra/kafka/cluster.sh), started once per run, and
the table of what each fault did (printed at the end, written to var/faults/faults.json).

``make test`` runs the short variant; ``make faults`` the long one (NDXP_FAULTS=long)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kafka_tools import (  # noqa: F401 (an autouse fixture)
    REPO,
    no_service_left_running,
)

from .scenario import Cluster, Result, table

pytestmark = pytest.mark.integration

RESULTS: list[Result] = []


def _free_block() -> int:
    """A base port with base..base+2 (clients) and base+10..base+12 (controllers) free."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base > 65000:
            continue
        try:
            for port in (*range(base, base + 3), *range(base + 10, base + 13)):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    var = tmp_path_factory.mktemp("cluster")
    base = _free_block()
    env = {**os.environ, "NDXP_CLUSTER_PORT": str(base), "NDXP_VAR": str(var)}
    script = REPO / "infra" / "kafka" / "cluster.sh"
    subprocess.run([str(script), "start"], env=env, check=True)
    bootstrap = ",".join(f"127.0.0.1:{base + i}" for i in range(3))
    try:
        yield Cluster(bootstrap, var, env, script)
    finally:
        subprocess.run([str(script), "stop"], env=env, check=False)


@pytest.fixture
def results() -> list[Result]:
    return RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.write_sep("=", "faults injected (lost and duplicated must be 0)")
    for line in table(RESULTS):
        terminalreporter.write_line(line)
    out = REPO / "var" / "faults"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    doc = {"when": stamp, "results": [r.as_dict() for r in RESULTS]}
    (out / "faults.json").write_text(json.dumps(doc, indent=2))
    terminalreporter.write_line(f"written to {Path(out / 'faults.json').relative_to(REPO)}")
