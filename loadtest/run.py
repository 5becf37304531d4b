"""``make loadtest PROFILE=steady DURATION=60``: run a Locust profile headless against the
platform, then verify against the ledger that nothing was lost, and write a report folder.

Steps: start the platform (``infra/platform.sh start``, idempotent) unless ``--no-platform``;
wait until a probe request is answered (router, provider simulator and consumers ready); run
Locust headless with the profile (progress every few seconds); wait for the ledger to catch up;
check that every request Locust sent is in the ledger exactly once, every routed one with its
response; write ``var/loadtest/<time>-<profile>/`` (Locust's HTML and CSV files, ``summary.json``,
``chart.png``); print a one-screen summary. Exit 1 when anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--profile",
        default="steady",
        choices=["steady", "workday", "peak", "stress", "documents"],
    )
    ap.add_argument("--duration", type=float, default=60.0, help="seconds")
    ap.add_argument("--processes", type=int, default=1, help="Locust processes (distributed)")
    ap.add_argument("--user-rate", type=float, default=0.0, help="requests/s per user")
    ap.add_argument("--no-platform", action="store_true", help="use what is already running")
    ap.add_argument(
        "--http",
        action="store_true",
        help="call over HTTP through the X-Road REST gateway (loadtest/locustfile_http.py)",
    )
    ap.add_argument(
        "--gateway",
        default=f"http://127.0.0.1:{os.environ.get('NDXP_GATEWAY_PORT', '8080')}",
        help="the gateway's URL (with --http)",
    )
    ap.add_argument(
        "--documents",
        action="store_true",
        help="document traffic: agencies sending official documents "
        "(loadtest/locustfile_documents.py; profile documents unless stress is given)",
    )
    ap.add_argument("--bootstrap", default=os.environ.get("NDXP_BOOTSTRAP", "127.0.0.1:9092"))
    ap.add_argument(
        "--ledger-port", type=int, default=int(os.environ.get("NDXP_LEDGER_WEB_PORT", "6067"))
    )
    ap.add_argument(
        "--router-port", type=int, default=int(os.environ.get("NDXP_ROUTER_WEB_PORT", "6066"))
    )
    ap.add_argument(
        "--out", type=Path, help="report folder (default var/loadtest/<time>-<profile>)"
    )
    args = ap.parse_args(argv)
    if args.documents and args.profile != "stress":
        args.profile = "documents"
    run = uuid.uuid4().hex[:8]
    out = args.out or REPO / "var" / "loadtest" / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.profile}"
    out.mkdir(parents=True, exist_ok=True)
    user_rate = args.user_rate or (
        0.5 if args.documents else 1.0 if args.profile in ("steady", "workday") else 5.0
    )

    if not args.no_platform:
        subprocess.run([str(REPO / "infra" / "platform.sh"), "start"], check=True)
    if args.documents:  # nothing answers a document: the router ready is what it takes
        say(f"waiting for the router's health (port {args.router_port})")
        deadline = time.monotonic() + 120
        while not (health(args.router_port) or {}).get("ready"):
            if time.monotonic() > deadline:
                raise SystemExit("the router is not ready after 120 s: is the platform running?")
            time.sleep(1)
        say("platform ready")
    else:
        say(f"waiting for a probe request to be answered (broker {args.bootstrap})")
        probe_ms = probe(args.bootstrap)
        say(f"platform ready: probe answered in {probe_ms:.0f} ms")

    env = {
        **os.environ,
        "NDXP_BOOTSTRAP": args.bootstrap,
        "NDXP_PROFILE": args.profile,
        "NDXP_DURATION_S": str(args.duration),
        "NDXP_USER_RATE": str(user_rate),
        "NDXP_LOADTEST_RUN": run,
        "NDXP_LOADTEST_OUT": str(out),
        "NDXP_GATEWAY_URL": args.gateway,
    }
    locustfile = (
        "locustfile_documents.py"
        if args.documents
        else "locustfile_http.py"
        if args.http
        else "locustfile.py"
    )
    cmd = [
        str(BIN / "locust"),
        "-f",
        str(REPO / "loadtest" / locustfile),
        "--headless",
        "--only-summary",
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--html",
        str(out / "locust.html"),
    ]
    if args.http:
        # an HTTP user is a call in flight until its answer: let it finish when the profile
        # ends, or Locust cuts it off after it was sent (then it is in the ledger, uncounted)
        cmd += ["--stop-timeout", str(int(float(env.get("NDXP_LOADTEST_TIMEOUT_S", "30"))) + 5)]
    if args.processes > 1:
        cmd += ["--processes", str(args.processes)]
    say(f"locust: profile {args.profile}, {args.duration:g} s, run id {run} — " + " ".join(cmd[1:]))
    started = time.time()
    stop = threading.Event()
    watcher = threading.Thread(target=progress, args=(out / "locust_stats_history.csv", stop))
    watcher.start()
    with (out / "locust.log").open("wb") as log:
        rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    stop.set()
    watcher.join()
    elapsed = time.time() - started
    if rc not in (0, 1):  # 1: Locust saw failures (they are counted below)
        print((out / "locust.log").read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"locust exited with {rc}")

    counts = sent_counts(out)
    say(f"locust done: {counts['delivered']:,} requests delivered; checking the ledger")
    if args.documents:
        ledger = verify_documents(args.ledger_port, run, counts)
    else:
        ledger = verify(args.ledger_port, run, counts)
    summary = {
        "command": "python loadtest/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "profile": args.profile,
        "duration_s": args.duration,
        "elapsed_s": round(elapsed, 1),
        "processes": args.processes,
        "user_rate": user_rate,
        "run_id": run,
        "locust": {**counts, **aggregate(out / "locust_stats.csv")},
        "failures_by_code": counts.get("by_code", {}),
        "ledger": ledger,
        "router": health(args.router_port),
        "stress": read_json(out / "stress.json"),
        "report": str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    chart(out / "locust_stats_history.csv", out / "chart.png", args.profile)
    print_summary(summary)
    return 0 if ledger["lost"] == 0 and ledger["duplicated"] == 0 else 1


def say(text: str) -> None:
    print(f"loadtest: {text}", file=sys.stderr, flush=True)


def probe(bootstrap: str, timeout_s: float = 120.0) -> float:
    """Send a request as Nghệ An's one-stop shop to the population database until answered."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    client, service = (
        "VN:GOV:000.00.00.H41:motcua",
        "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1",
    )
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "ndxp-loadtest-probe",
            "enable.auto.commit": False,
        }
    )
    topic = "ndxp.out.000.00.00.H41"
    parts = c.list_topics(topic, timeout=30).topics[topic].partitions
    c.assign(
        [
            TopicPartition(
                topic, p, c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            )
            for p in parts
        ]
    )
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            mid = f"probe-{uuid.uuid4()}"
            t0 = time.perf_counter()
            headers = [
                ("ndxp-id", mid),
                ("ndxp-kind", "request"),
                ("ndxp-client", client),
                ("ndxp-service", service),
            ]
            p.produce(
                "ndxp.in.000.00.00.H41",
                b"{}",
                key=client.encode(),
                headers=[(k, v.encode()) for k, v in headers],
            )
            p.flush(10)
            until = time.monotonic() + 5
            while time.monotonic() < until:
                m = c.poll(0.2)
                if (
                    m is not None
                    and m.error() is None
                    and dict(m.headers() or []).get("ndxp-correlation-id") == mid.encode()
                ):
                    return (time.perf_counter() - t0) * 1000
        raise SystemExit(
            f"no answer to a probe request in {timeout_s:g} s: is the platform running?"
        )
    finally:
        c.close()


