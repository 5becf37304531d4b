"""Ledger benchmark: ingest rate, freshness, and `ndxp report --month` on a large history.

Run: ``make bench-ledger`` (or ``python -m ndxp.bench.ledger --messages 300000 --scale 0.06``).

1. ingest — N routed-message records are written to the egress topics first (as the router
   writes them: headers, routing time, ingress coordinates), then a fresh ledger service reads
   and inserts them all; rows/s is measured from its first insert to its last.
2. freshness — with the ledger running, a stream at a steady rate; for each row,
   ``ingested_at − routed_at`` (routing → visible in the ledger), p50/p99.
3. report — ``ndxp ledger synth`` builds a history of ≥ 100 M rows at the given scale, then the
   monthly report (March 2022) is timed, cold and warm.

It starts its own broker (port 9193, var/bench-ledger) and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import backlog
from ndxp.bench.broker import create_topics, own_broker
from ndxp.bench.routing import progress
from ndxp.paths import REPO

SERVICE = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
TOPICS = ["ndxp.out.000.00.01.G01", "ndxp.out.000.00.00.H41", "ndxp.out.000.00.18.G12"]
SOURCE_TOPIC = "ndxp.in.000.00.00.H41"


def produce(bootstrap: str, n: int, run: str, first: int, rate: float = 0.0) -> None:
    """``n`` copies as ``ndxp router`` writes them (:func:`ndxp.router.forwarding.routed`:
    routing time, route and the ingress coordinates the ledger keys its rows by), of requests
    from H41's three ingress partitions at offsets from ``first`` up on each (each phase of the
    bench starts above the last, so that no two copies are one ingress record)."""
    from confluent_kafka import Producer

    from ndxp.router.forwarding import Source, routed

    p = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 10, "acks": "all", "enable.idempotence": True}
    )
    payload = os.urandom(600)
    t0 = time.perf_counter()
    for i in range(n):
        now = int(time.time() * 1000)
        headers = [
            ("ndxp-id", f"{run}-{i}".encode()),
            ("ndxp-kind", b"request"),
            ("ndxp-client", b"VN:GOV:000.00.00.H41:motcua"),
            ("ndxp-service", SERVICE.encode()),
        ]
        source = Source(SOURCE_TOPIC, i % 3, first + i // 3, now)
        topic = TOPICS[i % 3]
        route = topic.removeprefix("ndxp.out.")
        copy = routed(topic, str(i).encode(), payload, headers, route, source, now)
        backlog.produce(
            p, copy.topic, copy.value, key=copy.key, headers=list(copy.headers), timestamp=now
        )
        if rate:
            ahead = i / rate - (time.perf_counter() - t0)
            if ahead > 0:
                time.sleep(ahead)
        if i % 10000 == 0:
            p.poll(0)
            progress(f"producing {i:,}/{n:,}")
    p.flush(60)
    progress("")


def health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def sql(port: int, query: str) -> list[list[Any]]:
    from ndxp.ledger.reader import ServiceReader
    from ndxp.settings import LedgerSettings

    reader = ServiceReader.of(LedgerSettings.from_env(web_port=port))  # the ledger's var
    return [list(r) for r in reader.read(query)[1]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=300_000, help="ingest test size")
    ap.add_argument("--fresh-rate", type=float, default=2000.0, help="msg/s for freshness")
    ap.add_argument("--fresh-seconds", type=float, default=20.0)
    ap.add_argument(
        "--scale",
        type=float,
        default=0.06,
        help="synthetic history scale for the report test (0.06 ≈ 107 M rows)",
    )
    ap.add_argument("--port", type=int, default=9193)
    args = ap.parse_args(argv)
    var = REPO / "var" / "bench-ledger"
    shutil.rmtree(var, ignore_errors=True)
    with own_broker(args.port, var) as bootstrap:
        result = run(args, bootstrap, var)
    out = REPO / "var" / f"bench-ledger-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written: {out.relative_to(REPO)}")
    return 0


def ingest(
    bootstrap: str, var: Path, n: int, port: int, keep_running: bool = False
) -> dict[str, Any]:
    """``n`` ledger records produced first, then a ledger service started on them: rows per
    second from its first to its last insert, and its peak memory. ``keep_running``: the
    ledger process is left running, under ``"process"``."""

    from ndxp.core.topology import TopicSpec

    var.mkdir(parents=True, exist_ok=True)
    create_topics(bootstrap, [TopicSpec(t, 3) for t in [*TOPICS, "ndxp.rejected"]])
    run_id = uuid.uuid4().hex[:8]
    produce(bootstrap, n, run_id, 0)
    ledger = subprocess.Popen(
        [
            str(REPO / ".venv" / "bin" / "ndxp"),
            "ledger",
            "run",
            "--bootstrap",
            bootstrap,
            "--dsn",
            f"chdb://{var / 'ledger'}",
            "--web-port",
            str(port),
        ],
        stdout=(var / "ledger.log").open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "NDXP_LOG_LEVEL": "WARNING", "NDXP_LEDGER_GROUP": f"bench-{run_id}"},
    )
    try:
        # Until it has read everything there is (other benches' rows too, on a shared
        # broker): the rate runs from its first insert to its last.
        first = last = None
        done, lag = 0, 1
        while done < n or lag:
            if ledger.poll() is not None:
                raise RuntimeError(f"ledger exited; see {var / 'ledger.log'}")
            h = health(port)
            if h:
                if h["rows_inserted"] > done:
                    last = time.perf_counter()
                done, lag = h["rows_inserted"], h.get("lag", 1)
                if done and first is None:
                    first = (time.perf_counter(), done)
            progress(f"ledger ingest: {done:,} rows ({n:,} produced for it)")
            time.sleep(0.05)
        progress("")
        assert first is not None and last is not None
        rate = (done - first[1]) / max(last - first[0], 1e-3)
        out: dict[str, Any] = {
            "rows": done,
            "rows_per_s": round(rate),
            "peak_rss_mb": round(_hwm(ledger.pid) / 1024),
        }
    except BaseException:
        ledger.terminate()
        ledger.wait(30)
        raise
    if keep_running:
        out["process"] = ledger
    else:
        ledger.terminate()
        ledger.wait(30)
    return out


def ingest_copies(
    bootstrap: str, var: Path, port: int, start: dict[tuple[str, int], int], rows: int
) -> dict[str, Any]:
    """``ndxp ledger run`` (default settings, a fresh engine folder) on the copies a router
    wrote from ``start`` (egress topics and ``ndxp.rejected``: one row per ingress record,
    ``rows`` of them): rows per second from its first insert to its last, read from the rows'
    own ``ingested_at`` (one value per insert), and its peak memory."""
    import clickhouse_connect

    from ndxp.bench import procs
    from ndxp.bench.offsets import Offsets

    offsets = Offsets(bootstrap)
    group = f"bench-ledger-{uuid.uuid4().hex[:6]}"
    offsets.start_group_at(group, start)
    dsn = f"chdb://{var / f'ledger-{group}'}"
    ledger = procs.ledger(bootstrap, var, group, port, dsn, group)
    try:
        deadline = time.monotonic() + 1800
        while True:
            ledger.keep_alive()
            lag = offsets.lag(group, list(start))
            progress(f"ledger ingest: {lag:,} records to go, {ledger.sample() // 1024} MB")
            if lag == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"ledger ingest: {lag:,} records left after 30 minutes")
            time.sleep(0.5)
    finally:
        ledger.stop()
        progress("")
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        batches = client.query(
            "SELECT toUnixTimestamp64Milli(ingested_at) AS t, count() FROM ndxp.ledger "
            "GROUP BY t ORDER BY t"
        ).result_rows
    finally:
        client.close()
    total = sum(n for _, n in batches)
    # the first insert's rows were read before the clock starts (its end is its stamp)
    span_s = (batches[-1][0] - batches[0][0]) / 1000 if len(batches) > 1 else 0.0
    return {
        "rows": total,
        "expected_rows": rows,
        "inserts": len(batches),
        "rows_per_s": round((total - batches[0][1]) / span_s) if span_s else None,
        "peak_rss_mb": ledger.peak_rss_mb,
        "restarts": ledger.exits,
    }


def run(args: argparse.Namespace, bootstrap: str, var: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "command": "python -m ndxp.bench.ledger " + " ".join(sys.argv[1:]),
        "cores": os.cpu_count(),
    }
    # 1. ingest
    port = args.port + 20
    result["ingest"] = ingest(bootstrap, var, args.messages, port, keep_running=True)
    ledger = result["ingest"].pop("process")
    try:
        # 2. freshness under a steady stream
        fresh = uuid.uuid4().hex[:8]
        n = int(args.fresh_rate * args.fresh_seconds)
        produce(bootstrap, n, fresh, args.messages, rate=args.fresh_rate)
        where = f"startsWith(message_id, '{fresh}-')"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sql(port, f"SELECT count() FROM ndxp.ledger WHERE {where}")[0][0] >= n:
                break
            time.sleep(0.5)
        [[count, p50, p99, mx]] = sql(
            port,
            f"""
            SELECT count(), quantile(0.5)(d), quantile(0.99)(d), max(d) FROM (
              SELECT toUnixTimestamp64Milli(ingested_at) - toUnixTimestamp64Milli(routed_at) AS d
              FROM ndxp.ledger WHERE {where})""",
        )
        result["freshness_ms"] = {
            "rate_msg_s": args.fresh_rate,
            "rows": count,
            "p50": round(p50),
            "p99": round(p99),
            "max": mx,
        }
    finally:
        ledger.terminate()
        ledger.wait(30)
    # 3. the report over a big synthetic history (the ledger process has released the engine)
    from ndxp.ledger import report
    from ndxp.ledger.store import LedgerStore
    from ndxp.ledger.synth import synthesize
    from ndxp.paths import DEFAULT_REGISTRY
    from ndxp.registry_file import load_registry

    store = LedgerStore(f"chdb://{var / 'ledger'}")
    registry = load_registry(DEFAULT_REGISTRY)
    synth = synthesize(store, registry, args.scale, (2021, 1), (2023, 5))
    [[rows]] = store.read("SELECT count() FROM ndxp.ledger")[1]
    period = report.parse_period("2022-03", None, None, None)
    timings = []
    for _ in range(3):
        t = time.perf_counter()
        r = report.build(store, period, registry)
        timings.append(round(time.perf_counter() - t, 3))
    result["report"] = {
        "history_rows": rows,
        "synth_seconds": round(synth["seconds"], 1),
        "synth_requests_per_s": round(synth["requests"] / synth["seconds"]),
        "month": "2022-03",
        "transactions": r["transactions"],
        "growth": r["growth_factor"],
        "seconds_cold_then_warm": timings,
        "disk_mb": round(_du(var / "ledger") / 2**20),
    }
    store.close()
    return result


def _hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


if __name__ == "__main__":
    sys.exit(main())
