"""Routing throughput: ``ndxp router`` against a plain aiokafka consume→produce loop.

Both read the same pre-filled ingress topic in the same run, on the same broker, on this
machine; the plain loop is how a plain Python forwarder does at-least-once (consume a
batch, produce it, flush, commit). Run: ``make bench`` (or
``python -m ndxp.bench.routing --messages 200000``).

The bench starts its own broker (port 9192, data in var/bench) so it never mixes with
``make run``'s platform, and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench.backlog import produce
from ndxp.core import wire
from ndxp.core.topology import TopicSpec, topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

SOURCE_MEMBER = "000.00.00.H41"
CLIENT = "VN:GOV:000.00.00.H41:motcua"
SERVICE = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
ROUTED_TO = "ndxp.out.000.00.01.G01"
PLAIN_OUT = "ndxp.bench.plain"


def progress(text: str) -> None:
    print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


def fill(bootstrap: str, topic: str, n: int, size: int, run: str, spread: bool = False) -> float:
    """Pre-fill ``topic`` with ``n`` requests of the bench client, keyed by its client id (all
    on its partition), or ``spread`` over every partition by varied keys."""
    from confluent_kafka import Producer

    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "acks": "all",
            "enable.idempotence": True,
            "batch.size": 512 * 1024,
            # requests keyed by their client id, hashed as Kafka's Java client does: all of
            # the client's requests on the partition where an inline quota stage counts them
            "partitioner": "murmur2_random",
        }
    )
    payload = os.urandom(size)
    t0 = time.perf_counter()
    for i in range(n):
        headers = [
            ("ndxp-id", f"{run}-{i}".encode()),
            ("ndxp-kind", b"request"),
            ("ndxp-client", CLIENT.encode()),
            ("ndxp-service", SERVICE.encode()),
        ]
        key = str(i % 1000).encode() if spread else CLIENT.encode()
        produce(p, topic, payload, key=key, headers=headers)
        if i % 20000 == 0:
            p.poll(0)
            progress(f"filling {topic}: {i:,}/{n:,}")
    p.flush(60)
    progress("")
    return time.perf_counter() - t0


async def plain_loop(bootstrap: str, topic: str, n: int) -> dict[str, float]:
    """Consume a batch, forward each record with two added headers, flush, commit."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-plain-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=1000,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await consumer.start()
    await producer.start()
    done = 0
    first = 0.0
    try:
        while done < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if not first and batch:
                first = time.perf_counter()
            for records in batch.values():
                for r in records:
                    h = [
                        *r.headers,
                        (wire.H_ROUTED_AT, str(int(time.time() * 1000)).encode()),
                        (wire.H_ROUTE, b"000.00.01.G01"),
                    ]
                    await producer.send(PLAIN_OUT, r.value, key=r.key, headers=h)
                    done += 1
            await producer.flush()
            await consumer.commit()
            progress(f"plain aiokafka loop: {done:,}/{n:,}")
        last = time.perf_counter()
    finally:
        await consumer.stop()
        await producer.stop()
    progress("")
    return {"messages": done, "seconds": last - first, "rate": done / (last - first)}


def wait_routed(
    web_port: int, n: int, timeout: float, router: subprocess.Popen[bytes], rss: list[int]
) -> None:
    """Poll the router's health counters (cheap) until it has routed n messages."""
    import urllib.request

    deadline = time.monotonic() + timeout
    routed = 0
    while routed < n and time.monotonic() < deadline:
        if router.poll() is not None:
            raise RuntimeError(f"router exited with {router.returncode}")
        rss.append(_rss_kb(router.pid))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/health", timeout=2) as r:
                routed = int(json.loads(r.read())["routed"])
        except OSError:
            pass
        progress(f"router: {routed:,}/{n:,}")
        time.sleep(0.5)
    progress("")