def progress(history: Path, stop: threading.Event) -> None:
    """Every 5 s: users, throughput, failures and latency from Locust's history file."""
    while not stop.wait(5):
        row = last_aggregated(history)
        if row:
            rps, fails = float(row.get("Requests/s") or 0), float(row.get("Failures/s") or 0)
            line = (
                f"{row.get('User Count', '?'):>5} users {rps:7.1f} req/s {fails:5.1f} fail/s "
                f"p50 {row.get('50%', 'N/A'):>5} ms p99 {row.get('99%', 'N/A'):>6} ms "
                f"total {row.get('Total Request Count', 0)}"
            )
            if sys.stderr.isatty():
                print(f"\rloadtest: {line}", end="", file=sys.stderr, flush=True)
            else:
                print(f"loadtest: {line}", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def last_aggregated(history: Path) -> dict[str, str] | None:
    if not history.exists():
        return None
    last = None
    with history.open() as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated":
                last = row
    return last


def sent_counts(out: Path) -> dict[str, Any]:
    total: dict[str, Any] = {
        "sent": 0,
        "delivered": 0,
        "send_failed": 0,
        "answered": 0,
        "refused": 0,
        "timed_out": 0,
        "late": 0,
        "by_code": {},
        "notices_sent": 0,
        "notices_delivered": 0,
        "notices_failed": 0,
        "documents_delivered": 0,
        "deliveries_expected": 0,
        "copies_seen": 0,
    }
    for f in sorted(out.glob("process-*.json")):
        one = json.loads(f.read_text())
        for k in total:
            if k == "by_code":
                for code, n in one.get("by_code", {}).items():
                    total["by_code"][code] = total["by_code"].get(code, 0) + n
            else:
                total[k] += one.get(k, 0)
    return total


def verify(
    ledger_port: int, run: str, counts: dict[str, Any], wait_s: float = 180.0
) -> dict[str, Any]:
    """The ledger's view of this run's requests, once it has caught up (or after wait_s)."""
    sys.path.insert(0, str(REPO / "services"))
    from ndxp.ledger.reader import ServiceReader
    from ndxp.settings import LedgerSettings

    reader = ServiceReader.of(LedgerSettings.from_env(web_port=ledger_port))
    prefix = f"lt{run}-"
    q_requests = (
        "SELECT count(), uniqExact(message_id), uniqExactIf(message_id, outcome = 'routed'), "
        "uniqExactIf(message_id, outcome = 'rejected') FROM ndxp.ledger "
        f"WHERE kind = 'request' AND startsWith(message_id, '{prefix}')"
    )
    q_responses = (
        "SELECT count(), uniqExact(correlation_id) FROM ndxp.ledger "
        f"WHERE kind = 'response' AND startsWith(correlation_id, '{prefix}')"
    )
    q_notices = (
        "SELECT count(), uniqExact(message_id), uniqExactIf(message_id, outcome = 'routed') "
        f"FROM ndxp.ledger WHERE kind = 'notice' AND startsWith(message_id, '{prefix}')"
    )
    deadline = time.monotonic() + wait_s
    while True:
        rows, distinct, routed, rejected = (int(x) for x in reader.read(q_requests)[1][0])
        responses, answered = (int(x) for x in reader.read(q_responses)[1][0])
        notice_rows, notices, notices_routed = (int(x) for x in reader.read(q_notices)[1][0])
        caught_up = (
            distinct >= counts["delivered"]
            and answered >= counts["answered"]
            and notices >= counts.get("notices_delivered", 0)
        )
        if caught_up or time.monotonic() > deadline:
            break
        time.sleep(1)
    lost_notices = max(0, counts.get("notices_delivered", 0) - notices)
    return {
        "notices_in_ledger": notices,
        "notices_routed": notices_routed,
        "lost_notices": lost_notices,
        "requests_in_ledger": distinct,
        "request_rows": rows,
        "routed": routed,
        "rejected": rejected,
        "responses_in_ledger": answered,
        "response_rows": responses,
        "lost": max(0, counts["delivered"] - distinct) + lost_notices,
        "duplicated": (rows - distinct) + (responses - answered) + (notice_rows - notices),
        "routed_without_response": max(0, routed - answered),
    }


def aggregate(stats_csv: Path) -> dict[str, Any]:
    if not stats_csv.exists():
        return {}
    with stats_csv.open() as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated":
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": round(float(row["Requests/s"]), 2),
                    "p50_ms": _num(row.get("50%")),
                    "p95_ms": _num(row.get("95%")),
                    "p99_ms": _num(row.get("99%")),
                    "max_ms": _num(row.get("Max Response Time")),
                }
    return {}


