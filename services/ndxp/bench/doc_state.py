"""What the document state costs the router: its memory and its start-up time with ``n``
deliveries in the state table (issue 14's known limit).

The state topic (``<group>-doc-state-changelog``) is pre-filled with ``n`` finished deliveries
as the status stage writes them (each walked 01 → 03 → 04 → 05 → 06: the largest record a
delivery leaves, its last five verdicts remembered), on the partitions the stage uses; then
``ndxp router`` starts at its defaults in that group and reads them; its resident set is
sampled for a few seconds after. The same with
an empty table is the baseline; the difference per million deliveries is the figure.

Two times from the router's start: until it routes (Faust's recovery of its other tables
complete) and until every partition of the document state is read (its log says so per
partition, :mod:`ndxp.router.delivery_table`).

``python -m ndxp.bench.doc_state [--deliveries 250000,1000000]``: on a broker of its own (port
9294, ``var/bench-doc-state``), or ``--bootstrap B`` on another (its topics are named after
fresh groups).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from ndxp.bench import procs
from ndxp.bench.backlog import produce, producer, progress
from ndxp.bench.offsets import Offsets
from ndxp.core import delivery_state
from ndxp.core.document import delivery_key
from ndxp.core.document_status import Party, Status
from ndxp.core.topology import client_partition, doc_state_topic, internal_topics, topics_for
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry
from ndxp.settings import RouterSettings

WALK = (Status("01"), Status("03"), Status("04"), Status("05"), Status("06"))


def finished(n: int, at_ms: int) -> bytes:
    """The record of delivery ``n`` once walked to its end, as the stage writes it."""
    record = delivery_state.delivered(None, at_ms)
    for step, status in enumerate(WALK):
        new, _ = delivery_state.decide(record, 10 * n + step, status, Party.RECEIVER, at_ms)
        record = new or record
    return orjson.dumps(record)


def fill(bootstrap: str, topic: str, partitions: int, deliveries: int) -> None:
    p = producer(bootstrap)
    now = int(time.time() * 1000)
    for n in range(deliveries):
        doc_id = f"000.00.00.G22,2022/03/{n % 28 + 1:02d},{n}/VPCP-TH"
        key = delivery_key(doc_id, f"000.00.00.H{n % 63 + 10:02d}")
        value = finished(n, now - n)
        produce(p, topic, value, key=key.encode(), partition=client_partition(key, partitions))
        if n % 20_000 == 0:
            p.poll(0)
            progress(f"state topic: {n:,}/{deliveries:,} deliveries")
    if p.flush(120):
        raise RuntimeError("state records not delivered")
    progress("")


def load(
    bootstrap: str,
    var: Path,
    port: int,
    deliveries: int,
    partitions: int,
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    group = f"docstate-{deliveries}-{uuid.uuid4().hex[:6]}"
    Offsets(bootstrap).create_topics(internal_topics(group, partitions))
    fill(bootstrap, doc_state_topic(group), partitions, deliveries)
    router = procs.router(bootstrap, var, group, port, group, settings)
    t0 = time.monotonic()
    routing_s = None
    try:
        while True:
            log = router.log.read_bytes()
            if routing_s is None and b"Recovery complete" in log:
                routing_s = time.monotonic() - t0  # Faust's tables read: routing goes on
            if log.count(b"document state of partition") >= partitions:
                break  # every partition of the state read (ndxp.router.delivery_table)
            router.check()
            if time.monotonic() - t0 > 1800:
                raise RuntimeError(f"{group}: the state not read after 30 minutes")
            progress(f"router loading {deliveries:,} deliveries: {router.sample() // 1024} MB")
            time.sleep(0.2)
        ready_s = time.monotonic() - t0
        settled = []
        for _ in range(10):  # after the load: what it keeps
            settled.append(router.sample())
            time.sleep(0.5)
        return {
            "deliveries": deliveries,
            "routing_seconds": None if routing_s is None else round(routing_s, 1),
            "ready_seconds": round(ready_s, 1),
            "rss_mb": round(max(settled) / 1024, 1),
            "peak_rss_mb": router.peak_rss_mb,
        }
    finally:
        router.stop()
        progress("")


def measure(
    bootstrap: str,
    var: Path,
    port: int,
    counts: list[int],
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    (var / "logs").mkdir(parents=True, exist_ok=True)
    registry = load_registry(DEFAULT_REGISTRY)
    partitions = RouterSettings().partitions
    Offsets(bootstrap).create_topics(topics_for(registry, partitions))
    rows = [load(bootstrap, var, port, n, partitions, settings) for n in sorted({0, *counts})]
    empty = rows[0]["rss_mb"]
    for r in rows:
        r["mb_per_million"] = (
            round((r["rss_mb"] - empty) / r["deliveries"] * 1e6) if r["deliveries"] else None
        )
    return {
        "record_bytes": len(finished(0, int(time.time() * 1000))),
        "router_settings": settings or {},
        "loads": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", help="default: a broker of its own on --broker-port")
    ap.add_argument("--broker-port", type=int, default=9294)
    ap.add_argument("--deliveries", default="250000,1000000")
    ap.add_argument("--port", type=int, default=19780, help="the router's web port")
    ap.add_argument("--var", type=Path, default=Path("var/bench-doc-state"))
    procs.add_router_setting_option(ap)
    args = ap.parse_args(argv)
    print(f"$ python -m ndxp.bench.doc_state {' '.join(sys.argv[1:])}")
    counts = [int(c) for c in args.deliveries.split(",") if c]
    var = args.var.resolve()
    settings = dict(args.router_setting)
    if args.bootstrap:
        result = measure(args.bootstrap, var, args.port, counts, settings)
    else:
        from ndxp.bench.broker import own_broker, stop_broker

        stop_broker(args.broker_port, var)
        shutil.rmtree(var, ignore_errors=True)
        (var / "logs").mkdir(parents=True)
        with own_broker(args.broker_port, var) as bootstrap:
            result = measure(bootstrap, var, args.port, counts, settings)
    for r in result["loads"]:
        print(
            f"  {r['deliveries']:>10,} deliveries: router {r['rss_mb']:,.0f} MB after loading "
            f"(peak {r['peak_rss_mb']:,.0f}), routing after {r['routing_seconds']} s, the "
            f"state read after {r['ready_seconds']} s"
            + (f", {r['mb_per_million']:,} MB per million" if r["mb_per_million"] else "")
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