def read_routed(
    bootstrap: str, run: str, n: int, since_ms: int = 0, patience_s: float = 10.0
) -> tuple[int, int, int]:
    """Read back the destination topic: (ids of this run routed after ``since_ms``, first and
    last routed-at ms), giving up after ``patience_s`` without a new message."""
    from confluent_kafka import Consumer

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-count-{run}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([ROUTED_TO])
    seen: set[bytes] = set()
    first, last = 0, 0
    prefix = f"{run}-".encode()
    idle = 0
    try:
        while len(seen) < n and idle < patience_s * 2:
            batch = c.consume(num_messages=5000, timeout=0.5)
            idle = 0 if batch else idle + 1
            for m in batch:
                if m.error() is not None:
                    continue
                headers = dict(m.headers() or [])
                mid, routed_at = headers.get("ndxp-id"), headers.get("ndxp-routed-at")
                if not isinstance(mid, bytes) or not mid.startswith(prefix):
                    continue
                if not isinstance(routed_at, bytes):
                    continue
                at = int(routed_at)
                if at < since_ms:
                    continue  # an earlier router run's copy
                seen.add(mid)
                first = at if not first else min(first, at)
                last = max(last, at)
    finally:
        c.close()
    return len(seen), first, last


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=512, help="payload bytes")
    ap.add_argument("--port", type=int, default=9192, help="the bench broker's port")
    ap.add_argument("--keep-broker", action="store_true")
    args = ap.parse_args(argv)
    from ndxp.bench.broker import own_broker

    with own_broker(args.port, REPO / "var" / "bench", keep=args.keep_broker) as bootstrap:
        return _run(args, bootstrap, REPO / "var" / "bench")


def _run(args: argparse.Namespace, bootstrap: str, var: Path) -> int:
    from ndxp.bench.broker import create_topics

    registry = load_registry(DEFAULT_REGISTRY)
    specs = [*topics_for(registry, 3), TopicSpec(PLAIN_OUT, 3)]
    create_topics(bootstrap, specs)
    run = uuid.uuid4().hex[:8]
    source = wire.ingress_topic(SOURCE_MEMBER)
    fill_s = fill(bootstrap, source, args.messages, args.size, run)
    print(
        f"filled {source} with {args.messages:,} requests of {args.size} B in {fill_s:.1f}s",
        file=sys.stderr,
    )

    import uvloop

    plain = uvloop.run(plain_loop(bootstrap, source, args.messages))
    plain_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    plain_doc, checked_doc = bench_registries()
    alone = route_with(args, bootstrap, var, run, "alone", plain_doc, quotas=False)
    checked = route_with(args, bootstrap, var, run, "checked", checked_doc, quotas=True)
    inline = route_with(args, bootstrap, var, run, "inline", checked_doc, quotas=True, inline=True)
    result: dict[str, Any] = {
        "command": " ".join(["python -m ndxp.bench.routing", *(argv_or_default())]),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "messages": args.messages,
        "payload_bytes": args.size,
        "plain_aiokafka": {
            **{k: round(v, 2) for k, v in plain.items()},
            "peak_rss_mb": round(plain_rss_mb, 1),
        },
        "router": alone,
        "router_with_access_and_quotas": checked,
        "router_with_access_and_quotas_inline": inline,
        "registry_for_checks": {
            "grants": len(checked_doc.get("access", [])),
            "limits": len(checked_doc.get("limits", [])),
        },
    }
    result["ratio_router_to_plain"] = round(alone["rate"] / plain["rate"], 3)
    result["ratio_checks_to_alone"] = round(checked["rate"] / alone["rate"], 3)
    result["ratio_inline_checks_to_alone"] = round(inline["rate"] / alone["rate"], 3)
    out = var / f"routing-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print()
    print(f"{'':34}{'messages':>10}{'seconds':>10}{'msg/s':>10}{'peak RSS MB':>13}")
    rows = (
        ("plain aiokafka loop", result["plain_aiokafka"]),
        ("ndxp router, routing alone", result["router"]),
        ("ndxp router, grants + quotas (home)", result["router_with_access_and_quotas"]),
        ("  ... quotas inline", result["router_with_access_and_quotas_inline"]),
    )
    for name, r in rows:
        print(
            f"{name:34}{r['messages']:>10,}{r['seconds']:>10.2f}{r['rate']:>10,.0f}"
            f"{r['peak_rss_mb']:>13.0f}"
        )
    print(
        f"router / plain = {result['ratio_router_to_plain']:.2f}   "
        f"grants+quotas / routing alone = {result['ratio_checks_to_alone']:.2f} (home), "
        f"{result['ratio_inline_checks_to_alone']:.2f} (inline)"
    )
    print(f"command: {result['command']}\nwritten: {out.relative_to(REPO)}")
    lost = [r["messages"] for _, r in rows[1:] if r["messages"] < args.messages]
    if lost:
        print(f"LOST: a router run delivered fewer than {args.messages}", file=sys.stderr)
        return 1
    return 0


