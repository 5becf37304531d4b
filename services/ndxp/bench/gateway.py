"""HTTP calls through the X-Road REST gateway, answered: HTTP client → ``ndxp gateway`` →
router → ``ndxp simulate`` (service time 0) → router → gateway → client, over the many-agency
mix (:mod:`ndxp.bench.http_load`), with every service at its defaults. In the same run, the
ceiling of Python HTTP on this box: a bare aiohttp server answering at once
(:mod:`ndxp.bench.http_ceiling`), driven by the same client. Everything, the load generator
included, shares the box.

``python -m ndxp.bench.gateway --bootstrap B`` (a broker with the registry's topics; the
capacity bench runs it as its ``gateway`` phase)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import ingress_partitions
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import Offsets
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

LOADS = (  # (label, concurrency, paced rate)
    ("one call at a time", 1, 0.0),
    ("1,000 calls/s, paced", 0, 1000.0),
    ("64 calls in flight", 64, 0.0),
)


def load(url: str, seconds: float, concurrency: int, rate: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "ndxp.bench.http_load", url, "--seconds", str(seconds)]
    cmd += ["--concurrency", str(concurrency or 1), "--rate", str(rate)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def wait_health(port: int, proc: procs.Proc, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        proc.keep_alive()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{proc.label} not answering on :{port} after {timeout_s:.0f} s")


def measure(bootstrap: str, var: Path, port: int, seconds: float) -> dict[str, Any]:
    (var / "logs").mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics(topics_for(registry, 3))
    offsets.start_group_at(f"gw-router-{tag}", offsets.ends(ingress_partitions(offsets, registry)))
    offsets.start_group_at(
        f"gw-simulator-{tag}", offsets.ends(egress_partitions(offsets, registry))
    )
    out: dict[str, Any] = {"seconds": seconds, "ceiling": [], "gateway": []}

    ceiling = procs.Proc(
        "http-ceiling",
        [sys.executable, "-m", "ndxp.bench.http_ceiling", "--port", str(port + 2)],
        procs.clean_env(var),
        var / "logs" / "http-ceiling.log",
    )
    try:
        wait_health(port + 2, ceiling)
        for label, concurrency, rate in LOADS:
            x = load(f"http://127.0.0.1:{port + 2}", seconds, concurrency, rate)
            out["ceiling"].append({"label": label, **x})
    finally:
        ceiling.stop()

    router = procs.router(bootstrap, var, f"gw-router-{tag}", port, f"gateway-{tag}")
    simulator = procs.simulator(bootstrap, var, f"gw-simulator-{tag}", f"gateway-{tag}")
    gateway = procs.Proc(
        f"gateway-{tag}",
        [procs.NDXP, "gateway", "--bootstrap", bootstrap, "--port", str(port + 1)],
        procs.clean_env(var),
        var / "logs" / f"gateway-{tag}.log",
    )
    try:
        wait_health(port + 1, gateway)
        load(f"http://127.0.0.1:{port + 1}", 3, 8, 0.0)  # warm: the router's first fetches
        for label, concurrency, rate in LOADS:
            x = load(f"http://127.0.0.1:{port + 1}", seconds, concurrency, rate)
            gateway.sample()
            router.keep_alive()
            simulator.keep_alive()
            out["gateway"].append({"label": label, **x})
        out["gateway_peak_rss_mb"] = gateway.peak_rss_mb
        out["exits"] = {"router": router.exits, "gateway": gateway.exits}
        return out
    finally:
        gateway.stop()
        simulator.stop()
        router.stop()


def table(r: dict[str, Any]) -> list[str]:
    lines = [
        "  HTTP calls answered (X-Road REST gateway → router → ndxp simulate → back), "
        "many-agency mix, defaults; load generator on the same box",
        f"    {'':56}{'answered/s':>11} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}  statuses",
    ]
    for who, rows in (
        ("ceiling: bare aiohttp server", r["ceiling"]),
        ("ndxp gateway", r["gateway"]),
    ):
        for x in rows:
            lines.append(
                f"    {who + ', ' + x['label']:56}{x['answered_per_s']:>11,.0f} {x['p50_ms']!s:>7} "
                f"{x['p90_ms']!s:>7} {x['p99_ms']!s:>7} {x['max_ms']!s:>7}  {x['statuses']}"
            )
    if "gateway_peak_rss_mb" in r:
        lines.append(f"    gateway peak RSS {r['gateway_peak_rss_mb']:.0f} MB")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--port", type=int, default=19680)
    ap.add_argument("--var", type=Path, default=Path("var/bench-gateway"))
    args = ap.parse_args(argv)
    print(f"$ python -m ndxp.bench.gateway {' '.join(sys.argv[1:])}")
    result = measure(args.bootstrap, args.var, args.port, args.seconds)
    print("\n".join(table(result)))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
