"""A loud neighbour: one member floods the platform while clerks elsewhere wait for answers.

A nation's traffic is not even. A province's one-stop-shop system that pushes a backlog of
application statuses to the national public-service portal (a day's dossiers at once, after
an outage) sends thousands of notices a second from one client, on its member's ingress topic,
to one receiver; the other 62 provinces' clerks go on with their lookups. The router reads
every member's ingress topic in one consumer, so the flood shares its fetches, its thread and
the broker with everybody else: what does it cost the quiet members' round trips?

The flooding client is the mix's heaviest one-stop-shop system (:func:`loud`), sending one-way
status notices (nothing answers them) at a paced rate with a client's producer (confluent-kafka,
5 ms linger), keyed by its client id as a client does. :mod:`ndxp.bench.roundtrip` with
``flood=RATE`` runs it beside its caller and keeps the caller off the flooding member and the
portal (its requests and the topics it reads), so what the caller measures is the quiet
members' round trips, and counts what reached the portal's egress topic and what was refused
back to the sender (the router kept up, or did not; the sender's limits held, or did not).

``python -m ndxp.bench.neighbour --bootstrap B --rate R --out F`` until SIGTERM (or ``--seconds``).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from ndxp.bench.mix import MEDIAN_BYTES, SIGMA, Mix
from ndxp.bench.mix import Record as MixRecord
from ndxp.core import traffic, wire
from ndxp.core.registry import Registry
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

LINGER_MS = 5
# the flood ``make bench`` sends: a quarter of what the router drains from a backlog here, but
# paced (runs of a few records, each paying a fetch) it keeps the router near one core
RATE = 6000.0
QUIET_RATE = 20.0  # the quiet members' round trips beside it (a clerk's pace, at idle)


def loud(registry: Registry) -> tuple[traffic.Client, str, str]:
    """The flooding client (the heaviest one-stop-shop system of the mix), the one-way
    service it notifies, and the agency code of the member that service's notices go to."""
    client = max(traffic.notifiers(registry), key=lambda c: c.weight)
    service = client.services[0]
    route = registry.services[service].route
    assert route is not None  # traffic.notifiers keeps routable services only
    return client, service, str(route.code)


def avoided(registry: Registry) -> tuple[str, str]:
    """The agency codes a quiet caller keeps off: the flood's sender and its receiver."""
    client, _service, receiver = loud(registry)
    return client.sender, receiver


def touches(mix: Mix, request: MixRecord, avoid: Collection[str]) -> bool:
    """Whether a request of the mix is sent as, or served by, a member in ``avoid``."""
    sender = request.topic.removeprefix(wire.INGRESS_PREFIX)
    return sender in avoid or mix.provider[request.headers[3][1].decode()] in avoid


def providers(registry: Registry, avoid: tuple[str, ...]) -> list[str]:
    """The members ``ndxp simulate`` answers for by default, less those in ``avoid``."""
    routes = {str(s.route.code) for s in registry.services.values() if s.route is not None}
    return sorted(routes - set(avoid))


class Flood:
    """The flooding client in a process of its own, from ``start`` until ``stop``."""

    def __init__(self, bootstrap: str, var: Path, rate: float) -> None:
        from ndxp.bench.procs import clean_env, die_with_parent

        self.out = var / f"neighbour-{rate:g}-{uuid.uuid4().hex[:4]}.json"
        cmd = [sys.executable, "-m", "ndxp.bench.neighbour", "--bootstrap", bootstrap]
        cmd += ["--rate", str(rate), "--out", str(self.out)]
        with (var / "logs" / "neighbour.log").open("ab") as err:
            self.proc = subprocess.Popen(
                cmd, stderr=err, env=clean_env(var), preexec_fn=die_with_parent
            )

    def stop(self) -> dict[str, Any]:
        """What it sent: ``sent``, ``rate_achieved``, ``not_delivered``."""
        self.proc.send_signal(signal.SIGTERM)
        if self.proc.wait(60) != 0:
            raise RuntimeError(f"the neighbour's flood failed ({self.proc.returncode})")
        return json.loads(self.out.read_text())  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(60)


def settled(
    ends: Callable[[], tuple[int, int]], before: tuple[int, int], sent: int, within_s: float = 30.0
) -> tuple[int, int]:
    """How many of the flood's ``sent`` notices the router has routed and refused: what the
    receiver's and the sender's egress topics (``ends``: each one's end offsets, summed) have
    grown by since ``before`` (a refusal is a notice on the sender's egress topic; the plain
    router refuses nothing), once they add up to ``sent`` or ``within_s`` after the flood
    stopped. ndxp refuses what passes the sender's limits (the sample registry's: 10,000 a
    second for a government client, after a burst of 20,000)."""
    deadline = time.monotonic() + within_s
    routed, refused = (now - then for now, then in zip(ends(), before, strict=True))
    while routed + refused < sent and time.monotonic() < deadline:
        time.sleep(0.5)
        routed, refused = (now - then for now, then in zip(ends(), before, strict=True))
    return routed, refused


def main(argv: list[str] | None = None) -> int:
    from ndxp.bench.backlog import produce, producer

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--rate", type=float, required=True, help="notices per second")
    ap.add_argument("--seconds", type=float, default=3600.0, help="at most; SIGTERM ends it")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    registry = load_registry(DEFAULT_REGISTRY)
    client, service, _receiver = loud(registry)
    rng = random.Random(args.seed)
    noise = rng.randbytes(1 << 20)
    topic = wire.ingress_topic(client.sender)
    key = client.id.encode()
    run = f"flood-{uuid.uuid4().hex[:8]}"
    p = producer(args.bootstrap, LINGER_MS)
    total = int(args.rate * args.seconds)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    t0 = time.perf_counter()
    sent = 0
    while sent < total and not stop:
        due = min(total, int((time.perf_counter() - t0) * args.rate) + 1)
        while sent < due:
            size = traffic.payload_size(rng, MEDIAN_BYTES, SIGMA)
            at = rng.randrange(len(noise) - size)
            headers = [
                (wire.H_ID, f"{run}-{sent}".encode()),
                (wire.H_KIND, wire.KIND_NOTICE.encode()),
                (wire.H_CLIENT, key),
                (wire.H_SERVICE, service.encode()),
            ]
            produce(p, topic, noise[at : at + size], key=key, headers=headers)
            sent += 1
        p.poll(0)
        time.sleep(0.001)
    send_seconds = time.perf_counter() - t0
    left = p.flush(30)
    args.out.write_text(
        json.dumps(
            {
                "rate": args.rate,
                "sent": sent,
                "rate_achieved": round(sent / send_seconds, 1),
                "not_delivered": left,
                "client": client.id,
                "service": service,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
