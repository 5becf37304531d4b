"""The HTTP load of the gateway bench, for ``--seconds``, either closed-loop (``--concurrency N``
calls in flight) or paced (``--rate R`` calls a second, at most 2,000 in flight). Two sets of
calls (``--calls``):

- ``rest``: the sample registry's REST APIs called by Nghệ An's systems, the calls a
  one-stop-shop clerk makes for a land transfer — a citizen by personal id (GET), a parcel
  (GET), the transfer's tax obligations (POST, JSON), the case registered at the one-stop shop
  (POST, a log-normal JSON body);
- ``mix``: the many-agency mix (each client system calling a service it is granted,
  log-normal bodies, POST).

Prints one JSON line: answered/s, latency percentiles, statuses. Run by
:mod:`ndxp.bench.gateway` in a process of its own (aiohttp on uvloop)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from typing import Any

import aiohttp
import orjson

from ndxp.core import traffic, xroad
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

Call = tuple[str, str, str, bytes]  # method, path, X-Road-Client, body
NGHE_AN = MemberId.parse("VN:GOV:000.00.00.H41")


def mix_calls(seed: int, n: int) -> list[Call]:
    """``n`` calls of the many-agency mix."""
    rng = random.Random(seed)
    clients = traffic.clients(load_registry(DEFAULT_REGISTRY))
    out = []
    for _ in range(n):
        c = traffic.pick(rng, clients)
        service = ServiceId.parse(traffic.pick_service(rng, c))
        body = os.urandom(traffic.payload_size(rng))
        client = xroad.client_header(SubsystemId.parse(c.id))
        out.append(("POST", xroad.service_path(service), client, body))
    return out


def rest_calls(seed: int, n: int) -> list[Call]:
    """``n`` calls of the REST APIs (``ndxp simulate --http``) by Nghệ An's systems."""
    rng = random.Random(seed)
    registry = load_registry(DEFAULT_REGISTRY)
    clients = sorted(
        s
        for s, party in registry.subsystems.items()
        if party.member.is_self_or_descendant_of(NGHE_AN) and not s.endswith(":api")
    )

    def path(service: str, rest: str) -> str:
        return xroad.service_path(ServiceId.parse(service)) + rest

    out: list[Call] = []
    for _ in range(n):
        client = xroad.client_header(SubsystemId.parse(rng.choice(clients)))
        kind = rng.randrange(4)
        if kind == 0:
            pid = f"040{rng.randrange(10**9):09d}"
            target = path("VN:GOV:000.00.01.G01:api:cong-dan:v1", f"/cong-dan?so_dinh_danh={pid}")
            out.append(("GET", target, client, b""))
        elif kind == 1:
            query = f"/thua-dat?so_to={rng.randrange(1, 90)}&so_thua={rng.randrange(1, 900)}"
            out.append(("GET", path("VN:GOV:000.00.00.H41:api:thua-dat:v1", query), client, b""))
        elif kind == 2:
            body = orjson.dumps({"gia_tri": rng.randrange(200, 20_000) * 10**6})
            target = path("VN:GOV:000.00.18.G12:api:nghia-vu-tai-chinh:v1", "/nghia-vu-tai-chinh")
            out.append(("POST", target, client, body))
        else:
            case = {"thu_tuc": "chuyen-nhuong-dat", "ho_so": "x" * traffic.payload_size(rng)}
            target = path("VN:GOV:000.00.00.H40:api:ho-so:v1", "/ho-so")
            out.append(("POST", target, client, orjson.dumps(case)))
    return out


CALLS = {"rest": rest_calls, "mix": mix_calls}


async def run(
    url: str, seconds: float, concurrency: int, rate: float, calls: str = "rest"
) -> dict[str, Any]:
    mix = CALLS[calls](7, 5000)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=max(concurrency, 2000 if rate else 0))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            method, path, client, body = mix[i % len(mix)]
            started = time.perf_counter()
            try:
                async with session.request(
                    method, url + path, data=body or None, headers={"X-Road-Client": client}
                ) as r:
                    await r.read()
                    key = str(r.status)
                    # the provider's answer, whatever it says (a citizen not found is 404); not
                    # an X-Road error of the gateway's or the adapter's
                    answered = r.status < 500 and "X-Road-Error" not in r.headers
            except aiohttp.ClientError as exc:
                key, answered = type(exc).__name__, False
            statuses[key] = statuses.get(key, 0) + 1
            if answered:
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
    ap.add_argument("--calls", choices=sorted(CALLS), default="rest")
    a = ap.parse_args()
    print(json.dumps(uvloop.run(run(a.url, a.seconds, a.concurrency, a.rate, a.calls))))


if __name__ == "__main__":
    main()
