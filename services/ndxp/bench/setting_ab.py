"""One router setting against the defaults, drained in turn from one backlog of the many-agency
mix: a few percent told apart from the box's drift, which a single context row of ``make
bench`` cannot do.

``python -m ndxp.bench.setting_ab NDXP_X=V [--order DSDSDS] [--exchanges 150000]``: ``D`` is
``ndxp router`` at its defaults, ``S`` the same with the setting, ``P`` the plain aiokafka
router (:mod:`ndxp.bench.plain`; ``--order PDDPDDP`` without a setting asks whether a drain
after the plain router's is slower); each drain in a consumer group of its own from the
backlog's start (:mod:`ndxp.bench.drain`), on a broker of the bench's own. Prints each drain's
rate and the means, with the command.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import fill, progress
from ndxp.bench.broker import PARTITIONS, own_broker
from ndxp.bench.drain import drain
from ndxp.bench.offsets import Offsets
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("setting", type=procs.router_setting, metavar="NDXP_X=V", nargs="?")
    ap.add_argument(
        "--order", default="DSDSDS", help="D: the defaults, S: with the setting, P: plain router"
    )
    ap.add_argument("--exchanges", type=int, default=150_000, help="the backlog: exchanges")
    ap.add_argument("--port", type=int, default=19_594, help="the bench's own broker")
    args = ap.parse_args(argv)
    if not args.order or set(args.order) - set("DSP"):
        ap.error("--order: D, S and P only")
    if args.setting is None and "S" in args.order:
        ap.error("--order has S: give the setting, NDXP_X=V")
    name, value = args.setting or ("", "")
    registry = load_registry(DEFAULT_REGISTRY)
    var = REPO / "var" / "bench-setting-ab"
    command = "python -m ndxp.bench.setting_ab " + " ".join(sys.argv[1:] if argv is None else argv)
    rates: dict[str, list[float]] = {"D": [], "S": [], "P": []}
    labels = {"D": "defaults", "S": f"{name}={value}", "P": "plain aiokafka router"}
    with own_broker(args.port, var / "broker") as bootstrap:
        Offsets(bootstrap).create_topics(topics_for(registry, PARTITIONS))
        backlog = fill(bootstrap, registry, args.exchanges, f"ab{uuid.uuid4().hex[:6]}")
        for n, arm in enumerate(args.order):
            settings = {name: value} if arm == "S" else None

            def start(
                group: str, n: int = n, settings: Any = settings, arm: str = arm
            ) -> procs.Proc:
                if arm == "P":
                    return procs.plain(bootstrap, var, group, f"ab-{n}")
                return procs.router(bootstrap, var, group, args.port + 10, f"ab-{n}", settings)

            label = f"{labels[arm]} ({n + 1})"
            result, _ = drain(bootstrap, registry, backlog, label, start)
            if result["lost"] or result["duplicated"]:
                raise SystemExit(f"{label}: {result['lost']} lost, {result['duplicated']} dup")
            rates[arm].append(result["rate"])
    progress("")
    print(f"\n{command}  ({time.strftime('%Y-%m-%d %H:%M:%S')}, {backlog.messages:,} records)")
    for arm, label in labels.items():
        got = rates[arm]
        if not got:
            continue
        mean = sum(got) / len(got)
        print(f"  {label:<36} {' / '.join(f'{r:,.0f}' for r in got)} msg/s, mean {mean:,.0f}")
    print(json.dumps(rates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
