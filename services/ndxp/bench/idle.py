"""What a quiet platform costs: the CPU the broker, ``ndxp router`` and ``ndxp simulate`` use
while nothing is sent, each at its defaults and with the settings given, interleaved on one
broker (the broker alone measured before each). A consumer that fetches with a short wait has
the broker answer a fetch of all its partitions many times a second for nothing
(:mod:`ndxp.kafka.fetch_plan`, the long poll).

``python -m ndxp.bench.idle --bootstrap B [--seconds 20] [--rounds 2] [--warm-seconds 5]
[--setting NDXP_X=V]`` (``--setting`` applies to router and simulator; a broker started by
``infra/kafka/kafka.sh``, found by its port; CPU counted with each process's children).

Quiet after work: before it is measured, the platform answers the round-trip probe's caller
for ``--warm-seconds`` (20 req/s; 0: nothing), as a platform that has served its members has.
A router that never routed has written no quota state: measured cold, this bench did not see
the quota table's changelog keep every router fetch at its short wait
(:mod:`ndxp.kafka.fetch_plan`, "Partitions read only to recover state").
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import ingress_partitions
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import Offsets
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry


def cores(pids: dict[str, int], seconds: float) -> dict[str, float]:
    before = {name: procs.cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {
        name: round((procs.cpu_seconds(pid) - before[name]) / elapsed, 3)
        for name, pid in pids.items()
    }


WARM_RATE = 20.0  # req/s of the caller before the quiet is measured
SETTLE_S = 5.0  # after the caller's last request: its answers routed, the caller gone


def measure(
    bootstrap: str,
    var: Path,
    port: int,
    seconds: float,
    rounds: int,
    settings: dict[str, str],
    warm_seconds: float = 5.0,
) -> dict[str, Any]:
    (var / "logs").mkdir(parents=True, exist_ok=True)
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics(topics_for(registry, 3))
    broker = procs.broker_pid(bootstrap)
    if broker is None:
        raise SystemExit(f"no broker of ours listens at {bootstrap}")
    ingress = ingress_partitions(offsets, registry)
    egress = egress_partitions(offsets, registry)
    runs: dict[str, list[dict[str, float]]] = {"defaults": [], "with the settings": []}
    for n in range(rounds):
        for label, env in (("defaults", {}), ("with the settings", settings)):
            print(f"idle: round {n + 1}/{rounds}, {label}", file=sys.stderr, flush=True)
            tag = uuid.uuid4().hex[:6]
            offsets.start_group_at(f"idle-r-{tag}", offsets.ends(ingress))
            offsets.start_group_at(f"idle-s-{tag}", offsets.ends(egress))
            alone = cores({"broker": broker}, seconds / 2)["broker"]
            router = procs.router(bootstrap, var, f"idle-r-{tag}", port, f"idle-{tag}", env)
            simulator = procs.simulator(bootstrap, var, f"idle-s-{tag}", f"idle-{tag}", env)
            try:
                time.sleep(25)  # started, groups joined, first fetches done
                if warm_seconds:
                    procs.paced_sender(
                        "ndxp.bench.caller", bootstrap, var, WARM_RATE, warm_seconds, lambda: None
                    )
                    time.sleep(SETTLE_S)
                used = cores(
                    {"broker": broker, "router": router.pid, "simulator": simulator.pid}, seconds
                )
            finally:
                simulator.stop()
                router.stop()
            runs[label].append({"broker alone": alone, **used})
    return {"seconds": seconds, "warm_seconds": warm_seconds, "settings": settings, "cores": runs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--warm-seconds",
        type=float,
        default=5.0,
        help="the caller at 20 req/s for this long before the quiet is measured (0: none)",
    )
    ap.add_argument("--port", type=int, default=19590, help="the router's web port")
    ap.add_argument("--var", type=Path, default=Path("var/bench-idle"))
    ap.add_argument(
        "--setting", action="append", default=[], type=procs.router_setting, metavar="NDXP_X=V"
    )
    args = ap.parse_args(argv)
    result = measure(
        args.bootstrap,
        args.var,
        args.port,
        args.seconds,
        args.rounds,
        dict(args.setting),
        args.warm_seconds,
    )
    print("python -m ndxp.bench.idle " + " ".join(argv if argv is not None else sys.argv[1:]))
    after = f"after {args.warm_seconds:g} s of traffic, " if args.warm_seconds else ""
    print(f"cores used with nothing sent, {after}{args.seconds:g} s each (each round):")
    for label, rows in result["cores"].items():
        cells = " | ".join(
            f"{name} " + " / ".join(f"{row[name]:.2f}" for row in rows) for name in rows[0]
        )
        print(f"  {label:18} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
