"""Round trips as a clerk sees them: request produced → routed → provider simulator (service
time 0) → response routed → consumed by the caller, over the many-agency mix, with
``ndxp router`` and ``ndxp simulate`` at their default settings and the Locust user's client as
the caller (:mod:`ndxp.bench.caller`); p50/p90/p99/max of the whole and of each leg, from the
stamps on the wire (all clocks are this box's). The legs, and what waits in each:

- **request in**: the caller produces → the router's receipt (the routed copy's timestamp):
  the caller's linger, the broker, the router's fetch and its way to the agent;
- **router, request**: receipt → ``ndxp-routed-at``: checks and the quota stage (``home``: a
  second pass through Kafka only for a request that arrived off its client's home partition);
- **to the provider and its answer**: routed → the simulator's response produced (its
  CreateTime, ``ndxp-sent-at`` on the response's copy): the router's linger, the simulator's
  fetch and work;
- **response in**: the simulator's linger, the broker, the router's fetch;
- **router, response**: receipt → ``ndxp-routed-at`` of the response (checks only);
- **back to the caller**: routed → the caller has it: the router's linger, the caller's fetch
  and its poll loop.

The same probe through the plain aiokafka router (``plain=True``) is the baseline of the run.

For each rate, the CPU each process spent per answered round trip (``cpu_ms_per_round_trip``:
the broker, the router, the simulator, and the caller, whose figure includes its start):
where the time goes.

``partitions``: each member's ingress and egress topics' partitions (``NDXP_PARTITIONS``, 3 by
default), the router started with the same. Every consumer of the probe reads all of one kind
(the router 99 members' ingress topics, the simulator and the caller their egress topics), and
the broker walks every partition of a fetch session at each fetch: this is what a round trip
pays for partitions a one-worker platform does not need. Topics that exist keep their count:
``--broker-port`` starts an empty broker of its own.

**A loud neighbour** (``flood``, ``--flood RATE``): one province's one-stop-shop system sends
the national portal RATE one-way notices a second through each rate's warm-up and measurement
(:mod:`ndxp.bench.neighbour`); the caller keeps off both members, so it measures the quiet
members' round trips beside the flood, and the flood's sent and routed counts are reported.

**Warm before measuring** (``warm_seconds``, 30 s by default; its figures are kept as
``warm_up``). Each rate is measured after the same caller has run at that rate for
``warm_seconds`` and its round trips are set aside, as the OpenMessaging Benchmark does (its
workloads' ``warmupDurationMinutes``): a clerk's round trip meets a broker that has been
serving, not one started a minute ago. A fresh broker is slow twice over: the JVM compiles its
paths while they run, and every partition's first index entries fault in two new
memory-mapped index files (~2 ms each on this box's ext4, against microseconds once mapped;
~1,200 files for the mix's 600 partitions). In the first seconds at 1,000 tx/s JFR found half
of the broker's sampled request handling in those index writes. Three 15 s runs back to back
on one fresh broker, 2026-12-04: p50 954, 45 and 32 ms at 1,000 tx/s.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ndxp import env
from ndxp.bench import neighbour, procs
from ndxp.bench.backlog import ingress_partitions, member_topics
from ndxp.bench.broker import PARTITIONS, add_broker_options, broker_of
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import Offsets
from ndxp.core import wire
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry

WARM_SECONDS = 30.0

LEGS = (
    ("request in", 0, 1),
    ("router, request", 1, 2),
    ("to the provider and its answer", 2, 3),
    ("response in", 3, 4),
    ("router, response", 4, 5),
    ("back to the caller", 5, 6),
)


def stamps(row: list[Any]) -> list[float] | None:
    """The seven stamps of one answered request (ms), or ``None`` when it was not answered
    or its request copy was not seen."""
    _mid, sent, copy, answer = row
    if copy is None or answer is None or answer[4] != "response":
        return None
    received, created, receipt, routed, _kind = answer
    return [sent, copy[0], copy[1], created, receipt, routed, received]


def percentiles(values: list[float]) -> dict[str, float | None]:
    v = sorted(values)
    if not v:
        return {"p50": None, "p90": None, "p99": None, "max": None}

    def q(x: float) -> float:
        return round(v[min(len(v) - 1, int(x * len(v)))], 1)

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(v[-1], 1)}


def breakdown(rows: list[list[Any]]) -> dict[str, Any]:
    """Whole round trips and each leg, in ms."""
    complete = [s for s in (stamps(r) for r in rows) if s is not None]
    out: dict[str, Any] = {
        "answered": len(complete),
        "round_trip_ms": percentiles([s[6] - s[0] for s in complete]),
        "legs_ms": {name: percentiles([s[b] - s[a] for s in complete]) for name, a, b in LEGS},
    }
    return out


def run_caller(
    bootstrap: str,
    var: Path,
    rate: float,
    seconds: float,
    tick: Callable[[], None],
    avoid: tuple[str, ...] = (),
) -> dict[str, Any]:
    args = [a for code in avoid for a in ("--avoid", code)]
    data = procs.paced_sender("ndxp.bench.caller", bootstrap, var, rate, seconds, tick, args)
    result = breakdown(data["rows"])
    # not a leg (the router may read a request before its producer hears the ack): what the
    # caller's producer alone takes, produce() to the broker's acknowledgement
    result["caller_produce_to_ack_ms"] = percentiles(data["acks_ms"])
    return {
        "rate": rate,
        "rate_achieved": data["rate_achieved"],
        "seconds": seconds,
        "sent": data["sent"],
        **result,
        "not_answered": data["sent"] - result["answered"],
        "client_counts": data["counts"],
        "failures": data["failures"],
    }


def measure(
    bootstrap: str,
    var: Path,
    port: int,
    rates: list[float],
    seconds: float,
    router_settings: dict[str, str] | None = None,
    plain: bool = False,
    simulator_settings: dict[str, str] | None = None,
    partitions: int = PARTITIONS,
    warm_seconds: float = WARM_SECONDS,
    flood: float = 0.0,
) -> dict[str, Any]:
    """Router and simulator at their defaults (or the router with ``router_settings``, or
    the plain aiokafka router in its place: the baseline of the same run; the simulator with
    ``simulator_settings``), started once; the caller at each rate, after ``warm_seconds`` at
    that rate whose round trips are reported apart (``warm_up``). ``flood``: a loud neighbour
    (:mod:`ndxp.bench.neighbour`) sends this many notices a second throughout each rate's warm-up
    and measurement, and the caller keeps off its two members."""
    (var / "logs").mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    member_topics(offsets, registry, partitions)
    if partitions != PARTITIONS:
        router_settings = {env.PARTITIONS: str(partitions), **(router_settings or {})}
    # both begin at the end of their topics: earlier phases' records are not this probe's
    offsets.start_group_at(f"rt-router-{tag}", offsets.ends(ingress_partitions(offsets, registry)))
    offsets.start_group_at(
        f"rt-simulator-{tag}", offsets.ends(egress_partitions(offsets, registry))
    )

    def start_router() -> procs.Proc:
        if plain:
            return procs.plain(bootstrap, var, f"rt-router-{tag}", f"roundtrip-{tag}")
        return procs.router(
            bootstrap, var, f"rt-router-{tag}", port, f"roundtrip-{tag}", router_settings
        )

    avoid: tuple[str, ...] = neighbour.avoided(registry) if flood else ()
    router = start_router()
    simulator = procs.simulator(
        bootstrap,
        var,
        f"rt-simulator-{tag}",
        f"roundtrip-{tag}",
        simulator_settings,
        # a flood's receiver is not this box's to play: its notices are nobody's work here
        neighbour.providers(registry, avoid) if flood else (),
    )
    out: dict[str, Any] = {
        "router": "plain aiokafka router" if plain else "ndxp router",
        "partitions": partitions,
        "warm_seconds": warm_seconds,
        "router_settings": router_settings or {},
        "simulator_settings": simulator_settings or {},
        "flood": flood,
        "by_rate": [],
    }
    # the flood's receiver's egress topic (what was routed) and its sender's (what was refused)
    flood_tps = [offsets.partitions([wire.egress_topic(code)]) for code in avoid[1::-1]]

    def tick() -> None:
        router.keep_alive()
        simulator.keep_alive()
        router.sample()

    def flood_ends() -> tuple[int, int]:
        """The flood's receiver's and sender's egress topics: each one's end offsets, summed."""
        routed, refused = (sum(offsets.ends(tps).values()) for tps in flood_tps)
        return routed, refused

    broker = procs.broker_pid(bootstrap)
    loud: neighbour.Flood | None = None
    try:
        for rate in rates:
            exits = len(router.exits)
            if flood:
                settled_before = flood_ends()
                loud = neighbour.Flood(bootstrap, var, flood)  # stopped below, or at the end
            warm = (
                run_caller(bootstrap, var, rate, warm_seconds, tick, avoid)
                if warm_seconds
                else None
            )
            who = {"router": router.pid, "simulator": simulator.pid}
            if broker is not None:
                who["broker"] = broker
            meter = procs.CpuMeter(who)
            x = run_caller(bootstrap, var, rate, seconds, tick, avoid)
            # where the time goes: each process's CPU per answered round trip (in a rate with a
            # router exit, in router_exits, the exited worker's CPU counts under the caller's
            # name: the meter follows the pids it started with)
            x["cpu_ms_per_round_trip"] = meter.ms_per(x["answered"], "caller")
            # a router that exits during the run (its warm-up included) is started again, as the
            # platform does; the exit is a finding of the run, not its end
            x["router_exits"] = router.exits[exits:]
            if warm is not None:
                x["warm_up"] = {
                    k: warm[k] for k in ("seconds", "answered", "round_trip_ms", "not_answered")
                }
            if loud is not None:
                x["flood"] = loud.stop()
                loud = None
                x["flood"]["routed"], x["flood"]["refused"] = neighbour.settled(
                    flood_ends, settled_before, x["flood"]["sent"]
                )
            out["by_rate"].append(x)
        out["router_peak_rss_mb"] = router.peak_rss_mb
        out["simulator_exits"] = simulator.exits
        return out
    finally:
        if loud is not None:  # a rate that failed: its flood must not go on
            loud.kill()
        simulator.stop()
        router.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m ndxp.bench.roundtrip --bootstrap B [--rate 20 --rate 1000]``: against a
    broker that has the registry's topics (the router creates them), or ``--broker-port P``
    instead of ``--bootstrap``: an empty broker of its own (``--partitions`` other than the
    topics' count needs one)."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_broker_options(ap)
    ap.add_argument("--rate", type=float, action="append", default=[])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--warm-seconds",
        type=float,
        default=WARM_SECONDS,
        help="the caller at each rate this long before it is measured (0: measured cold)",
    )
    ap.add_argument("--port", type=int, default=19580, help="the router's web port")
    ap.add_argument("--var", type=Path, default=Path("var/bench-roundtrip"))
    procs.add_router_setting_option(ap)
    ap.add_argument(
        "--simulator-setting",
        action="append",
        default=[],
        type=procs.router_setting,
        metavar="NDXP_X=V",
        help="run the simulator with this setting (default: none, its defaults)",
    )
    ap.add_argument("--plain", action="store_true", help="the plain aiokafka router instead")
    ap.add_argument(
        "--flood",
        type=float,
        default=0.0,
        metavar="RATE",
        help="a loud neighbour's notices a second beside the caller (ndxp.bench.neighbour)",
    )
    args = ap.parse_args(argv)
    with broker_of(args, args.var) as bootstrap:
        result = measure(
            bootstrap,
            args.var,
            args.port,
            args.rate or [20.0, 1000.0],
            args.seconds,
            dict(args.router_setting),
            args.plain,
            dict(args.simulator_setting),
            args.partitions,
            args.warm_seconds,
            args.flood,
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
