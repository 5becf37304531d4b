"""Draining a pre-filled backlog: one contender (``ndxp router`` at some settings, or the
plain baseline) in a consumer group of its own that starts exactly at the backlog, watched
until its group has committed every record (home copies the quota stage wrote back to the
ingress topics included), then stopped;
its rate is read from its copies (:mod:`ndxp.bench.copies`): ingress records decided per
second from the first routing to the last. The same for every contender, so their ratio in
one run is the figure to compare on a shared box.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from ndxp.bench import copies
from ndxp.bench.backlog import Backlog, progress
from ndxp.bench.offsets import TP, Offsets, ranges
from ndxp.bench.procs import Proc
from ndxp.core import wire
from ndxp.core.registry import Registry

Start = Callable[[str], Proc]  # group → the contender's process, started


def egress_partitions(offsets: Offsets, registry: Registry) -> list[TP]:
    topics = [wire.egress_topic(m.id) for m in registry.connected]
    return offsets.partitions([*topics, wire.REJECTED_TOPIC])


def drain(
    bootstrap: str,
    registry: Registry,
    backlog: Backlog,
    label: str,
    start: Start,
    timeout_s: float = 1800,
    expected: int | None = None,
) -> tuple[dict[str, Any], dict[TP, int]]:
    """``start(group)`` drains ``backlog``: its rate, what it decided, its peak memory; and
    where its copies begin on the egress topics and ``ndxp.rejected``. ``expected``: the
    distinct copies it must write (a backlog of documents: their deliveries), by default one
    per ingress record."""
    offsets = Offsets(bootstrap)
    group = f"bench-{slug(label)}-{uuid.uuid4().hex[:6]}"
    ingress = list(backlog.start)
    # the group begins at the backlog: at its first offset where it has records, at the end
    # of every other ingress partition
    offsets.start_group_at(group, {tp: backlog.start[tp] for tp in ingress})
    out_tps = egress_partitions(offsets, registry)
    before = offsets.ends(out_tps)
    t0 = time.perf_counter()
    proc = start(group)
    watched = ingress  # home copies land there too: the group's lag covers them
    lag = backlog.messages
    done_s = None
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            proc.keep_alive()
            proc.sample()
            lag, committed = offsets.progress(group, watched)
            proc.watch(committed, lag)
            progress(
                f"{label}: {backlog.messages - min(lag, backlog.messages):,}/"
                f"{backlog.messages:,} committed, {proc.sample() // 1024} MB"
            )
            if lag == 0:
                done_s = time.perf_counter() - t0
                break
            time.sleep(0.5)
    finally:
        proc.stop()
        progress("")
    if done_s is None:
        raise RuntimeError(f"{label}: {lag:,} records still not committed after {timeout_s} s")
    after = offsets.ends(out_tps)
    written = ranges(before, after)
    got = copies.read(bootstrap, written, label)
    lost = (backlog.messages if expected is None else expected) - got.distinct
    result = {
        "label": label,
        "messages": backlog.messages,
        **got.summary(),
        "lost": lost,
        "wall_seconds_with_startup": round(done_s, 1),
        "peak_rss_mb": proc.peak_rss_mb,
        "restarts": proc.exits,
    }
    return result, before


def slug(label: str) -> str:
    """``label`` as a consumer group (and Faust app id, whose topics are named after it)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")


def stamp(result: dict[str, Any], baseline: float) -> dict[str, Any]:
    """``result`` with its ratio to the baseline's rate in the same run."""
    return {**result, "ratio": round(result["rate"] / baseline, 3) if baseline else None}
