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

SETTINGS = (  # (label, NDXP_* settings): the default first
    ("defaults", {}),
    ("partition fetch 1 MiB", {"NDXP_ROUTER_MAX_FETCH_BYTES": str(1024 * 1024)}),
    ("partition fetch 128 KiB", {"NDXP_ROUTER_MAX_FETCH_BYTES": str(128 * 1024)}),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=19594, help="the broker of its own")
    ap.add_argument("--requests", type=int, default=NATIONAL_DAY)
    ap.add_argument("--seconds", type=float, default=90.0, help="each router's run")
    args = ap.parse_args(argv)
    var = REPO / "var" / "bench-router-memory"
    (var / "logs").mkdir(parents=True, exist_ok=True)
    print(f"$ python -m ndxp.bench.router_memory --port {args.port} --requests {args.requests}")
    with own_broker(args.port, var) as bootstrap:
        rows = measure(bootstrap, var, args.requests, args.seconds, args.port + 10)
    for row in rows:
        print(f"  {row['label']:28} peak RSS {row['peak_mb']:6.0f} MB")
    out = REPO / "var" / "bench" / f"router-memory-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"written: {out.relative_to(REPO)}")
    return 0


def measure(
    bootstrap: str, var: Path, requests: int, seconds: float, port: int
) -> list[dict[str, Any]]:
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics(topics_for(registry, 3))
    backlog = fill(bootstrap, registry, requests, f"mem{uuid.uuid4().hex[:6]}")
    ingress = ingress_partitions(offsets, registry)
    rows: list[dict[str, Any]] = []
    for label, settings in SETTINGS:
        group = f"mem-{uuid.uuid4().hex[:6]}"
        offsets.start_group_at(group, backlog.start)
        router = procs.router(bootstrap, var, group, port, group, settings)
        t0 = time.monotonic()
        series = []
        try:
            while time.monotonic() - t0 < seconds:
                time.sleep(3)
                router.keep_alive()
                lag, _ = offsets.progress(group, ingress)
                series.append((round(time.monotonic() - t0), router.sample() // 1024, lag))
        finally:
            router.stop()
        rows.append(
            {"label": label, "settings": settings, "peak_mb": router.peak_rss_mb, "series": series}
        )
        print(f"  {label}: peak RSS {router.peak_rss_mb:.0f} MB", flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
