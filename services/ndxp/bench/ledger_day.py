"""The ledger through a national day and beyond: ingest with the day's table already full.

Run: ``make bench-ledger-day`` (or ``python -m ndxp.bench.ledger_day --present
0,3000000,30000000 --messages 300000``).

1. **Copies**: ``--messages`` routed copies (requests of the many-agency mix and their
   responses) written to the egress topics exactly as ``ndxp router`` writes them
   (:mod:`ndxp.bench.routed_copies`), once for the whole run; their ingress offsets lie above
   every row pre-filled below.
2. For each count in ``--present``, on an engine folder of its own:

   - **pre-fill**: the day's table gets that many rows of the same day on the same ingress
     partitions, made inside the engine (:mod:`ndxp.bench.prefill`), timed;
   - **fresh**: ``ndxp ledger run`` at its default settings, a fresh consumer group, reads
     the copies (:mod:`ndxp.bench.ledger_run`): rows/s, per-batch insert and duplicate-check
     times, peak RSS;
   - **replays**: the same copies again, another fresh group and a new process (a day
     re-ingested, as after a lost consumer group): every copy is already in the ledger, and
     the rows added must be 0, counted by source identity in the engine afterwards.

It starts its own broker (port 9195, ``var/bench-ledger-day``), prints a table headed by the
command that produced it, and writes ``var/bench/ledger-day-<time>.json`` and a chart beside
it (rows/s and per-batch time against the rows present).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import ledger_run, prefill, routed_copies
from ndxp.bench.backlog import progress
from ndxp.bench.broker import own_broker, stop_broker
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import Offsets
from ndxp.core.days import VN_UTC_OFFSET_S
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

PARTITIONS = 3  # the platform's default per topic
ROUTER_RATE = 20_000  # msg/s the router drains on the development box (issue 12)
REPLAY_AIM = 0.5  # replays at least half as fast as fresh ingest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--present",
        default="0,3000000,30000000",
        help="rows already in the day's table, comma-separated",
    )
    ap.add_argument("--messages", type=int, default=300_000, help="copies: requests + responses")
    ap.add_argument("--port", type=int, default=9195)
    ap.add_argument("--keep", action="store_true", help="keep the engine folders")
    ap.add_argument("--table", type=Path, help="print the table (and chart) of a run's JSON")
    args = ap.parse_args(argv)
    if args.table:
        done = json.loads(args.table.read_text())
        chart(done, args.table.with_suffix(".png"))
        print_table(done, args.table.resolve())
        return 0
    present = [int(x) for x in args.present.split(",") if x.strip()]
    var = REPO / "var" / "bench-ledger-day"
    stop_broker(args.port, var)  # before its pid file goes with the folder
    shutil.rmtree(var, ignore_errors=True)
    (var / "logs").mkdir(parents=True)
    out = REPO / "var" / "bench" / f"ledger-day-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with own_broker(args.port, var) as bootstrap:
        result = run(bootstrap, var, present, args.messages, args.port + 10, out, args.keep)
    chart(result, out.with_suffix(".png"))
    print_table(result, out)
    bad = [r["present"] for r in result["runs"] if r["replay"]["rows_added"] != 0]
    if bad:
        print(f"REPLAYS ADDED ROWS with {bad} rows present", file=sys.stderr)
    return 1 if bad else 0


def command() -> str:
    return "python -m ndxp.bench.ledger_day " + " ".join(sys.argv[1:])


def day_start_ms(epoch_ms: int) -> int:
    """The start of the Vietnamese calendar day holding ``epoch_ms``."""
    local_s = epoch_ms // 1000 + VN_UTC_OFFSET_S
    return (local_s - local_s % 86400 - VN_UTC_OFFSET_S) * 1000


def run(
    bootstrap: str,
    var: Path,
    present: list[int],
    messages: int,
    port: int,
    out: Path,
    keep: bool,
) -> dict[str, Any]:
    from ndxp.ledger.store import LedgerStore

    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics(topics_for(registry, PARTITIONS))
    egress = egress_partitions(offsets, registry)
    run_id = f"d{uuid.uuid4().hex[:6]}"
    planned = routed_copies.plan(registry, run_id, messages // 2, PARTITIONS)
    weights = routed_copies.per_source(planned)
    base = prefill.shares(weights, max(present, default=0))
    written = routed_copies.write(bootstrap, planned, base, egress)
    day0 = day_start_ms(written.received_ms[0])
    result: dict[str, Any] = {
        "command": command(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cores": os.cpu_count(),
        "day": dt.date.fromtimestamp(day0 / 1000 + VN_UTC_OFFSET_S).isoformat(),
        "copies": routed_copies.summary(planned, written),
        "runs": [],
    }
    for n in present:
        folder = var / f"ledger-{n}"
        dsn = f"chdb://{folder}"
        store = LedgerStore(dsn)
        store.migrate()
        filled = prefill.prefill(
            store,
            written.templates,
            prefill.shares(weights, n),
            day0,
            written.received_ms[0],
            progress,
        )
        store.close()
        progress("")
        entry: dict[str, Any] = {"present": n, "prefill": filled}
        entry["fresh"] = ledger_run.ingest(bootstrap, var, dsn, port, written.start, f"fresh-{n}")
        entry["fresh"]["count"] = identities(dsn, run_id)
        entry["replay"] = ledger_run.ingest(bootstrap, var, dsn, port, written.start, f"replay-{n}")
        entry["replay"]["count"] = identities(dsn, run_id)
        entry["replay"]["rows_added"] = (
            entry["replay"]["count"]["rows"] - entry["fresh"]["count"]["rows"]
        )
        result["runs"].append(entry)
        out.write_text(json.dumps(result, indent=2))
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def identities(dsn: str, run_id: str) -> dict[str, int]:
    """The copies' rows in the ledger (read as soon as the ledger stopped, before merges can
    hide a duplicate): rows, and distinct source identities among them."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        [(rows, distinct, total)] = client.query(
            "SELECT countIf(mine), uniqExactIf((source_topic, source_partition, source_offset), "
            "mine), count() FROM (SELECT *, startsWith(message_id, {p:String}) AS mine "
            "FROM ndxp.ledger)",
            parameters={"p": f"{run_id}-"},
        ).result_rows
    finally:
        client.close()
    return {"rows": int(rows), "distinct": int(distinct), "table_rows": int(total)}


