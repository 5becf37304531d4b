"""The documents probe's sender: the Locust user's own Kafka client (``loadtest/kafka_client.py``,
as shipped) sending documents of the axis's mix (:mod:`ndxp.core.document_traffic`) at a paced
rate; a document's time is produced → every receiver has its copy on its egress topic, as the
Locust document profile reports it (a copy written twice is not counted twice).

Run by :mod:`ndxp.bench.documents` in a process of its own (gevent, as under Locust):
``python -m ndxp.bench.doc_caller --bootstrap B --rate 3.9 --seconds 20 --out FILE.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.core import wire
from ndxp.core.document_traffic import DocumentMix
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

sys.path.insert(0, str(REPO / "loadtest"))


class Recorder:
    """Locust's ``events.request`` as the client fires it: each document's time, and the
    failures (a receiver refused, no copy in time), by name."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.failures: dict[str, dict[str, int]] = {}

    def fire(self, **kw: Any) -> None:
        exc = kw.get("exception")
        if exc is not None:
            why = f"{type(exc).__name__}: {exc}"[:80]
            failures = self.failures.setdefault(kw["name"], {})
            failures[why] = failures.get(why, 0) + 1
            return
        self.times.setdefault(kw["name"], []).append(float(kw["response_time"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--rate", type=float, required=True, help="documents per second")
    ap.add_argument("--seconds", type=float, required=True, help="measured seconds")
    ap.add_argument("--warm-up", type=float, default=3.0, help="seconds at the rate, not counted")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    import gevent
    from kafka_client import KafkaClient

    mix = DocumentMix(load_registry(DEFAULT_REGISTRY), args.seed)
    noise = random.Random(args.seed).randbytes(1 << 20)
    run = f"dc{uuid.uuid4().hex[:6]}"
    recorder = Recorder()
    topics = [wire.egress_topic(a) for a in mix.agencies]
    client = KafkaClient(args.bootstrap, topics, recorder, timeout_s=30.0)
    number = 0

    def send(name: str) -> int:
        nonlocal number
        number += 1
        doc = mix.draw()
        headers = doc.headers(f"{run}-{number}", number, f"BENCH-{run.upper()}")
        at = mix.rng.randrange(len(noise) - doc.size)
        value = noise[at : at + doc.size]
        client.document(doc.topic, doc.client.encode(), value, headers, len(doc.receivers), name)
        return len(doc.receivers)

    # ready: one document at a time until one has reached all its receivers (router assigned)
    deadline = time.monotonic() + 120
    while "ready" not in recorder.times:
        if time.monotonic() > deadline:
            raise SystemExit("no document reached its receivers within 120 s")
        send("ready")
        gevent.sleep(0.5)
    t0 = time.perf_counter()
    total = int(args.rate * (args.warm_up + args.seconds))
    warm = int(args.rate * args.warm_up)
    deliveries = 0
    for i in range(total):
        wait = t0 + i / args.rate - time.perf_counter()
        if wait > 0:
            gevent.sleep(wait)
        k = send("warm-up" if i < warm else "document")
        deliveries += k if i >= warm else 0
    send_seconds = time.perf_counter() - t0
    client.drain(35.0)
    args.out.write_text(
        json.dumps(
            {
                "rate": args.rate,
                "seconds": args.seconds,
                "sent": total - warm,
                "deliveries": deliveries,
                "rate_achieved": round(total / send_seconds, 2),
                "times_ms": recorder.times.get("document", []),
                "failures": recorder.failures.get("document", {}),
                "counts": client.counts.__dict__,
            }
        )
    )
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
