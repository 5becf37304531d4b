"""The HTTP load of the gateway bench: calls of the many-agency mix (each a client system
calling a service it is granted, log-normal bodies) through ``/r1/…``, for ``--seconds``,
either closed-loop (``--concurrency N`` calls in flight) or paced (``--rate R`` calls a second,
at most 2,000 in flight). Prints one JSON line: answered/s, latency percentiles, statuses.
Run by :mod:`ndxp.bench.gateway` in a process of its own (aiohttp on uvloop)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from typing import Any

import aiohttp

from ndxp.core import traffic, xroad
from ndxp.core.identifiers import ServiceId, SubsystemId
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry


def calls(seed: int, n: int) -> list[tuple[str, str, bytes]]:
    """``n`` calls of the mix: (path, X-Road-Client, body)."""
    rng = random.Random(seed)
    clients = traffic.clients(load_registry(DEFAULT_REGISTRY))
    out = []
    for _ in range(n):
        c = traffic.pick(rng, clients)
        service = ServiceId.parse(traffic.pick_service(rng, c))
        body = os.urandom(traffic.payload_size(rng))
        out.append(
            (xroad.service_path(service), xroad.client_header(SubsystemId.parse(c.id)), body)
        )
    return out


async def run(url: str, seconds: float, concurrency: int, rate: float) -> dict[str, Any]:
    mix = calls(7, 5000)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=max(concurrency, 2000 if rate else 0))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            path, client, body = mix[i % len(mix)]
            started = time.perf_counter()
            try:
                async with session.post(
                    url + path, data=body, headers={"X-Road-Client": client}
                ) as r:
                    await r.read()
                    key = str(r.status)
            except aiohttp.ClientError as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                latencies.append((time.perf_counter() - started) * 1000)

        t0 = time.perf_counter()
        stop = t0 + seconds
        if rate:
            slots = asyncio.Semaphore(2000)
            tasks: set[asyncio.Task[None]] = set()
            i = 0
            while (now := time.perf_counter()) < stop:
                due = int((now - t0) * rate)
                while i < due:
                    await slots.acquire()
                    t = asyncio.create_task(one(i))
                    t.add_done_callback(lambda _t: slots.release())
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
                    i += 1
                await asyncio.sleep(0.001)
            await asyncio.gather(*tasks)
        else:
            counter = iter(range(10**9))

            async def worker() -> None:
                while time.perf_counter() < stop:
                    await one(next(counter))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()

    def q(p: float) -> float | None:
        return (
            round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 1)
            if latencies
            else None
        )

    return {
        "mode": f"paced {rate:g}/s" if rate else f"{concurrency} in flight",
        "seconds": round(elapsed, 1),
        "answered": len(latencies),
        "answered_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": q(0.5),
        "p90_ms": q(0.9),
        "p99_ms": q(0.99),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "statuses": statuses,
    }


def main() -> None:
    import uvloop

    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rate", type=float, default=0.0)
    a = ap.parse_args()
    print(json.dumps(uvloop.run(run(a.url, a.seconds, a.concurrency, a.rate))))


if __name__ == "__main__":
    main()