def _n(v: float | None, unit: str = "") -> str:
    return "" if v is None else f"{v:,.0f}{unit}"


def print_table(r: dict[str, Any], out: Path) -> None:
    c = r["copies"]
    print()
    print(f"$ {r['command']}")
    print(
        f"ndxp ledger, a national day and beyond, {r['started']}, {r['cores']} cores, broker "
        f"and engine on the same box; day {r['day']} (Asia/Ho_Chi_Minh)"
    )
    print(
        f"  {c['copies']:,} routed copies ({c['requests']:,} requests of the many-agency mix + "
        f"their responses, payload mean {c['mean_payload_bytes']:,} B) from "
        f"{c['ingress_partitions']} ingress partitions on {c['egress_partitions']} egress "
        f"partitions; ndxp ledger run at its defaults, fresh group and process for each run"
    )
    print(
        f"\n  {'rows present':>12} {'pre-fill':>9} | {'':7}{'rows/s':>8} {'wall':>6} "
        f"{'batch ms: mean':>14} {'p50':>5} {'max':>6} {'dedup ms: mean':>14} {'p50':>5} "
        f"{'max':>6} {'rows/batch':>10} {'read':>9} {'added':>7} {'RSS':>7}"
    )
    for e in r["runs"]:
        p = e["prefill"]
        fill = f"{p['seconds']:.0f}+{p['merge_seconds']:.0f} s" if e["present"] else ""
        for i, (name, x) in enumerate((("fresh", e["fresh"]), ("replays", e["replay"]))):
            added = x["count"]["rows"] if name == "fresh" else x["rows_added"]
            head = f"{e['present']:>12,} {fill:>9}" if i == 0 else f"{'':>12} {'':>9}"
            print(
                f"  {head} | {name:7}{_n(x['rows_per_s']):>8} {x['wall_seconds']:>5.1f}s "
                f"{_n(x['batch_ms_mean']):>14} {_n(x['batch_ms_p50']):>5} "
                f"{_n(x['batch_ms_max']):>6} {_n(x['dedup_ms_mean']):>14} "
                f"{_n(x.get('dedup_ms_p50')):>5} {_n(x['dedup_ms_max']):>6} "
                f"{_n(x['batch_rows_mean']):>10} {_n(x['dedup_rows_read']):>9} {added:>7,} "
                f"{_n(x['peak_rss_mb'], ' MB'):>7}"
            )
            for exit_ in x["restarts"]:
                print(f"    !! exit {exit_['code']}: {exit_['error']}")
        f, rp = e["fresh"]["rows_per_s"], e["replay"]["rows_per_s"]
        if f and rp:
            print(
                f"  {'':>12} {'':>9} | replays ÷ fresh {rp / f:.2f} (aim ≥ {REPLAY_AIM}); fresh ÷ "
                f"router's {ROUTER_RATE:,} msg/s {f / ROUTER_RATE:.2f} (aim ≥ 1)"
            )
    print(
        "\n  rows/s: from the end of the first insert to the end of the last; wall: process "
        "start to lag 0; batch ms: one insert (duplicate check included), mean over all "
        "batches, p50/max of those /health showed; dedup ms: its duplicate check; read: rows "
        "the duplicate checks read from the table; added: "
        "copies' rows in the ledger after the run (replays: rows the replay added)"
    )
    print(f"\nwritten: {out.relative_to(REPO)} (chart: .png beside it)")


