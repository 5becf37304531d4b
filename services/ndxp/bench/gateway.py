"""HTTP calls through the X-Road REST gateway, answered, on this box with the load generator on
it too, every service at its defaults:

- **REST APIs** (the headline): Nghệ An's systems calling the sample registry's REST APIs
  (:func:`ndxp.bench.http_load.rest_calls`): HTTP client → ``ndxp gateway`` → router →
  ``ndxp provide`` (the provider adapter) → ``ndxp simulate --http`` (service time 0) → adapter
  → router → gateway → client. In the same run, the ceiling of Python HTTP here: a plain
  aiohttp reverse proxy (:mod:`ndxp.bench.http_ceiling`) straight to the same REST APIs.
- **The many-agency mix** (context): every client system calling what it is granted, answered
  by the Kafka provider simulator (``ndxp simulate``) instead of an HTTP API.

For each row, the CPU each process spent per answered call (ms): where the time goes.

Each kind of call is measured after ``warm_seconds`` (30 by default) of the same calls at 64 in
flight, set aside: a broker and processes that have been serving, as the round-trip probe
(:mod:`ndxp.bench.roundtrip`, "Warm before measuring") explains.

``python -m ndxp.bench.gateway --bootstrap B`` (a broker with the registry's topics; the
capacity bench runs it as its ``gateway`` phase), or ``--broker-port P``: an empty broker of its
own, which ``--partitions N`` (each member topic's, the router given the same) needs when the
topics exist with another count."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson

from ndxp.bench import procs
from ndxp.bench.backlog import ingress_partitions, member_topics
from ndxp.bench.broker import PARTITIONS, add_broker_options, broker_of
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import Offsets
from ndxp.bench.roundtrip import WARM_SECONDS
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

LOADS = (  # (label, concurrency, paced rate)
    ("one call at a time", 1, 0.0),
    ("1,000 calls/s, paced", 0, 1000.0),
    ("64 calls in flight", 64, 0.0),
    # enough in flight to fill the path: every hop's fetch carries more records, so each
    # process spends less per call (CPU ms per call 7.3 at 64 -> 4.2 at 256 in one run)
    ("256 calls in flight", 256, 0.0),
    # the path's capacity: still more calls a second, each a longer wait (a queue, whose
    # p50 is the calls in flight over the rate, Little's law). 2026-12-05 02:40, a slow hour:
    # 1,683 / 1,898 / 2,066 calls/s at 256 / 512 / 1,024 in flight, CPU ms per call 1.17 /
    # 1.04 / 0.97 (router 0.18 -> 0.12, broker 0.18 -> 0.08); the plain proxy did best at 256
    # of those loads (4,114, then 3,715 and 3,507)
    ("1,024 calls in flight", 1024, 0.0),
)
SAMPLE_API = "127.0.0.1:9300"  # where the sample registry's REST APIs are (make run)


def load(url: str, seconds: float, concurrency: int, rate: float, calls: str) -> dict[str, Any]:
    """One load, in a process of its own."""
    cmd = [sys.executable, "-m", "ndxp.bench.http_load", url, "--seconds", str(seconds)]
    cmd += ["--concurrency", str(concurrency or 1), "--rate", str(rate), "--calls", calls]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measured(
    url: str, seconds: float, concurrency: int, rate: float, calls: str, who: dict[str, int]
) -> dict[str, Any]:
    """A load, and the CPU ms each process in ``who`` (name → pid) and the load generator
    spent per answered call."""
    meter = procs.CpuMeter(who)
    x = load(url, seconds, concurrency, rate, calls)
    x["cpu_ms_per_call"] = meter.ms_per(x["answered"], "load generator")
    return x


def rest_registry(var: Path, api: str) -> Path:
    """The sample registry with its REST APIs on ``api`` (host:port) instead of :9300."""
    document = orjson.loads(DEFAULT_REGISTRY.read_bytes())
    for member in document["members"]:
        for subsystem in member.get("subsystems", []):
            if "http" in subsystem:
                url = subsystem["http"]["url"]
                subsystem["http"]["url"] = url.replace(f"//{SAMPLE_API}/", f"//{api}/")
    path = var / "registry-gateway-bench.json"
    path.write_bytes(orjson.dumps(document))
    return path


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


def measure(
    bootstrap: str,
    var: Path,
    port: int,
    seconds: float,
    partitions: int = PARTITIONS,
    warm_seconds: float = WARM_SECONDS,
) -> dict[str, Any]:
    """Ports used: ``port`` + 0 (router health), 1 (gateway), 2 (ceiling proxy), 3 (REST APIs).
    ``partitions``: each member topic's (``NDXP_PARTITIONS``; the router is given the same).
    Each kind of call warms for ``warm_seconds`` at 64 in flight (at least 3 s: the router's
    and the adapter's first fetches) before its rows are measured."""
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    member_topics(offsets, registry, partitions)
    egress = offsets.ends(egress_partitions(offsets, registry))
    offsets.start_group_at(f"gw-router-{tag}", offsets.ends(ingress_partitions(offsets, registry)))
    offsets.start_group_at(f"gw-simulator-{tag}", egress)
    offsets.start_group_at(f"gw-provider-{tag}", egress)
    api = f"127.0.0.1:{port + 3}"
    rest = rest_registry(var, api)
    env = procs.clean_env(var, NDXP_REGISTRY=str(rest))
    broker = procs.broker_pid(bootstrap)
    out: dict[str, Any] = {
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "ceiling": [],
        "gateway": [],
        "gateway_mix": [],
    }
    warm = max(3.0, warm_seconds)

    def started(label: str, *args: str) -> procs.Proc:
        return procs.Proc(label, [*args], env, logs / f"{label}-{tag}.log")

    apis = started(
        "rest-apis", procs.NDXP, "simulate", "--http", "--port", str(port + 3), "--time-scale", "0"
    )
    try:
        wait_health(port + 3, apis)
        ceiling = started(
            "http-ceiling",
            sys.executable,
            "-m",
            "ndxp.bench.http_ceiling",
            "--port",
            str(port + 2),
            "--registry",
            str(rest),
        )
        try:
            wait_health(port + 2, ceiling)
            who = {"proxy": ceiling.pid, "REST APIs": apis.pid}
            for label, concurrency, rate in LOADS:
                x = measured(
                    f"http://127.0.0.1:{port + 2}", seconds, concurrency, rate, "rest", who
                )
                out["ceiling"].append({"label": label, **x})
        finally:
            ceiling.stop()

        router_env = {"NDXP_REGISTRY": str(rest)}
        if partitions != PARTITIONS:
            router_env["NDXP_PARTITIONS"] = str(partitions)
        router = procs.router(
            bootstrap, var, f"gw-router-{tag}", port, f"gateway-{tag}", router_env
        )
        provider = started(
            "provider",
            procs.NDXP,
            "provide",
            "--bootstrap",
            bootstrap,
            "--group",
            f"gw-provider-{tag}",
        )
        gateway = started(
            "gateway", procs.NDXP, "gateway", "--bootstrap", bootstrap, "--port", str(port + 1)
        )
        simulator: procs.Proc | None = None
        try:
            wait_health(port + 1, gateway)
            url = f"http://127.0.0.1:{port + 1}"
            # the REST calls first, and alone: the gateway then reads the answers of the one
            # member calling (Nghệ An's egress topic), and no Kafka simulator polls meanwhile;
            # the mix's calls come from every member and make it read every egress topic
            answering = {"adapter": provider.pid, "REST APIs": apis.pid}
            load(url, warm, 64, 0.0, "rest")
            measure_rows(url, seconds, "rest", out["gateway"], gateway, router, answering, broker)
            provider.keep_alive()  # an exit is recorded (and the worker started again)
            apis.keep_alive()
            simulator = procs.simulator(bootstrap, var, f"gw-simulator-{tag}", f"gateway-{tag}")
            load(url, warm, 64, 0.0, "mix")
            answering = {"simulator": simulator.pid}
            measure_rows(
                url, seconds, "mix", out["gateway_mix"], gateway, router, answering, broker
            )
            out["gateway_peak_rss_mb"] = gateway.peak_rss_mb
            out["exits"] = {
                "router": router.exits,
                "gateway": gateway.exits,
                "adapter": provider.exits,
            }
            return out
        finally:
            gateway.stop()
            provider.stop()
            if simulator is not None:
                simulator.stop()
            router.stop()
    finally:
        apis.stop()


def measure_rows(
    url: str,
    seconds: float,
    calls: str,
    rows: list[dict[str, Any]],
    gateway: procs.Proc,
    router: procs.Proc,
    answering: dict[str, int],
    broker: int | None,
) -> None:
    """Each load of ``LOADS`` with ``calls``, a row each, with the CPU of the gateway, the
    router, what ``answering`` names and the broker."""
    who = {"gateway": gateway.pid, "router": router.pid, **answering}
    if broker is not None:
        who["broker"] = broker
    for label, concurrency, rate in LOADS:
        x = measured(url, seconds, concurrency, rate, calls, who)
        gateway.sample()
        router.keep_alive()
        rows.append({"label": label, **x})


def table(r: dict[str, Any]) -> list[str]:
    lines = [
        "  HTTP calls answered through the X-Road REST gateway, defaults; load generator on the "
        "same box",
        f"    {'':58}{'answered/s':>11} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}  statuses",
    ]
    for who, rows in (
        ("REST APIs via gateway, router, adapter", r["gateway"]),
        ("ceiling: plain aiohttp proxy to the APIs", r["ceiling"]),
        ("mix via gateway, router, Kafka simulator", r.get("gateway_mix", [])),
    ):
        for x in rows:
            lines.append(
                f"    {who + ', ' + x['label']:58}{x['answered_per_s']:>11,.0f} {x['p50_ms']!s:>7} "
                f"{x['p90_ms']!s:>7} {x['p99_ms']!s:>7} {x['max_ms']!s:>7}  {x['statuses']}"
            )
            if "cpu_ms_per_call" in x:
                cpu = ", ".join(f"{k} {v:.2f}" for k, v in x["cpu_ms_per_call"].items())
                lines.append(f"      CPU ms per call: {cpu}")
    if "gateway_peak_rss_mb" in r:
        lines.append(f"    gateway peak RSS {r['gateway_peak_rss_mb']:.0f} MB")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_broker_options(ap)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--port", type=int, default=19680)
    ap.add_argument("--var", type=Path, default=Path("var/bench-gateway"))
    ap.add_argument(
        "--warm-seconds",
        type=float,
        default=WARM_SECONDS,
        help="each kind of call at 64 in flight this long before it is measured",
    )
    args = ap.parse_args(argv)
    print(f"$ python -m ndxp.bench.gateway {' '.join(sys.argv[1:])}")
    with broker_of(args, args.var) as bootstrap:
        result = measure(
            bootstrap, args.var, args.port, args.seconds, args.partitions, args.warm_seconds
        )
    print("\n".join(table(result)))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
