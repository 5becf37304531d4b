"""Documents on the exchange axis (issue 14), measured as the requests are: on the axis's own
mix (:mod:`ndxp.core.document_traffic`: March 2022's shape, 3.16 receivers a document,
packages of 150 KB median), with ``ndxp router`` at its default settings beside a plain
aiokafka router that fans each document out to the receivers it names (no checks, no quotas,
no status events: :mod:`ndxp.bench.plain`), in the same run on the same broker.

1. **Deliveries per second, drained**: a backlog of documents from every agency on their
   ingress topics, drained by each contender in turn (:mod:`ndxp.bench.drain`), the baseline
   and ``ndxp router`` twice and interleaved (and, to show where its cost is, the router with
   aiokafka's 1 MiB partition fetch instead of its default 256 KiB); deliveries (a document's
   copy to one receiver) per second, their ratio to the baseline's mean, peak RSS, loss and
   duplicates counted by (document, receiver); then ``ndxp ledger run`` ingesting the
   router's copies.
2. **Sent → every receiver has it**, paced: documents sent at the axis's rate at 10× its
   busiest month, at the workday's peak hour (``DOCUMENTS_PEAK_TPS`` of
   ``loadtest/profiles.py``, ≈ 3.9 documents a second, as the Locust profile ``documents``),
   and at ten times that (a secondary row: a burst), by the Locust user's client
   (:mod:`ndxp.bench.doc_caller`); p50/p90/p99/max, through ``ndxp router`` and through the
   plain fan-out.

Part of ``make bench`` (phase ``documents``); alone: ``python -m ndxp.bench.capacity --only
documents``.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ndxp.bench import ledger as ledger_bench
from ndxp.bench import procs
from ndxp.bench.backlog import NOISE, Backlog, ingress_partitions, produce, producer, progress
from ndxp.bench.drain import drain, stamp
from ndxp.bench.offsets import Offsets, delta
from ndxp.bench.roundtrip import percentiles
from ndxp.core.document_traffic import DocumentMix
from ndxp.core.registry import Registry
from ndxp.paths import REPO

sys.path.insert(0, str(REPO / "loadtest"))


WIDE = {"NDXP_ROUTER_MAX_FETCH_BYTES": str(1024 * 1024)}


def peak_rate() -> float:
    """Documents a second at 10× the busiest month, at the workday's peak hour."""
    from profiles import DOCUMENTS_PEAK_TPS

    return float(DOCUMENTS_PEAK_TPS)


def fill(
    bootstrap: str, registry: Registry, documents: int, run: str, seed: int = 0
) -> tuple[Backlog, int]:
    """Produce ``documents`` documents of the mix, as each agency's document system would
    (keyed by its client id); the backlog and the deliveries it asks for."""
    offsets = Offsets(bootstrap)
    tps = ingress_partitions(offsets, registry)
    start = offsets.ends(tps)
    mix = DocumentMix(registry, seed)
    p = producer(bootstrap)
    deliveries = size = 0
    t0 = time.perf_counter()
    for n in range(1, documents + 1):
        doc = mix.draw()
        at = mix.rng.randrange(len(NOISE) - doc.size)
        headers = doc.headers(f"{run}-{n}", n, f"BENCH-{run.upper()}")
        produce(p, doc.topic, NOISE[at : at + doc.size], key=doc.client.encode(), headers=headers)
        deliveries += len(doc.receivers)
        size += doc.size
        if n % 100 == 0:
            p.poll(0)
            progress(f"documents: {n:,}/{documents:,} produced ({size >> 20:,} MiB)")
    if p.flush(120):
        raise RuntimeError("documents of the backlog not delivered")
    seconds = time.perf_counter() - t0
    progress("")
    end = offsets.ends(tps)
    if delta(start, end) != documents:
        raise RuntimeError("something else writes to the ingress topics")
    return Backlog(run, documents, documents, size, seconds, start, end), deliveries


def drained(
    bootstrap: str, registry: Registry, var: Path, documents: int, port: int
) -> dict[str, Any]:
    backlog, deliveries = fill(bootstrap, registry, documents, f"d{uuid.uuid4().hex[:6]}")

    def run(label: str, start: Callable[[str], procs.Proc]) -> tuple[dict[str, Any], Any]:
        return drain(bootstrap, registry, backlog, label, start, expected=deliveries)

    def plain(label: str) -> Callable[[str], procs.Proc]:
        return lambda group: procs.plain(bootstrap, var, group, label)

    def ndxp(label: str, settings: dict[str, str] | None = None) -> Callable[[str], procs.Proc]:
        return lambda group: procs.router(bootstrap, var, group, port, label, settings)

    first, _ = run("documents: plain fan-out (1)", plain("doc-plain-1"))
    default, start = run("documents: ndxp router, defaults (1)", ndxp("doc-default-1"))
    ingest = ledger_bench.ingest_copies(
        bootstrap, var, port + 1, start, default["routed"] + default["refused"]
    )
    # not the default, where its cost is: a partition fetch of 256 KiB (the default, which
    # bounds a consumer's memory) holds about one package (218 KB on average)
    wide, _ = run("documents: ndxp router, partition fetch 1 MiB", ndxp("doc-fetch-1m", WIDE))
    wide["settings"] = WIDE
    last, _ = run("documents: plain fan-out (2)", plain("doc-plain-2"))
    again, _ = run("documents: ndxp router, defaults (2)", ndxp("doc-default-2"))
    baseline = (first["rate"] + last["rate"]) / 2
    defaults = (default["rate"] + again["rate"]) / 2
    summary = backlog.summary()
    return {
        "backlog": {
            "documents": documents,
            "deliveries": deliveries,
            "receivers_per_document": round(deliveries / documents, 2),
            "mean_package_bytes": summary["mean_payload_bytes"],
            "ingress_topics": summary["ingress_topics"],
            "fill_seconds": summary["fill_seconds"],
        },
        "baseline_rate": round(baseline, 1),
        "drains": [stamp(r, baseline) for r in (first, default, wide, last, again)],
        "default_rate": round(defaults, 1),
        "default_ratio": round(defaults / baseline, 3) if baseline else None,
        "ledger_ingest": ingest,
    }


