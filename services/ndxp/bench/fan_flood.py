"""The worst fan-out a member can ask for, back to back: what it costs the router's memory.

The Government Office sends ``n`` documents, each the largest part a record may carry
(760 KiB) and each to every other connected agency, as fast as its producer goes; ``ndxp
router`` at its defaults fans them out. Every copy lands in the producer's batches, so the
question is whether what the router holds grows with the flood (it must not: its outbox waits
for a partition's full batch to be taken, as aiokafka's ``send`` does, so it holds about two
batches per receiver's partition) — the router's peak resident set is sampled throughout.

``python -m ndxp.bench.fan_flood [--documents 60]`` on a broker of its own (port 9394,
``var/bench-fan-flood``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import produce, producer, progress
from ndxp.bench.broker import own_broker, stop_broker
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import Offsets
from ndxp.core import wire
from ndxp.core.document import H_DOC_ID, H_DOC_TO, H_DOC_TYPE, document_client
from ndxp.core.document_traffic import GOVERNMENT_OFFICE, agencies
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

PART = 760 * 1024  # below the part size (768 KiB), the largest a document record carries


def flood(bootstrap: str, var: Any, port: int, documents: int) -> dict[str, Any]:
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics(topics_for(registry, 3))
    out_tps = egress_partitions(offsets, registry)
    before = sum(offsets.ends(out_tps).values())
    group = f"flood-{uuid.uuid4().hex[:6]}"
    router = procs.router(bootstrap, var, group, port, group)
    try:
        time.sleep(10)  # joined its group
        to = [a for a in agencies(registry) if a != GOVERNMENT_OFFICE]
        client = document_client(registry, GOVERNMENT_OFFICE)
        p = producer(bootstrap)
        value = bytes(PART)
        for n in range(documents):
            headers = [
                (wire.H_ID, f"{group}-{n}".encode()),
                (wire.H_KIND, wire.KIND_DOCUMENT.encode()),
                (wire.H_CLIENT, client.encode()),
                (H_DOC_ID, f"{GOVERNMENT_OFFICE},2022/03/15,{n + 1}/FLOOD".encode()),
                (H_DOC_TO, ",".join(to).encode()),
                (H_DOC_TYPE, b"CV"),
            ]
            produce(
                p,
                wire.ingress_topic(GOVERNMENT_OFFICE),
                value,
                key=client.encode(),
                headers=headers,
            )
            p.poll(0)
            router.sample()
        p.flush(120)
        want = documents * len(to)
        t0 = time.monotonic()
        while (written := sum(offsets.ends(out_tps).values()) - before) < want:
            router.keep_alive()
            progress(f"copies: {written:,}/{want:,}, router {router.sample() // 1024} MB")
            if time.monotonic() - t0 > 900:
                raise RuntimeError(f"{written:,} of {want:,} copies after 15 minutes")
            time.sleep(0.5)
        seconds = time.monotonic() - t0
        progress("")
        return {
            "documents": documents,
            "receivers": len(to),
            "part_bytes": PART,
            "copies": want,
            "copy_mb": round(want * PART / 2**20),
            "seconds_after_the_last_sent": round(seconds, 1),
            "router_peak_rss_mb": router.peak_rss_mb,
            "router_exits": router.exits,
        }
    finally:
        router.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--documents", type=int, default=60)
    ap.add_argument("--broker-port", type=int, default=9394)
    ap.add_argument("--port", type=int, default=19880, help="the router's web port")
    args = ap.parse_args(argv)
    print(f"$ python -m ndxp.bench.fan_flood {' '.join(sys.argv[1:])}")
    var = REPO / "var" / "bench-fan-flood"
    stop_broker(args.broker_port, var)
    shutil.rmtree(var, ignore_errors=True)
    (var / "logs").mkdir(parents=True)
    with own_broker(args.broker_port, var) as bootstrap:
        r = flood(bootstrap, var, args.port, args.documents)
    print(
        f"  {r['documents']} documents of {r['part_bytes'] // 1024} KiB to {r['receivers']} "
        f"agencies each: {r['copies']:,} copies ({r['copy_mb']:,} MB); router peak RSS "
        f"{r['router_peak_rss_mb']:,.0f} MB, exits {len(r['router_exits'])}"
    )
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