def bench_registries() -> tuple[dict[str, Any], dict[str, Any]]:
    """Routing alone (no grants, no limits) and the sample's grants and limits, where the
    bench client's own limit is raised so that it is checked on every request but never
    refuses one."""
    doc = json.loads(DEFAULT_REGISTRY.read_text(encoding="utf-8"))
    plain = {k: v for k, v in doc.items() if k not in ("access", "limits", "groups")}
    plain["default_access"] = "allow"
    checked = json.loads(json.dumps(doc))
    for limit in checked["limits"]:
        if limit.get("subsystem") == CLIENT or limit.get("group") == "all-gov":
            limit.update(rate=1e9, burst=10**9, daily=10**12)
    return plain, checked


def route_with(
    args: argparse.Namespace,
    bootstrap: str,
    var: Path,
    run: str,
    label: str,
    doc: dict[str, Any],
    quotas: bool,
    inline: bool = False,
) -> dict[str, Any]:
    """Start a router (new group: it reads the filled topic from the start) on ``doc``,
    wait until it routed every message, and measure its rate from the routing times."""
    path = var / f"registry-{label}.json"
    path.write_text(json.dumps(doc))
    web_port = args.port + 10
    cmd = [
        str(REPO / ".venv" / "bin" / "ndxp"),
        "router",
        "--bootstrap",
        bootstrap,
        "--group",
        f"bench-{label}-{run}",
        "--web-port",
        str(web_port),
        "--registry",
        str(path),
    ]
    env = {
        **os.environ,
        "NDXP_VAR": str(var),
        "NDXP_LOG_LEVEL": os.environ.get("NDXP_LOG_LEVEL", "WARNING"),
        "NDXP_QUOTAS": "on" if quotas else "off",
        "NDXP_QUOTA_STAGE": "inline" if inline else "home",
    }
    started_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    with (var / f"bench-router-{label}.log").open("wb") as out:
        router = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    profile = os.environ.get("NDXP_BENCH_PYSPY")  # a folder: py-spy stacks of each router go there
    if profile:
        spy = [str(REPO / ".venv" / "bin" / "py-spy"), "record", "-p", str(router.pid), "-d", "15"]
        spy += ["-f", "raw", "-o", str(Path(profile) / f"router-{label}.txt")]
        subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rss: list[int] = []
    try:
        wait_routed(web_port, args.messages, 900, router, rss)
        wall = time.perf_counter() - t0
    finally:
        router.terminate()
        router.wait(30)
    count, first, last = read_routed(bootstrap, run, args.messages, since_ms=started_ms)
    routed_s = max(last - first, 1) / 1000
    return {
        "messages": count,
        "seconds": round(routed_s, 2),
        "rate": round(count / routed_s, 1),
        "wall_seconds_with_startup": round(wall, 1),
        "peak_rss_mb": round(max(rss or [0]) / 1024, 1),
    }


def argv_or_default() -> list[str]:
    return sys.argv[1:]


if __name__ == "__main__":
    sys.exit(main())
