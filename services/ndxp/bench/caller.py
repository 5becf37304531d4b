"""The round-trip probe's caller: the Locust user's own Kafka client
(``loadtest/kafka_client.py``, as shipped) sending requests of the many-agency mix at a paced
rate, recording for each request the stamps its round trip leaves on the wire.

For request *n*, sent at wall time ``sent``: its routed copy (which this client's consumer
sees too, since it reads every egress topic) gives the router's time of receipt (the copy's
Kafka timestamp) and ``ndxp-routed-at``; the response's routed copy gives the simulator's
production time (``ndxp-sent-at``: its Kafka CreateTime), the router's receipt and routing of
the response; ``received`` is when the client handed the answer over. Locust's response time is
``received - sent`` measured on this client's clock, as the load test reports it.

Run by :mod:`ndxp.bench.roundtrip` in a process of its own (gevent, as under Locust):
``python -m ndxp.bench.caller --bootstrap B --rate 20 --seconds 20 --out FILE.json``.
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

from ndxp.bench.mix import Mix
from ndxp.bench.neighbour import touches
from ndxp.core import wire
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

sys.path.insert(0, str(REPO / "loadtest"))


class Events:
    """Locust's ``events.request`` as the client fires it: failures counted by kind."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}

    def fire(self, **kw: Any) -> None:
        exc = kw.get("exception")
        if exc is not None:
            name = type(exc).__name__
            self.failures[name] = self.failures.get(name, 0) + 1


def probe_client(bootstrap: str, topics: list[str], events: Events, prefix: str) -> Any:
    """The load test's ``KafkaClient`` with a tap on what its consumer receives."""
    from kafka_client import KafkaClient

    class Tapped(KafkaClient):
        def __init__(self) -> None:
            self.sent: dict[str, float] = {}
            self.acks_ms: list[float] = []  # produce() → the broker's acknowledgement
            self.request_copies: dict[str, tuple[int, int]] = {}
            self.answers: dict[str, tuple[float, int, int, int, str]] = {}
            self.prefix = prefix.encode()
            super().__init__(bootstrap, topics, events, timeout_s=30.0)

        def request(
            self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]], name: str
        ) -> None:
            self.sent[headers[0][1].decode()] = time.time() * 1000
            super().request(topic, key, value, headers, name)

        def _delivered(self, err: Any, msg: Any) -> None:
            if err is None:  # a delivery report has no headers; librdkafka times it
                self.acks_ms.append(msg.latency() * 1000)
            super()._delivered(err, msg)

        def _answer(self, m: Any) -> None:
            received = time.time() * 1000
            h = dict(m.headers() or [])
            routed_at = int(h.get(wire.H_ROUTED_AT, b"0"))
            if h.get(wire.H_KIND) == b"request":
                mid = h.get(wire.H_ID, b"")
                if mid.startswith(self.prefix):
                    self.request_copies[mid.decode()] = (m.timestamp()[1], routed_at)
                return
            corr = h.get(wire.H_CORRELATION_ID, b"").decode()
            if corr in self.pending:
                self.answers[corr] = (
                    received,
                    int(h.get(wire.H_SENT_AT, b"0")),
                    m.timestamp()[1],
                    routed_at,
                    h.get(wire.H_KIND, b"").decode(),
                )
            super()._answer(m)

    return Tapped()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--rate", type=float, required=True, help="requests per second")
    ap.add_argument("--seconds", type=float, required=True, help="measured seconds")
    ap.add_argument("--warm-up", type=float, default=3.0, help="seconds at the rate, not counted")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--avoid",
        action="append",
        default=[],
        metavar="AGENCY_CODE",
        help="neither send as nor call this member, nor read its egress topic (a neighbour's "
        "flood: ndxp.bench.neighbour)",
    )
    args = ap.parse_args(argv)
    import gevent

    registry = load_registry(DEFAULT_REGISTRY)
    mix = Mix(registry, args.seed)
    rng = random.Random(args.seed)
    noise = rng.randbytes(1 << 20)
    run = f"rt{uuid.uuid4().hex[:6]}"
    topics = [
        wire.egress_topic(m.id) for m in registry.connected if str(m.id.code) not in args.avoid
    ]
    events = Events()
    client = probe_client(args.bootstrap, topics, events, run)

    def send(mid: str) -> None:
        r = mix.request(mid)
        while touches(mix, r, args.avoid):
            r = mix.request(mid)
        at = rng.randrange(len(noise) - r.size)
        name = r.headers[3][1].decode().split(":", 3)[3]
        client.request(r.topic, r.key, noise[at : at + r.size], r.headers, name)

    # ready: one request at a time until one is answered (router assigned, simulator joined)
    deadline = time.monotonic() + 120
    n = 0
    while not client.answers:
        if time.monotonic() > deadline:
            raise SystemExit("no answer to a probe request within 120 s")
        send(f"{run}-ready{n}")
        n += 1
        gevent.sleep(0.5)
    measured_from = len(client.sent)
    t0 = time.perf_counter()
    total = int(args.rate * (args.warm_up + args.seconds))
    warm = int(args.rate * args.warm_up)
    for i in range(total):
        due = t0 + i / args.rate
        wait = due - time.perf_counter()
        if wait > 0:
            gevent.sleep(wait)
        send(f"{run}-{'w' if i < warm else 'm'}{i}")
    send_seconds = time.perf_counter() - t0
    client.drain(35.0)
    ids = [mid for mid in list(client.sent)[measured_from:] if f"{run}-m" in mid]
    rows = []
    for mid in ids:
        copy = client.request_copies.get(mid)
        answer = client.answers.get(mid)
        rows.append([mid, client.sent[mid], copy, answer])
    args.out.write_text(
        json.dumps(
            {
                "rate": args.rate,
                "seconds": args.seconds,
                "sent": len(ids),
                "rate_achieved": round(total / send_seconds, 1),
                "counts": client.counts.__dict__,
                "failures": events.failures,
                "rows": rows,
                "acks_ms": client.acks_ms[-len(ids) :],
            }
        )
    )
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
