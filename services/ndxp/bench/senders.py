"""What the shape a sender gives its records costs every member's routing: ``ndxp router`` at
its defaults drains the many-agency mix as its senders key it (by client id), and the same mix
reshaped by a sender's choice: each record keyed with a new 16-byte key, with a new 4 KiB key
(the largest the router takes), carrying 21,000 headers (what 64 KiB of headers holds), or
naming a service nobody provides (refused), interleaved (N S L H R R H L S N) on a broker of
its own, each backlog drained by a consumer group of its own from where it begins.

``python -m ndxp.bench.senders [--exchanges 20000] [--headers-exchanges 2000]``

Keyed otherwise than by its client id, a request under a limit is written again on its
client's home partition (a home copy, schemas/WIRE.md "Access rights and quotas") before it is
decided: the 16-byte keys measure that, the 4 KiB keys that plus what the key's length costs.
A record of 21,000 headers is refused ``TOO_LARGE`` (more than 256); it costs what reading it
costs. A record naming an unknown service is refused (a request ``UNKNOWN_SERVICE``, a response
``NOT_SENDER``): a dead-letter copy and an error notice to its sender instead of one routed
copy. Rates are ingress records decided
per second (:mod:`ndxp.bench.drain`); the ratio is to the client-id drains of the same run. The
JSON and a chart go to ``var/bench/senders-*``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import Headers, Reshape, fill, progress
from ndxp.bench.broker import PARTITIONS, own_broker
from ndxp.bench.drain import drain
from ndxp.bench.offsets import Offsets
from ndxp.core.registry import Registry
from ndxp.core.topology import topics_for
from ndxp.core.wire import H_SERVICE, MAX_KEY_BYTES
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

MANY_HEADERS = 21_000  # ("x", b"") takes 3 bytes: with the mix's own, within 64 KiB


def client_ids(
    rng: random.Random, key: bytes | None, headers: Headers
) -> tuple[bytes | None, Headers]:
    return key, headers


def new_short_key(
    rng: random.Random, key: bytes | None, headers: Headers
) -> tuple[bytes | None, Headers]:
    return rng.randbytes(8).hex().encode(), headers


def new_long_key(
    rng: random.Random, key: bytes | None, headers: Headers
) -> tuple[bytes | None, Headers]:
    return rng.randbytes(MAX_KEY_BYTES // 2).hex().encode(), headers


def many_headers(
    rng: random.Random, key: bytes | None, headers: Headers
) -> tuple[bytes | None, Headers]:
    return key, [*headers, *[("x", b"")] * MANY_HEADERS]


UNKNOWN_SERVICE = b"VN:GOV:000.00.01.G01:dancu:khong-co:v1"  # a service nobody provides


def unknown_service(
    rng: random.Random, key: bytes | None, headers: Headers
) -> tuple[bytes | None, Headers]:
    return key, [(k, UNKNOWN_SERVICE if k == H_SERVICE else v) for k, v in headers]


SHAPES: dict[str, tuple[str, Reshape]] = {
    "N": ("client-id keys (the mix)", client_ids),
    "S": ("a new 16-byte key each", new_short_key),
    "L": ("a new 4 KiB key each", new_long_key),
    "H": (f"{MANY_HEADERS:,} headers each", many_headers),
    "R": ("refused: an unknown service", unknown_service),
}
ORDER = "NSLHRRHLSN"


def measure(
    bootstrap: str,
    registry: Registry,
    var: Path,
    port: int,
    exchanges: int,
    headers_exchanges: int,
    order: str = ORDER,
) -> dict[str, Any]:
    """Each shape's backlog drained in turn (``order``), with what it decided."""
    drains = []
    for n, shape in enumerate(order):
        label, reshape = SHAPES[shape]
        size = headers_exchanges if shape == "H" else exchanges
        backlog = fill(
            bootstrap, registry, size, f"s{uuid.uuid4().hex[:6]}", reshape=reshape, label=label
        )

        def start(group: str, n: int = n) -> procs.Proc:
            return procs.router(bootstrap, var, group, port, f"senders-{n}")

        result, _ = drain(bootstrap, registry, backlog, label, start)
        result["shape"] = shape
        drains.append(result)
    base = [d["rate"] for d in drains if d["shape"] == "N"]
    baseline = sum(base) / len(base)
    for d in drains:
        d["ratio"] = round(d["rate"] / baseline, 3)
    return {"baseline_rate": round(baseline, 1), "drains": drains}


def print_table(r: dict[str, Any], out: Path) -> None:
    print(f"\n{r['command']}  ({r['started']}, {out.relative_to(REPO)})")
    print(
        f"{'records':<28} {'n':>7} {'msg/s':>9} {'÷ N':>6} {'refused':>8} {'lost':>5} {'RSS MB':>7}"
    )
    for d in r["drains"]:
        print(
            f"{d['label']:<28} {d['messages']:>7,} {d['rate']:>9,.1f} {d['ratio']:>6.2f} "
            f"{d['refused']:>8,} {d['lost']:>5} {d['peak_rss_mb']:>7.0f}"
        )


def chart(r: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    drains = r["drains"]
    colors = {"N": "tab:blue", "S": "tab:orange", "L": "tab:red", "H": "tab:purple"}
    colors["R"] = "tab:gray"
    ax.bar(
        range(len(drains)), [d["rate"] for d in drains], color=[colors[d["shape"]] for d in drains]
    )
    for i, d in enumerate(drains):
        ax.annotate(
            f"{d['rate']:,.0f}\n{d['peak_rss_mb']:.0f} MB",
            (i, d["rate"]),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(
        range(len(drains)), [d["label"] for d in drains], fontsize=7, rotation=25, ha="right"
    )
    ax.set_ylim(0, max(d["rate"] for d in drains) * 1.2)
    ax.set_ylabel("ingress records decided per second")
    ax.set_title(
        "ndxp router at its defaults, the many-agency mix as senders shape it\n"
        f"({r['command']}, {r['started']}; peak router RSS above each bar)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exchanges", type=int, default=20_000, help="each backlog: exchanges")
    ap.add_argument(
        "--headers-exchanges", type=int, default=2_000, help="the 21,000-header backlogs"
    )
    ap.add_argument("--port", type=int, default=19_294, help="the bench's own broker")
    ap.add_argument(
        "--order",
        default=ORDER,
        help=f"the shapes drained, in turn ({', '.join(f'{k}: {v[0]}' for k, v in SHAPES.items())};"
        " N is the baseline and must be among them)",
    )
    args = ap.parse_args(argv)
    if "N" not in args.order or set(args.order) - set(SHAPES):
        ap.error(f"--order: letters of {''.join(SHAPES)}, N among them")
    registry = load_registry(DEFAULT_REGISTRY)
    var = REPO / "var" / "bench-senders"
    out = REPO / "var" / "bench" / f"senders-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "command": "python -m ndxp.bench.senders "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with own_broker(args.port, var / "broker") as bootstrap:
        Offsets(bootstrap).create_topics(topics_for(registry, PARTITIONS))
        result |= measure(
            bootstrap,
            registry,
            var,
            args.port + 10,
            args.exchanges,
            args.headers_exchanges,
            args.order,
        )
    progress("")
    out.write_text(json.dumps(result, indent=2))
    chart(result, out.with_suffix(".png"))
    print_table(result, out)
    lost = [d["label"] for d in result["drains"] if d["lost"] or d.get("duplicated")]
    if lost:
        print(f"LOST OR DUPLICATED: {', '.join(lost)}", file=sys.stderr)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
