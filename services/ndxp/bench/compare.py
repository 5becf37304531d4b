"""Is a change to the router faster? The router at another git revision and the router of this
tree, each at its default settings, drain the same backlog of the many-agency mix in turn, in
one run on one broker, interleaved (A B, B A, A B, ...: the box's speed drifts within a run).

``python -m ndxp.bench.compare REV [--rounds 3] [--messages 300000]``: REV is checked out into
``var/bench-compare/tree-<sha>`` (a git worktree) and its router runs from there
(``PYTHONPATH``: its code is imported before the installed tree's); the same virtualenv runs
both, so a change of dependencies is not compared. Prints each drain and the mean of each side
with their ratio; own broker on port 19794 (``--port``).

``--ledger``: the same for the ledger. This tree's router drains the backlog once, so the
egress topics hold the copies as the router writes them (its small zstd batches, one or two
records each on the mix, which a ledger pays for per batch); then the ledger of each side
ingests all of them in turn, each in a fresh consumer group and a fresh engine folder
(:func:`ndxp.bench.ledger_run.ingest`: rows/s from its first insert to its last).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import ledger_run, procs
from ndxp.bench.backlog import fill
from ndxp.bench.broker import PARTITIONS, own_broker
from ndxp.bench.drain import drain
from ndxp.bench.offsets import TP, Offsets
from ndxp.core.topology import topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry


def tree_at(rev: str, var: Path) -> Path:
    """The services folder of ``rev`` checked out in a worktree of its own under ``var``."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = var / f"tree-{sha}"
    if not tree.exists():
        var.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(tree), sha],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return tree / "services"


def order(rounds: int) -> list[str]:
    """A B, B A, A B, ...: each side first as often as the other (within one)."""
    return [side for i in range(rounds) for side in (("A", "B") if i % 2 == 0 else ("B", "A"))]


def compare(
    rev: str, rounds: int, messages: int, port: int, var: Path, ledger: bool = False
) -> dict[str, Any]:
    trees = {"A": str(tree_at(rev, var)), "B": str(REPO / "services")}
    registry = load_registry(DEFAULT_REGISTRY)
    rates: dict[str, list[float]] = {"A": [], "B": []}
    with own_broker(port, var / "broker") as bootstrap:
        Offsets(bootstrap).create_topics(topics_for(registry, PARTITIONS))  # as make bench
        backlog = fill(bootstrap, registry, messages // 2, f"c{uuid.uuid4().hex[:6]}")
        copies: dict[TP, int] = {}
        if ledger:

            def router(group: str) -> procs.Proc:
                return procs.router(bootstrap, var, group, port + 10, "copies")

            routed, copies = drain(bootstrap, registry, backlog, "copies", router)
            _whole(routed, "the router's copies")
        for n, side in enumerate(order(rounds)):
            env = {"PYTHONPATH": trees[side]}
            label = f"{side}: {rev if side == 'A' else 'this tree'}"
            if ledger:
                dsn = f"chdb://{var / f'ledger-{side}{n}'}"
                ingested = ledger_run.ingest(
                    bootstrap, var, dsn, port + 11, copies, f"{side}{n}", settings=env
                )
                shutil.rmtree(var / f"ledger-{side}{n}", ignore_errors=True)
                if ingested["restarts"] or not ingested["rows_per_s"]:
                    raise RuntimeError(f"{label}: exits {ingested['restarts']}, no rate")
                rate = float(ingested["rows_per_s"])
                print(f"  {label}: {rate:,.0f} rows/s", flush=True)
            else:

                def start(
                    group: str, env: dict[str, str] = env, tag: str = f"{side}{n}"
                ) -> procs.Proc:
                    return procs.router(bootstrap, var, group, port + 10, tag, env)

                result, _ = drain(bootstrap, registry, backlog, label, start)
                _whole(result, label)
                rate = result["rate"]
                print(f"  {label}: {rate:,.0f} msg/s", flush=True)
            rates[side].append(rate)
    mean = {side: sum(r) / len(r) for side, r in rates.items()}
    return {
        "rev": rev,
        "stage": "ledger" if ledger else "router",
        "messages": messages,
        "rates": rates,
        "mean": mean,
        "ratio_b_to_a": round(mean["B"] / mean["A"], 3),
    }


def _whole(result: dict[str, Any], label: str) -> None:
    if result["lost"] or result["restarts"]:
        raise RuntimeError(f"{label}: lost {result['lost']}, exits {result['restarts']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", help="the git revision to compare this tree with (A)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--port", type=int, default=19794)
    ap.add_argument("--var", type=Path, default=REPO / "var" / "bench-compare")
    ap.add_argument("--ledger", action="store_true", help="compare the ledgers, not the routers")
    args = ap.parse_args(argv)
    print(
        f"$ python -m ndxp.bench.compare {args.rev} --rounds {args.rounds} "
        f"--messages {args.messages}{' --ledger' if args.ledger else ''}",
        flush=True,
    )
    result = compare(args.rev, args.rounds, args.messages, args.port, args.var, args.ledger)
    m = result["mean"]
    unit = "rows/s" if args.ledger else "msg/s"
    print(
        f"  mean: A ({args.rev}) {m['A']:,.0f}, B (this tree) {m['B']:,.0f} {unit}; "
        f"B / A = {result['ratio_b_to_a']}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
