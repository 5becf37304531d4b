"""The real broker (and the router) started once per test run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ndxp.ledger.store import LedgerStore
from ndxp.paths import DEFAULT_REGISTRY

from .kafka_tools import (
    REPO,
    LedgerProcess,
    RouterProcess,
    free_port,
    no_service_left_running,  # noqa: F401 (an autouse fixture)
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    var: Path


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    var = tmp_path_factory.mktemp("var")
    port = free_port(pair=True)
    env = {**os.environ, "NDXP_KAFKA_PORT": str(port), "NDXP_VAR": str(var)}
    script = str(REPO / "infra" / "kafka" / "kafka.sh")
    subprocess.run([script, "start"], env=env, check=True)
    try:
        yield Broker(f"127.0.0.1:{port}", var)
    finally:
        subprocess.run([script, "stop"], env=env, check=False)


@pytest.fixture(scope="session")
def router(kafka: Broker) -> Iterator[RouterProcess]:
    """The router on the sample registry (it creates the topics it needs at start)."""
    r = RouterProcess(
        kafka.bootstrap,
        kafka.var / "router.log",
        env={"NDXP_VAR": str(kafka.var)},
        registry=DEFAULT_REGISTRY,
        group="ndxp-router-test",
    )
    r.start()
    try:
        r.wait_ready()
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="session")
def ledger(kafka: Broker) -> Iterator[LedgerProcess]:
    """The ledger service on an embedded ClickHouse engine in the run's folder."""
    service = LedgerProcess(
        kafka.bootstrap,
        kafka.var / "ledger.log",
        env={"NDXP_VAR": str(kafka.var), "NDXP_LEDGER_BATCH_SECONDS": "0.2"},
        dsn=f"chdb://{kafka.var / 'ledger'}",
    )
    service.start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerStore]:
    """A real embedded ClickHouse engine in a fresh folder (one per process at a time)."""
    s = LedgerStore(f"chdb://{tmp_path_factory.mktemp('chdb')}")
    s.migrate()
    try:
        yield s
    finally:
        s.close()
