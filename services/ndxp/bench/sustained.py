"""Sustained rates (the capacity bench's second phase): a paced producer sends requests at a
target rate into a running router; a reader counts them on the egress topic with their
produced → routed latency. A rate *holds* when rate out keeps up with rate in and the backlog
stays bounded."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import routing
from ndxp.bench.workers import health, skip_backlog, start_router, wait_ready
from ndxp.core import wire


def paced(
    bootstrap: str, var: Path, registry: Path, rate: float, seconds: float, port: int
) -> dict[str, Any]:
    """Requests at ``rate`` for ``seconds`` into a running router; rate out, lag, latency."""
    group = f"cap-paced-{uuid.uuid4().hex[:6]}"
    skip_backlog(bootstrap, group, [wire.ingress_topic(routing.SOURCE_MEMBER)])
    router = start_router(bootstrap, var, registry, group, port, f"paced-{int(rate)}")
    rss: list[int] = []
    try:
        wait_ready(port, router)
        warm_up(bootstrap, port)
        run_id = uuid.uuid4().hex[:8]
        reader = EgressReader(bootstrap, run_id)
        reader.start()
        reader.caught_up.wait(120)
        routing.progress(f"sustained: {rate:,.0f} tx/s for {seconds:g} s")
        sent, send_s = send_paced(bootstrap, run_id, rate, seconds, router.pid, rss)
        lag_at_stop = max(0, sent - reader.count)
        deadline = time.monotonic() + 30
        while reader.count < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        lag_after = max(0, sent - reader.count)
        time.sleep(0.5)
        reader.stop()
    finally:
        router.terminate()
        router.wait(30)
    routing.progress("")
    latencies = sorted(reader.latencies)
    window = reader.window_rate()
    return {
        "target_tps": rate,
        "sent": sent,
        "rate_in": round(sent / send_s, 1),
        "rate_out": round(window, 1),
        "routed": reader.count,
        "lost": max(0, sent - reader.count),
        "lag_at_end_of_sending": lag_at_stop,
        "lag_30s_later": lag_after,
        "p50_ms": _pct(latencies, 0.50),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else None,
        "p99_ms_by_second": by_second(reader.pairs),
        "router_peak_rss_mb": round(max(rss or [0]) / 1024, 1),
    }


PROBE_KEYS = ("target_tps", "rate_in", "rate_out", "lag_at_end_of_sending", "p99_ms")


def holds(probe: dict[str, Any]) -> bool:
    """Rate in = rate out with a bounded backlog: the rate is sustained."""
    return (
        probe["lost"] == 0
        and probe["rate_out"] >= 0.97 * probe["rate_in"]
        and probe["lag_at_end_of_sending"] <= 0.5 * probe["rate_in"]
    )


def warm_up(bootstrap: str, port: int, n: int = 500) -> None:
    """Route a few hundred requests first: a router just started takes about a second to
    fetch at full speed (the first second's requests waited up to 1.1 s in a trial), and
    the figures are about a router in service."""
    send_paced(bootstrap, f"warm{uuid.uuid4().hex[:4]}", n / 2, 2.0, 0, [])
    deadline = time.monotonic() + 60
    while int(health(port).get("routed", 0)) < n and time.monotonic() < deadline:
        time.sleep(0.2)


def send_paced(
    bootstrap: str, run_id: str, rate: float, seconds: float, pid: int, rss: list[int]
) -> tuple[int, float]:
    from confluent_kafka import Producer

    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 2,
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
        }
    )
    topic = wire.ingress_topic(routing.SOURCE_MEMBER)
    payload = os.urandom(512)
    headers_base = [
        ("ndxp-kind", b"request"),
        ("ndxp-client", routing.CLIENT.encode()),
        ("ndxp-service", routing.SERVICE.encode()),
    ]
    key = routing.CLIENT.encode()
    # connect first (metadata, producer id): the first requests' timestamps must not include
    # the producer's own start-up; this one's id does not carry the run's prefix
    p.produce(topic, payload, key=key, headers=[("ndxp-id", f"{run_id}w".encode()), *headers_base])
    p.flush(30)
    n = 0
    t0 = time.perf_counter()
    next_check = t0
    while True:
        now = time.perf_counter()
        elapsed = now - t0
        if elapsed >= seconds:
            break
        due = int(elapsed * rate)
        while n < due:
            mid = f"{run_id}-{n}".encode()
            p.produce(topic, payload, key=key, headers=[("ndxp-id", mid), *headers_base])
            n += 1
        p.poll(0)
        if now >= next_check and pid:
            rss.append(routing._rss_kb(pid))
            next_check = now + 0.5
        time.sleep(0.001)
    p.flush(30)
    return n, time.perf_counter() - t0


class EgressReader(threading.Thread):
    """Counts this run's ids on the routed topic and their produced → routed latency."""

    def __init__(self, bootstrap: str, run_id: str) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer

        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"cap-reader-{run_id}",
                "auto.offset.reset": "earliest",  # from the start: nothing of the run missed
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        self.consumer.subscribe([routing.ROUTED_TO])
        while not self.consumer.assignment():
            self.consumer.poll(0.1)
        self.prefix = f"{run_id}-"
        self.seen: set[str] = set()
        self.latencies: list[float] = []
        self.pairs: list[tuple[int, int]] = []  # (routed at, latency) ms
        self.times: list[float] = []
        self.count = 0
        self._halt = threading.Event()
        self.caught_up = threading.Event()  # read what was there before the run

    def run(self) -> None:
        while not self._halt.is_set():
            batch = self.consumer.consume(num_messages=5000, timeout=0.2)
            if not batch:
                self.caught_up.set()
            for m in batch:
                if m.error() is not None:
                    continue
                headers = m.headers() or []
                mid = wire.header(headers, wire.H_ID) or ""
                if not mid.startswith(self.prefix) or mid in self.seen:
                    continue
                self.seen.add(mid)
                self.count += 1
                routed_at = int(wire.header(headers, wire.H_ROUTED_AT) or "0")
                produced = m.timestamp()[1]
                self.latencies.append(max(0, routed_at - produced))
                self.times.append(routed_at / 1000)
                self.pairs.append((routed_at, max(0, routed_at - produced)))

        self.consumer.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def window_rate(self) -> float:
        """Routed per second between the 10th and the 90th percentile of routing times."""
        times = sorted(self.times)
        if len(times) < 10:
            return 0.0
        lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
        return (len(times) * 0.8) / max(hi - lo, 1e-3)


def by_second(pairs: list[tuple[int, int]]) -> list[float | None]:
    """p99 latency of the messages routed in each second of the run (where a tail comes from)."""
    if not pairs:
        return []
    start = min(t for t, _ in pairs)
    buckets: dict[int, list[float]] = {}
    for t, latency in pairs:
        buckets.setdefault((t - start) // 1000, []).append(latency)
    return [_pct(sorted(buckets.get(s, [])), 0.99) for s in range(max(buckets) + 1)]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(values[min(len(values) - 1, int(q * len(values)))])
