"""The router's memory behind a national day's backlog, setting by setting.

A day of the many-agency mix (1.5 M requests and their responses by default) is pre-filled
once on the ingress topics; then a router at its defaults, and one per setting named, each
from the start of that backlog in a consumer group of its own, runs for ``--seconds`` while
its RSS and the records it has committed are read every 3 s. Behind a backlog aiokafka keeps
fetching the partitions that have no records buffered yet, so every ingress partition comes
to hold one partition fetch's worth: the peak is reached in the first minute.

``python -m ndxp.bench.router_memory --port 19594`` (starts a broker of its own on that port).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import fill, ingress_partitions
from ndxp.bench.broker import own_broker
from ndxp.bench.day import NATIONAL_DAY
from ndxp.bench.offsets import Offsets
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

MIB = str(1024 * 1024)
SETTINGS: tuple[tuple[str, dict[str, str]], ...] = (  # (label, NDXP_* settings): the default first
    ("defaults", {}),
    ("partition fetch 1 MiB", {"NDXP_ROUTER_MAX_FETCH_BYTES": MIB}),
    ("no buffer budget", {"NDXP_FETCH_BUFFER_BYTES": "0"}),
    (
        "partition fetch 1 MiB, no buffer budget",
        {"NDXP_ROUTER_MAX_FETCH_BYTES": MIB, "NDXP_FETCH_BUFFER_BYTES": "0"},
    ),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=19594, help="the broker of its own")
    ap.add_argument("--requests", type=int, default=NATIONAL_DAY)
    ap.add_argument("--seconds", type=float, default=90.0, help="each router's run")
    ap.add_argument(
        "--settings",
        default="",
        help="the rows to run, by number in SETTINGS (0: defaults), in that order: e.g. 2,0",
    )
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        help="processes spinning on the CPU meanwhile (a busy or slower box: the router "
        "consumes slower than the broker serves)",
    )
    args = ap.parse_args(argv)
    chosen = [SETTINGS[int(i)] for i in args.settings.split(",") if i] or list(SETTINGS)
    var = REPO / "var" / "bench-router-memory"
    (var / "logs").mkdir(parents=True, exist_ok=True)
    print(
        f"$ python -m ndxp.bench.router_memory --port {args.port} --requests {args.requests}"
        f" --seconds {args.seconds:g}"
        + (f" --settings {args.settings}" if args.settings else "")
        + (f" --busy {args.busy}" if args.busy else "")
    )
    with own_broker(args.port, var) as bootstrap:
        rows = measure(
            bootstrap, var, args.requests, args.seconds, args.port + 10, chosen, args.busy
        )
    for row in rows:
        print(f"  {row['label']:42} peak RSS {row['peak_mb']:6.0f} MB  {row['msg_per_s']:7,} msg/s")
    out = REPO / "var" / "bench" / f"router-memory-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"written: {out.relative_to(REPO)}")
    return 0


def measure(
    bootstrap: str,
    var: Path,
    requests: int,
    seconds: float,
    port: int,
    settings: list[tuple[str, dict[str, str]]],
    busy: int = 0,
) -> list[dict[str, Any]]:
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics(topics_for(registry, 3))
    backlog = fill(bootstrap, registry, requests, f"mem{uuid.uuid4().hex[:6]}")
    ingress = ingress_partitions(offsets, registry)
    rows: list[dict[str, Any]] = []
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        for label, env in settings:
            rows.append(
                run_one(bootstrap, var, offsets, backlog.start, ingress, port, label, env, seconds)
            )
    finally:
        for spinner in spinners:
            spinner.kill()
    return rows


def run_one(
    bootstrap: str,
    var: Path,
    offsets: Offsets,
    start: Any,
    ingress: Any,
    port: int,
    label: str,
    settings: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    """One router from the start of the backlog in a group of its own: RSS and lag every 3 s."""
    group = f"mem-{uuid.uuid4().hex[:6]}"
    offsets.start_group_at(group, start)
    router = procs.router(bootstrap, var, group, port, group, settings)
    t0 = time.monotonic()
    series: list[tuple[int, int, int]] = []
    try:
        while time.monotonic() - t0 < seconds:
            time.sleep(3)
            router.keep_alive()
            lag, _ = offsets.progress(group, ingress)
            series.append((round(time.monotonic() - t0), router.sample() // 1024, lag))
    finally:
        router.stop()
    # routed between the first sample and the last (the start-up is left out)
    first, last = series[0], series[-1]
    rate = (first[2] - last[2]) / max(1, last[0] - first[0])
    print(f"  {label}: peak RSS {router.peak_rss_mb:.0f} MB, {rate:,.0f} msg/s", flush=True)
    return {
        "label": label,
        "settings": settings,
        "peak_mb": router.peak_rss_mb,
        "msg_per_s": round(rate),
        "series": series,
    }


if __name__ == "__main__":
    raise SystemExit(main())