def _num(text: str | None) -> float | None:
    try:
        return round(float(text or ""), 1)
    except ValueError:
        return None


def health(port: int) -> dict[str, Any] | None:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def chart(history: Path, png: Path, profile: str) -> None:
    """Throughput (and failures) and round-trip p50/p99 over the run."""
    if not history.exists():
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, rps, fails, p50, p99, users = [], [], [], [], [], []
    t0 = None
    with history.open() as f:
        for row in csv.DictReader(f):
            if row.get("Name") != "Aggregated":
                continue
            ts = int(row["Timestamp"])
            t0 = ts if t0 is None else t0
            t.append(ts - t0)
            rps.append(float(row["Requests/s"] or 0))
            fails.append(float(row["Failures/s"] or 0))
            p50.append(_num(row.get("50%")) or float("nan"))
            p99.append(_num(row.get("99%")) or float("nan"))
            users.append(int(row["User Count"] or 0))
    if not t:
        return
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(t, rps, label="answered requests/s")
    top.plot(t, fails, label="failures/s", color="tab:red")
    top.set_ylabel("per second")
    top.legend(loc="upper left")
    top.set_title(f"ndxp load test — profile {profile}")
    bottom.plot(t, p50, label="round trip p50")
    bottom.plot(t, p99, label="round trip p99", color="tab:orange")
    bottom.set_ylabel("ms")
    bottom.set_xlabel("seconds")
    bottom.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def verify_documents(
    ledger_port: int, run: str, counts: dict[str, Any], wait_s: float = 180.0
) -> dict[str, Any]:
    """The ledger's view of this run's documents: each once per receiver (a row per
    delivery or per receiver refused), once it has caught up (or after wait_s)."""
    sys.path.insert(0, str(REPO / "services"))
    from ndxp.ledger.reader import ServiceReader
    from ndxp.settings import LedgerSettings

    reader = ServiceReader.of(LedgerSettings.from_env(web_port=ledger_port))
    q = (
        "SELECT count(), uniqExact(message_id), uniqExact(message_id, receiver), "
        "uniqExactIf((message_id, receiver), outcome = 'routed') FROM ndxp.ledger "
        f"WHERE kind = 'document' AND startsWith(message_id, 'lt{run}-')"
    )
    deadline = time.monotonic() + wait_s
    while True:
        rows, documents, deliveries, routed = (int(x) for x in reader.read(q)[1][0])
        caught_up = (
            documents >= counts["documents_delivered"]
            and deliveries >= counts["deliveries_expected"]
        )
        if caught_up or time.monotonic() > deadline:
            break
        time.sleep(1)
    return {
        "documents_in_ledger": documents,
        "deliveries_in_ledger": deliveries,
        "deliveries_routed": routed,
        "rows": rows,
        "lost": max(0, counts["documents_delivered"] - documents)
        + max(0, counts["deliveries_expected"] - deliveries),
        "duplicated": rows - deliveries,
    }


