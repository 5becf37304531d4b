"""Is a change to the router faster? The router at another git revision and the router of this
tree, each at its default settings, drain the same backlog of the many-agency mix in turn, in
one run on one broker, interleaved (A B, B A, A B, ...: the box's speed drifts within a run).

``python -m ndxp.bench.compare REV [--rounds 3] [--messages 300000]``: REV is checked out into
``var/bench-compare/tree-<sha>`` (a git worktree) and its router runs from there
(``PYTHONPATH``: its code is imported before the installed tree's); the same virtualenv runs
both, so a change of dependencies is not compared. Prints each drain and the mean of each side
with their ratio; own broker on port 19794 (``--port``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import fill
from ndxp.bench.broker import PARTITIONS, own_broker
from ndxp.bench.drain import drain
from ndxp.bench.offsets import Offsets
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


def compare(rev: str, rounds: int, messages: int, port: int, var: Path) -> dict[str, Any]:
    trees = {"A": str(tree_at(rev, var)), "B": str(REPO / "services")}
    registry = load_registry(DEFAULT_REGISTRY)
    rates: dict[str, list[float]] = {"A": [], "B": []}
    with own_broker(port, var / "broker") as bootstrap:
        Offsets(bootstrap).create_topics(topics_for(registry, PARTITIONS))  # as make bench
        backlog = fill(bootstrap, registry, messages // 2, f"c{uuid.uuid4().hex[:6]}")
        for n, side in enumerate(order(rounds)):

            def start(group: str, side: str = side, n: int = n) -> procs.Proc:
                env = {"PYTHONPATH": trees[side]}
                return procs.router(bootstrap, var, group, port + 10, f"{side}{n}", env)

            label = f"{side}: {rev if side == 'A' else 'this tree'}"
            result, _ = drain(bootstrap, registry, backlog, label, start)
            if result["lost"] or result["restarts"]:
                raise RuntimeError(f"{label}: lost {result['lost']}, exits {result['restarts']}")
            rates[side].append(result["rate"])
            print(f"  {label}: {result['rate']:,.0f} msg/s", flush=True)
    mean = {side: sum(r) / len(r) for side, r in rates.items()}
    return {
        "rev": rev,
        "messages": messages,
        "rates": rates,
        "mean": mean,
        "ratio_b_to_a": round(mean["B"] / mean["A"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", help="the git revision to compare this tree with (A)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--port", type=int, default=19794)
    ap.add_argument("--var", type=Path, default=REPO / "var" / "bench-compare")
    args = ap.parse_args(argv)
    print(
        f"$ python -m ndxp.bench.compare {args.rev} --rounds {args.rounds} "
        f"--messages {args.messages}",
        flush=True,
    )
    result = compare(args.rev, args.rounds, args.messages, args.port, args.var)
    m = result["mean"]
    print(
        f"  mean: A ({args.rev}) {m['A']:,.0f}, B (this tree) {m['B']:,.0f} msg/s; "
        f"B / A = {result['ratio_b_to_a']}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