def chart(r: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = r["runs"]
    if not runs:
        return
    xs = list(range(len(runs)))  # evenly spaced: 0, 3 M and 30 M side by side
    labels = [f"{e['present'] / 1e6:g} M" if e["present"] else "0" for e in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for key, name, color in (
        ("fresh", "fresh", "tab:blue"),
        ("replay", "100 % replays", "tab:orange"),
    ):
        ys = [e[key]["rows_per_s"] or 0 for e in runs]
        left.plot(xs, ys, marker="o", color=color, label=name)
        for x, y in zip(xs, ys, strict=True):
            left.annotate(f"{y:,.0f}", (x, y), ha="center", va="bottom", fontsize=8)
        means = [e[key]["batch_ms_mean"] for e in runs]
        dedup = [e[key]["dedup_ms_mean"] or 0 for e in runs]
        right.plot(xs, means, marker="o", color=color, label=f"{name}: insert (mean)")
        right.plot(xs, dedup, marker="x", ls="--", color=color, label=f"{name}: duplicate check")
        right.plot(
            xs,
            [e[key]["batch_ms_max"] or 0 for e in runs],
            ls=":",
            color=color,
            label=f"{name}: insert (max seen)",
        )
    left.axhline(ROUTER_RATE, color="grey", ls="--", lw=1)
    left.annotate("the router's rate", (xs[0], ROUTER_RATE), fontsize=8, color="grey", va="bottom")
    top = max(e[k]["rows_per_s"] or 0 for e in runs for k in ("fresh", "replay"))
    left.set_ylim(0, max(top, ROUTER_RATE) * 1.12)
    left.set_xticks(xs, labels)
    left.set_xlabel("rows already in the day's table")
    left.set_ylabel("rows per second")
    left.set_title("ledger ingest against the rows present", fontsize=9)
    left.legend(fontsize=8)
    right.set_ylim(0, None)
    right.set_xticks(xs, labels)
    right.set_xlabel("rows already in the day's table")
    right.set_ylabel("ms per batch")
    right.set_title("per-batch time against the rows present", fontsize=9)
    right.legend(fontsize=7)
    c = r["copies"]
    fig.suptitle(
        f"ndxp ledger run at defaults, {c['copies']:,} routed copies of the many-agency mix, "
        f"{r['cores']} cores ({r['started']})"
    )
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