def paced(
    bootstrap: str,
    registry: Registry,
    var: Path,
    port: int,
    rates: list[float],
    seconds: float,
    plain: bool = False,
) -> dict[str, Any]:
    """The router (or the plain fan-out) started once, from the end of the ingress topics;
    the sender at each rate."""
    offsets = Offsets(bootstrap)
    group = f"doc-paced-{uuid.uuid4().hex[:6]}"
    offsets.start_group_at(group, offsets.ends(ingress_partitions(offsets, registry)))
    label = f"{'plain' if plain else 'ndxp'}-{group}"
    if plain:
        router = procs.plain(bootstrap, var, group, label)
    else:
        router = procs.router(bootstrap, var, group, port, label)
    out: dict[str, Any] = {
        "router": "plain fan-out" if plain else "ndxp router, defaults",
        "by_rate": [],
    }
    try:
        for rate in rates:
            exits = len(router.exits)
            x = send_at(bootstrap, var, rate, seconds, router)
            x["router_exits"] = router.exits[exits:]
            out["by_rate"].append(x)
        out["router_peak_rss_mb"] = router.peak_rss_mb
        return out
    finally:
        router.stop()


def send_at(
    bootstrap: str, var: Path, rate: float, seconds: float, router: procs.Proc
) -> dict[str, Any]:
    data = procs.paced_sender("ndxp.bench.doc_caller", bootstrap, var, rate, seconds, router.tick)
    times = data["times_ms"]
    return {
        "rate": rate,
        "rate_achieved": data["rate_achieved"],
        "seconds": seconds,
        "sent": data["sent"],
        "deliveries": data["deliveries"],
        "all_receivers_have_it": len(times),
        "not_complete": data["sent"] - len(times),
        "sent_to_all_receivers_ms": percentiles(times),
        "failures": data["failures"],
    }


def measure(
    bootstrap: str, registry: Registry, var: Path, port: int, documents: int, seconds: float
) -> dict[str, Any]:
    peak = peak_rate()
    rates = [round(peak, 2), round(10 * peak, 1)]
    return {
        "drain": drained(bootstrap, registry, var, documents, port),
        "peak_rate": round(peak, 2),
        "paced": paced(bootstrap, registry, var, port + 2, rates, seconds),
        "paced_plain": paced(bootstrap, registry, var, port + 3, rates, seconds, plain=True),
    }


def chart(d: dict[str, Any], png: Path) -> None:
    """Deliveries per second drained (each run, against the plain fan-out), and sent → every
    receiver has it at each paced rate, ndxp beside the plain fan-out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    drains = d["drain"]["drains"]
    labels = [r["label"].removeprefix("documents: ") for r in drains]
    colors = ["#999999" if "plain" in r["label"] else "#1f77b4" for r in drains]
    bars = left.barh(labels, [r["rate"] for r in drains], color=colors)
    for bar, r in zip(bars, drains, strict=True):
        left.annotate(
            f" {r['rate']:,.0f}/s ({r['ratio']:.2f}), {r['peak_rss_mb']:.0f} MB",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            va="center",
            fontsize=8,
        )
    left.invert_yaxis()
    left.set_xlabel("deliveries per second (a document's copy to one receiver)")
    bl = d["drain"]["backlog"]
    left.set_title(
        f"{bl['documents']:,} documents, {bl['deliveries']:,} deliveries, drained\n"
        "(÷ the plain fan-out's mean, peak RSS)",
        fontsize=9,
    )
    left.margins(x=0.45)
    qs = ["p50", "p90", "p99"]
    series = [
        (f"{p['router']} at {x['rate_achieved']:g}/s", x["sent_to_all_receivers_ms"])
        for p in (d["paced"], d.get("paced_plain") or {"by_rate": []})
        for x in p["by_rate"]
    ]
    width = 0.8 / max(len(series), 1)
    for i, (name, t) in enumerate(series):
        vals = [t[q] or 0 for q in qs]
        right.bar([j + i * width for j in range(len(qs))], vals, width, label=name)
        for j, v in enumerate(vals):
            right.annotate(f"{v:,.0f}", (j + i * width, v), ha="center", va="bottom", fontsize=7)
    right.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(qs))], qs)
    right.set_ylabel("ms")
    right.set_title(
        f"sent → every receiver has its copy, paced\n({d['peak_rate']:g}/s: 10× the busiest "
        "month at its peak hour; and 10× that)",
        fontsize=9,
    )
    right.legend(fontsize=7)
    fig.suptitle("documents on the exchange axis: ndxp router at its defaults, plain fan-out")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