def print_summary(s: dict[str, Any]) -> None:
    if s["profile"] == "documents" or "documents_in_ledger" in s["ledger"]:
        print_documents_summary(s)
        return
    loc, led = s["locust"], s["ledger"]
    lines = [
        f"ndxp load test — profile {s['profile']}, {s['duration_s']:g} s, "
        f"{s['processes']} Locust process(es), run {s['run_id']}",
        f"  sent {loc['sent']:,}  delivered {loc['delivered']:,}  answered {loc['answered']:,}  "
        f"refused {loc['refused']:,}  timed out {loc['timed_out']:,}",
    ]
    cut_off = loc["sent"] - loc["delivered"] - loc.get("send_failed", 0)
    if cut_off > 0:  # over HTTP: calls in flight when Locust stopped its users
        lines.append(
            f"  cut off when the run ended: {cut_off:,} (their clients saw no answer; "
            "each is in the ledger or was never sent)"
        )
    if loc.get("requests") is not None:
        lines.append(
            f"  {loc.get('rps', 0):,.1f} req/s answered; round trip p50 {loc.get('p50_ms')} ms, "
            f"p95 {loc.get('p95_ms')} ms, p99 {loc.get('p99_ms')} ms, max {loc.get('max_ms')} ms"
        )
    if s["failures_by_code"]:
        codes = ", ".join(f"{k} {v}" for k, v in sorted(s["failures_by_code"].items()))
        lines.append(f"  refused by code: {codes}")
    lines += [
        f"  ledger: {led['requests_in_ledger']:,} requests ({led['routed']:,} routed, "
        f"{led['rejected']:,} rejected), {led['responses_in_ledger']:,} responses",
        f"  notices (one-way, not in the round trips above): sent {loc['notices_sent']:,}, "
        f"delivered {loc['notices_delivered']:,}, in the ledger {led['notices_in_ledger']:,} "
        f"({led['notices_routed']:,} routed)",
        f"  lost {led['lost']}, duplicated {led['duplicated']}, "
        f"routed without a response {led['routed_without_response']}",
    ]
    if s.get("stress"):
        top = s["stress"]["highest_sustained_tps"]
        lines.append(f"  stress: highest sustained {top:,.0f} tx/s (steps in summary.json)")
    lines.append(f"  report: {s['report']}/ (locust.html, locust_*.csv, summary.json, chart.png)")
    ok = led["lost"] == 0 and led["duplicated"] == 0
    lines.append("  PASS: nothing lost, nothing duplicated" if ok else "  FAIL: see above")
    lines.append("  the platform is left running for another run: make stop stops it")
    print("\n" + "\n".join(lines))


