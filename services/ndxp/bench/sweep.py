"""How far the router's settings take it: the router (access checks and quotas, inline stage)
drains the same backlog once per setting, in one run on this machine.

Run: ``python -m ndxp.bench.sweep [--messages 100000]`` (own broker on port 9196,
``var/bench-sweep``). Prints one line per setting; the figures are in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import uuid

from ndxp.bench import routing
from ndxp.bench.broker import create_topics, own_broker
from ndxp.core import wire
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

EVENTS = {"NDXP_ROUTER_DELIVERY": "events"}
CASES = [
    ("default (runs, run buffer 32, poll 1000, linger 5 ms, fetch wait 20 ms)", {}),
    ("run buffer 4", {"NDXP_ROUTER_RUN_BUFFER": "4"}),
    ("run buffer 8", {"NDXP_ROUTER_RUN_BUFFER": "8"}),
    ("run buffer 128", {"NDXP_ROUTER_RUN_BUFFER": "128"}),
    ("poll 500", {"NDXP_ROUTER_MAX_POLL_RECORDS": "500"}),
    ("poll 5000", {"NDXP_ROUTER_MAX_POLL_RECORDS": "5000"}),
    ("fetch 4 MiB per partition", {"NDXP_ROUTER_MAX_FETCH_BYTES": str(4 << 20)}),
    ("linger 1 ms", {"NDXP_ROUTER_LINGER_S": "0.001"}),
    ("linger 20 ms", {"NDXP_ROUTER_LINGER_S": "0.02"}),
    ("fetch wait 1500 ms (Faust's)", {"NDXP_ROUTER_FETCH_MAX_WAIT_MS": "1500"}),
    ("events: Faust's one event per record (stream buffer 16384)", EVENTS),
    ("events, in batches of 100 (take_events)", {**EVENTS, "NDXP_ROUTER_BATCH": "100"}),
    (
        "events, Faust's per-message wait_first (direct delivery off)",
        {**EVENTS, "NDXP_ROUTER_DIRECT_DELIVERY": "off"},
    ),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--port", type=int, default=9196)
    args = ap.parse_args(argv)
    var = REPO / "var" / "bench-sweep"
    shutil.rmtree(var, ignore_errors=True)
    with own_broker(args.port, var) as bootstrap:
        create_topics(bootstrap, topics_for(load_registry(DEFAULT_REGISTRY), 3))
        run = uuid.uuid4().hex[:8]
        source = wire.ingress_topic(routing.SOURCE_MEMBER)
        routing.fill(bootstrap, source, args.messages, 512, run)
        _, checked = routing.bench_registries()
        for n, (label, extra) in enumerate(CASES):
            os.environ.update(extra)
            try:
                r = routing.route_with(args, bootstrap, var, run, f"s{n}", checked, True, True)
            finally:
                for key in extra:
                    os.environ.pop(key)
            print(f"{label:66} {r['rate']:>8,.0f} msg/s {r['peak_rss_mb']:>5.0f} MB", flush=True)
    print(f"command: python -m ndxp.bench.sweep {' '.join(argv or sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
