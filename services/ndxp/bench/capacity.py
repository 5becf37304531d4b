"""The capacity benchmark (``make bench``): what this box sustains, measured in one run.

0. **The broker's limit**: Kafka's own perf tools (Java client) produce (acks=all) and consume
   a backlog of 512-byte records on the same broker.
1. **Drain rates** on the same pre-filled topic: a plain aiokafka consume → produce → flush →
   commit loop (a plain Python forwarder), ``ndxp router`` routing alone, and ``ndxp router`` with
   access checks and quotas (inline stage; sample registry, 326 grants, limits on every client);
   then the **ledger's ingest rate** (rows/s into the embedded ClickHouse engine).
2. **Sustained rates and latency** (:mod:`ndxp.bench.sustained`): a paced producer at 1,000
   tx/s, then at 80 % of the router's drain rate, each for ``--seconds``, into a router with
   checks and quotas on: the rate in and the rate out, the lag at the end, and produced →
   routed p50/p99 (the routed record keeps the request's Kafka timestamp; the router adds its
   routing time).
3. **Two workers** sharing the partitions of a backlog: the rate, and — one worker killed with
   SIGKILL mid-run — every message still routed (distinct ids counted on the egress topic).
4. **One national day** (``--day``): 1.5 million requests through the router (checks and quotas
   on) into the ledger: wall time until the last row is in the ledger, and loss/duplicates
   counted in the ledger.

It starts its own broker (port 9194, ``var/bench-capacity``), prints a table and writes JSON.
``make bench-ledger`` adds ledger freshness and report times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import kafka_perf, routing
from ndxp.bench import ledger as ledger_bench
from ndxp.bench.broker import create_topics, own_broker
from ndxp.bench.sustained import PROBE_KEYS, holds, paced
from ndxp.bench.workers import health, skip_backlog, start_router, wait_ready
from ndxp.core import wire
from ndxp.core.topology import TopicSpec, topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry
from ndxp.settings import LedgerSettings

NATIONAL_DAY = 1_500_000
PERF_TOPIC = "ndxp.bench.perf"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200_000, help="backlog for drain rates")
    ap.add_argument(
        "--pair-messages", type=int, default=600_000, help="backlog for the two-worker run"
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="each sustained-rate run")
    ap.add_argument("--day", action="store_true", help="also route and ledger 1.5 M requests")
    ap.add_argument("--port", type=int, default=9194)
    args = ap.parse_args(argv)
    var = REPO / "var" / "bench-capacity"
    shutil.rmtree(var, ignore_errors=True)
    with own_broker(args.port, var) as bootstrap:
        return run(args, bootstrap, var)


def run(args: argparse.Namespace, bootstrap: str, var: Path) -> int:

    import uvloop

    registry = load_registry(DEFAULT_REGISTRY)
    specs = [*topics_for(registry, 3), TopicSpec(routing.PLAIN_OUT, 3)]
    create_topics(bootstrap, specs)
    plain_doc, checked_doc = routing.bench_registries()
    result: dict[str, Any] = {
        "command": "python -m ndxp.bench.capacity " + " ".join(sys.argv[1:]),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
    }

    # 0. the broker's own limit (Kafka's perf tools, Java client)
    create_topics(bootstrap, [TopicSpec(PERF_TOPIC, 3)])
    routing.progress("broker: Kafka's perf tools")
    result["broker"] = {
        "produce": kafka_perf.produce(bootstrap, PERF_TOPIC, 3 * args.messages, 512),
        "consume": kafka_perf.consume(bootstrap, PERF_TOPIC, 3 * args.messages),
    }

    # 1. drain rates on one backlog
    source = wire.ingress_topic(routing.SOURCE_MEMBER)
    run_id = uuid.uuid4().hex[:8]
    routing.fill(bootstrap, source, args.messages, 512, run_id)
    plain = uvloop.run(routing.plain_loop(bootstrap, source, args.messages))
    ns = argparse.Namespace(port=args.port, messages=args.messages)
    alone = routing.route_with(ns, bootstrap, var, run_id, "alone", plain_doc, quotas=False)
    checked = routing.route_with(
        ns, bootstrap, var, run_id, "checked", checked_doc, quotas=True, inline=True
    )
    result["drain"] = {
        "messages": args.messages,
        "plain_aiokafka_rate": round(plain["rate"]),
        "router_alone": alone,
        "router_with_checks": checked,
    }
    top = checked["rate"]

    # 1b. the ledger's ingest rate (its own topics and engine)
    result["ledger_ingest"] = ledger_bench.ingest(
        bootstrap, var / "ledger-ingest", args.messages, args.port + 50
    )

    # 2. sustained rates and latency
    path = var / "registry-checked.json"
    sustained = []
    for rate in (1000.0, round(0.8 * top)):
        sustained.append(paced(bootstrap, var, path, rate, args.seconds, args.port + 20))
    result["sustained"] = sustained
    # the highest sustained rate: 80 % of the drain rate, then +10 % steps until it is not
    probes = [sustained[-1]]
    for factor in (0.9, 1.0, 1.1, 1.2):
        if not holds(probes[-1]):
            break
        probes.append(
            paced(bootstrap, var, path, round(factor * top), args.seconds, args.port + 20)
        )
    held = [p for p in probes if holds(p)]
    result["highest_sustained"] = {
        "tps": max((p["rate_in"] for p in held), default=None),
        "rule": "rate out >= 97 % of rate in, backlog at the end of sending under 0.5 s of "
        "input, nothing lost",
        "probes": [{**{k: p[k] for k in PROBE_KEYS}, "held": holds(p)} for p in probes],
    }

    # 3. two workers, one killed
    result["two_workers"] = two_workers(bootstrap, var, path, args.pair_messages, args.port + 30)

    # 4. one national day
    if args.day:
        result["day"] = national_day(bootstrap, var, path, args.port + 40)

    out = var.parent / "bench" / f"capacity-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    chart(result, out.with_suffix(".png"))
    report(result, out)
    lost = sum(s["lost"] for s in sustained) + result["two_workers"]["lost"]
    lost += result.get("day", {}).get("lost", 0)
    return 1 if lost else 0


def two_workers(bootstrap: str, var: Path, registry: Path, n: int, port: int) -> dict[str, Any]:
    """A backlog routed by two workers of one group; one killed with SIGKILL at 30 %."""
    run_id = uuid.uuid4().hex[:8]
    # a backlog spread over every partition (keys differ), routed without quotas: a client's
    # quota is counted in one place, so one client's requests cannot be spread over workers
    source = wire.ingress_topic(routing.SOURCE_MEMBER)
    group = f"cap-pair-{run_id}"
    skip_backlog(bootstrap, group, [source])
    routing.fill(bootstrap, source, n, 512, run_id, spread=True)
    plain = var / "registry-alone.json"
    first = start_router(bootstrap, var, plain, group, port, "pair-1", quotas=False)
    second = start_router(bootstrap, var, plain, group, port + 1, "pair-2", quotas=False)
    started_ms = int(time.time() * 1000)
    killed_at, killed_ms = None, 0
    try:
        wait_ready(port, first)
        wait_ready(port + 1, second)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            routed = sum(int(health(p).get("routed", 0)) for p in (port, port + 1))
            routing.progress(f"two workers: {routed:,}/{n:,} routed")
            if killed_at is None and routed >= 0.3 * n:
                victim = max((port, port + 1), key=lambda p: int(health(p).get("routed", 0)))
                (first if victim == port else second).send_signal(signal.SIGKILL)
                killed_at, killed_ms = routed, int(time.time() * 1000)
            if killed_at is not None:
                break
            time.sleep(0.1)
        count, first_ms, last_ms = routing.read_routed(
            bootstrap, run_id, n, since_ms=started_ms, patience_s=60
        )
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    routing.progress("")
    return {
        "messages": n,
        "killed_after": killed_at,
        "routed_distinct": count,
        "lost": n - count,
        "rate_both_workers": round((killed_at or 0) / max((killed_ms - first_ms) / 1000, 1e-3), 1),
        "seconds_from_kill_to_last_routed": round((last_ms - killed_ms) / 1000, 1),
    }


def national_day(bootstrap: str, var: Path, registry: Path, port: int) -> dict[str, Any]:
    """1.5 M requests, router with checks and quotas, ledger: wall time, loss, duplicates."""
    from ndxp.ledger.reader import ServiceReader

    run_id = uuid.uuid4().hex[:8]
    source = wire.ingress_topic(routing.SOURCE_MEMBER)
    skip_backlog(bootstrap, f"cap-day-{run_id}", [source])
    registry_doc = load_registry(DEFAULT_REGISTRY)
    egress = [wire.egress_topic(m.id) for m in registry_doc.connected] + [wire.REJECTED_TOPIC]
    skip_backlog(bootstrap, f"cap-ledger-{run_id}", egress)
    fill_s = routing.fill(bootstrap, source, NATIONAL_DAY, 512, run_id)
    env = {**os.environ, "NDXP_VAR": str(var), "NDXP_LOG_LEVEL": "WARNING"}
    ledger_cmd = [str(REPO / ".venv" / "bin" / "ndxp"), "ledger", "run"]
    ledger_env = {
        **env,
        "NDXP_BOOTSTRAP": bootstrap,
        "NDXP_LEDGER_WEB_PORT": str(port + 1),
        "NDXP_LEDGER_GROUP": f"cap-ledger-{run_id}",
        "NDXP_LEDGER_DSN": f"chdb://{var / 'ledger-day'}",
    }
    t0 = time.perf_counter()
    router = start_router(bootstrap, var, registry, f"cap-day-{run_id}", port, "day")
    with (var / "ledger-day.log").open("wb") as log:
        ledger = subprocess.Popen(ledger_cmd, stdout=log, stderr=subprocess.STDOUT, env=ledger_env)
    reader = ServiceReader(port + 1, LedgerSettings(var=var).sql_token_file)
    rss_router: list[int] = []
    rss_ledger: list[int] = []
    q = (
        "SELECT count(), uniqExact(message_id) FROM ndxp.ledger "
        f"WHERE kind = 'request' AND startsWith(message_id, '{run_id}-')"
    )
    rows = distinct = 0
    routed_done = None
    try:
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            rss_router.append(routing._rss_kb(router.pid))
            rss_ledger.append(routing._rss_kb(ledger.pid))
            routed = int(health(port).get("routed", 0))
            if routed >= NATIONAL_DAY and routed_done is None:
                routed_done = time.perf_counter() - t0
            if reader.alive():
                rows, distinct = (int(x) for x in reader.read(q)[1][0])
            routing.progress(
                f"one day: routed {routed:,}, in the ledger {distinct:,} of {NATIONAL_DAY:,}"
            )
            if distinct >= NATIONAL_DAY:
                break
            time.sleep(2)
        wall = time.perf_counter() - t0
    finally:
        for proc in (router, ledger):
            proc.terminate()
            proc.wait(60)
    routing.progress("")
    return {
        "requests": NATIONAL_DAY,
        "fill_seconds": round(fill_s, 1),
        "routed_seconds": round(routed_done or 0, 1),
        "routed_and_ledgered_seconds": round(wall, 1),
        "in_ledger": distinct,
        "ledger_rows": rows,
        "lost": NATIONAL_DAY - distinct,
        "duplicated": rows - distinct,
        "router_peak_rss_mb": round(max(rss_router or [0]) / 1024, 1),
        "ledger_peak_rss_mb": round(max(rss_ledger or [0]) / 1024, 1),
    }


def chart(r: dict[str, Any], png: Path) -> None:
    """Drain rates side by side, and each sustained-rate probe: rate in, rate out, p99."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = r["drain"]
    bars = [
        ("Kafka perf tools\n(produce, Java)", r["broker"]["produce"]["rate"]),
        ("plain aiokafka\nloop", d["plain_aiokafka_rate"]),
        ("router,\nrouting alone", d["router_alone"]["rate"]),
        ("router, checks\n+ quotas", d["router_with_checks"]["rate"]),
        ("ledger\ningest (rows)", r["ledger_ingest"]["rows_per_s"]),
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.bar([b[0] for b in bars], [b[1] for b in bars], color="tab:blue")
    for i, (_, v) in enumerate(bars):
        left.annotate(f"{v:,.0f}", (i, v), ha="center", va="bottom", fontsize=8)
    left.set_ylabel("messages per second")
    left.set_title(f"draining {d['messages']:,} requests (same broker, same run)")
    left.tick_params(axis="x", labelsize=7)
    probes = r["highest_sustained"]["probes"]
    x = [p["rate_in"] for p in probes]
    right.plot(x, [p["rate_out"] for p in probes], "o-", label="rate out (routed/s)")
    right.plot(x, x, ":", color="grey", label="rate in")
    for p in probes:
        right.annotate(
            f"p99 {p['p99_ms']:.0f} ms\n{'held' if p['held'] else 'not held'}",
            (p["rate_in"], p["rate_out"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, -22),
        )
    right.set_xlabel("rate in (tx/s, paced producer)")
    right.set_ylabel("tx/s")
    right.set_title("sustained rate, checks + quotas on")
    right.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"ndxp capacity on {r['machine']['cores']} cores, broker on the same box")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def report(r: dict[str, Any], out: Path) -> None:
    d = r["drain"]
    print()
    print(f"capacity on {r['machine']['cores']} cores (broker on the same box)")
    b = r["broker"]
    print(
        f"  broker (Kafka's perf tools, 512 B): produce {b['produce']['rate']:>8,} msg/s "
        f"(acks=all, p99 {b['produce']['p99_ms']} ms), consume {b['consume']['rate']:,} msg/s"
    )
    print(f"  drain, {d['messages']:,} requests:")
    print(f"    plain aiokafka loop            {d['plain_aiokafka_rate']:>8,} msg/s")
    print(
        f"    router, routing alone          {d['router_alone']['rate']:>8,.0f} msg/s  "
        f"{d['router_alone']['peak_rss_mb']:.0f} MB"
    )
    print(
        f"    router, checks + quotas        {d['router_with_checks']['rate']:>8,.0f} msg/s  "
        f"{d['router_with_checks']['peak_rss_mb']:.0f} MB  "
        f"({d['router_with_checks']['rate'] / d['plain_aiokafka_rate']:.2f} of the plain loop)"
    )
    li = r["ledger_ingest"]
    print(
        f"    ledger ingest                  {li['rows_per_s']:>8,} rows/s "
        f"{li['peak_rss_mb']:.0f} MB"
    )
    print("  sustained, checks + quotas on:")
    for s in r["sustained"]:
        print(
            f"    {s['target_tps']:>6,.0f} tx/s target: in {s['rate_in']:,.0f}/s, out "
            f"{s['rate_out']:,.0f}/s, produced→routed p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms, "
            f"lost {s['lost']}, {s['router_peak_rss_mb']:.0f} MB"
        )
    h = r["highest_sustained"]
    steps = ", ".join(
        f"{p['rate_in']:,.0f} {'held' if p['held'] else 'not held'}" for p in h["probes"]
    )
    top = "none" if h["tps"] is None else f"{h['tps']:,.0f} tx/s"
    print(f"  highest sustained rate, checks + quotas on: {top} (probes: {steps})")
    w = r["two_workers"]
    print(
        f"  two workers (routing alone): {w['rate_both_workers']:,.0f} msg/s together; one "
        f"killed after {w['killed_after']:,}: {w['routed_distinct']:,} of {w['messages']:,} "
        f"routed, the last {w['seconds_from_kill_to_last_routed']:g} s after the kill "
        f"(session timeout 10 s), lost {w['lost']}"
    )
    if "day" in r:
        day = r["day"]
        print(
            f"  one national day ({day['requests']:,} requests): routed in "
            f"{day['routed_seconds']:,.0f} s, routed and in the ledger in "
            f"{day['routed_and_ledgered_seconds']:,.0f} s; lost {day['lost']}, duplicated "
            f"{day['duplicated']}; router {day['router_peak_rss_mb']:.0f} MB, ledger "
            f"{day['ledger_peak_rss_mb']:.0f} MB"
        )
    print(f"command: {r['command']}\nwritten: {out.relative_to(REPO)} (chart: .png beside it)")


if __name__ == "__main__":
    sys.exit(main())