def print_documents_summary(s: dict[str, Any]) -> None:
    loc, led = s["locust"], s["ledger"]
    lines = [
        f"ndxp load test — documents, profile {s['profile']}, {s['duration_s']:g} s, "
        f"run {s['run_id']}",
        f"  documents sent {loc['sent']:,}  delivered {loc['documents_delivered']:,}  "
        f"to {loc['deliveries_expected']:,} receivers; every receiver had it: "
        f"{loc['answered']:,}; refused {loc['refused']:,}; timed out {loc['timed_out']:,}",
    ]
    if loc.get("requests") is not None:
        lines.append(
            f"  {loc.get('rps', 0):,.1f} documents/s; sent → every receiver has it: p50 "
            f"{loc.get('p50_ms')} ms, p95 {loc.get('p95_ms')} ms, p99 {loc.get('p99_ms')} ms, "
            f"max {loc.get('max_ms')} ms"
        )
    lines += [
        f"  ledger: {led['documents_in_ledger']:,} documents, {led['deliveries_in_ledger']:,} "
        f"deliveries ({led['deliveries_routed']:,} routed)",
        f"  lost {led['lost']}, duplicated {led['duplicated']}",
        f"  report: {s['report']}/ (locust.html, locust_*.csv, summary.json, chart.png)",
        "  PASS: nothing lost, nothing duplicated"
        if led["lost"] == 0 and led["duplicated"] == 0
        else "  FAIL: see above",
    ]
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
