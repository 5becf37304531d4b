"""``infra/platform.sh`` (``make run``/``make status``/``make stop``) under supervisord, on its
own broker and free ports in a temporary ``NDXP_VAR``: a router killed with SIGKILL is started
again and answers again, its exit is in ``restarts.json`` and in ``status``; a service that
cannot start makes ``start`` and ``status`` exit non-zero naming it; ``stop`` leaves no process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .kafka_tools import REPO, free_port

pytestmark = pytest.mark.integration

PLATFORM = str(REPO / "infra" / "platform.sh")
SUPERVISORCTL = str(REPO / ".venv" / "bin" / "supervisorctl")


@dataclass(frozen=True)
class Platform:
    var: Path
    env: dict[str, str]
    router_port: int

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PLATFORM, *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=240,
        )

    def pid(self, service: str) -> int:
        conf = str(self.var / "run" / "supervisord.conf")
        out = subprocess.run([SUPERVISORCTL, "-c", conf, "pid", service], capture_output=True)
        return int(out.stdout.strip() or 0)

    def exits(self, service: str) -> list[dict[str, object]]:
        try:
            doc = json.loads((self.var / "run" / "restarts.json").read_text())
        except (FileNotFoundError, ValueError):
            return []
        exits: list[dict[str, object]] = doc["services"].get(service, {}).get("exits", [])
        return exits

    def processes(self) -> list[str]:
        """Every process whose command line or environment names this run's folder."""
        marker = str(self.var).encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes()
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if marker in cmdline or marker in environ:
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command[:200]}")
        return found


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Platform:
    """One folder and set of ports for the module (the broker's storage is formatted once)."""
    var = tmp_path_factory.mktemp("platform")
    router_port, ledger_port, http_port = free_port(), free_port(), free_port()
    # the sample registry with its HTTP endpoints on this platform's own simulator: a
    # platform started by `make run` beside the tests keeps 9300
    sample = (REPO / "infra" / "registry" / "vn-sample.json").read_text(encoding="utf-8")
    registry = var / "registry.json"
    registry.write_text(sample.replace("127.0.0.1:9300/", f"127.0.0.1:{http_port}/"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NDXP_")}
    env.update(
        NDXP_VAR=str(var),
        NDXP_REGISTRY=str(registry),
        NDXP_HTTP_SIMULATOR_PORT=str(http_port),
        NDXP_KAFKA_PORT=str(free_port(pair=True)),
        NDXP_ROUTER_WEB_PORT=str(router_port),
        NDXP_LEDGER_WEB_PORT=str(ledger_port),
        NDXP_GATEWAY_PORT=str(free_port()),
        NDXP_KAFKA_HEAP="512m",
    )
    return Platform(var, env, router_port)


@pytest.fixture
def platform(setting: Platform) -> Iterator[Platform]:
    """Stopped after each test, whatever it left running."""
    try:
        yield setting
    finally:
        setting.run("stop")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def tax_answered(gateway_port: int) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{gateway_port}/r1/VN/GOV/000.00.18.G12/api/nghia-vu-tai-chinh~v1"
        "/nghia-vu-tai-chinh",
        data=b'{"gia_tri": 1000000000}',
        headers={"X-Road-Client": "VN/GOV/000.00.00.H41/motcua"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=12) as r:
            return r.status == 200 and b'"thue_thu_nhap_ca_nhan":20000000' in r.read()
    except OSError:
        return False


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def test_a_router_killed_with_sigkill_is_started_again_and_stop_leaves_nothing(
    platform: Platform,
) -> None:
    started = platform.run("start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "running and healthy, and still so" in started.stdout
    status = platform.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert (
        "all healthy: router, ledger, simulator, gateway, http-simulator, provider, "
        "doc-agencies, crashwatch" in status.stdout
    )
    # a call over HTTP to a provider reached over HTTP: gateway → router → adapter → REST API
    gateway = int(platform.env["NDXP_GATEWAY_PORT"])
    wait_for(lambda: tax_answered(gateway), 90, "the tax department's REST API, through it all")

    before = platform.pid("router")
    assert before > 0
    os.kill(before, signal.SIGKILL)
    wait_for(lambda: platform.exits("router"), 30, "the router's exit in restarts.json")
    [exit] = platform.exits("router")
    assert exit["cause"] == "terminated by SIGKILL" and exit["status"] == -1
    wait_for(
        lambda: platform.pid("router") not in (0, before) and healthy(platform.router_port),
        120,
        "the router started again and answering on its health endpoint",
    )
    # healthy again, but restarted in the last 10 minutes: status says so, loudly, and fails
    status = platform.run("status")
    assert status.returncode == 1, status.stdout
    [loud] = [line for line in status.stdout.splitlines() if "UNHEALTHY" in line]
    assert "router: restarted once in the last 10 min (last exit: terminated by SIGKILL)" in loud
    assert "ledger" not in loud and "simulator" not in loud and "crashwatch" not in loud
    log = (platform.var / "log" / "router.log").read_text()
    assert "router exited (terminated by SIGKILL)" in log  # the crash watch's line, in its log
    # once the window has passed (0 minutes here), nothing is wrong any more
    assert platform.run("status", "0").returncode == 0

    stopped = platform.run("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert platform.processes() == []
    down = platform.run("status")
    assert down.returncode == 1 and "not running" in down.stdout


def test_a_service_that_cannot_start_fails_start_and_status_naming_it(
    platform: Platform,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # a ClickHouse server that is not there
    started = platform.run("start", NDXP_LEDGER_DSN=nowhere)
    assert started.returncode == 1, started.stdout + started.stderr
    [loud] = [line for line in started.stdout.splitlines() if "UNHEALTHY" in line]
    assert loud.startswith("ndxp: UNHEALTHY — ledger: ")
    assert "exit status 1" in loud and "router" not in loud
    assert "Connection refused" in started.stdout  # the end of the ledger's log, shown
    assert "running and healthy" not in started.stdout

    status = platform.run("status")
    assert status.returncode == 1
    [loud] = [line for line in status.stdout.splitlines() if "UNHEALTHY" in line]
    assert "ledger: " in loud and "restarted" in loud
    wait_for(lambda: len(platform.exits("ledger")) >= 2, 30, "the ledger started again")

    assert platform.run("stop").returncode == 0
    assert platform.processes() == []
