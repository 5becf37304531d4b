"""One ``ndxp ledger run`` (default settings) over copies already on the egress topics,
watched from outside: from its start until its consumer group has committed every copy.

- **rows/s**: rows done (inserted, skipped as already present, quarantined), from the end of
  its first insert to the end of its last, read from ``/health`` every 0.1 s (the first
  insert's rows were read before the clock starts);
- **per batch**: each insert's time as ``/health`` shows it (``last_insert_ms``, and
  ``last_dedup_ms``, the part spent finding rows already in the ledger), and the exact
  means from ``/metrics`` (``ndxp_ledger_insert_seconds``, ``ndxp_ledger_dedup_seconds``,
  ``ndxp_ledger_batch_rows``);
- **memory**: the process tree's peak resident set (:class:`ndxp.bench.procs.Proc`);
- **wall**: from the process's start to a lag of 0 (start-up and the group's join included).
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ndxp.bench import procs
from ndxp.bench.backlog import progress
from ndxp.bench.offsets import TP, Offsets

POLL_S = 0.1


def get(port: int, path: str) -> bytes | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.read()  # type: ignore[no-any-return]
    except OSError:
        return None


def health(port: int) -> dict[str, Any] | None:
    body = get(port, "/health")
    return json.loads(body) if body else None


def histogram_means(port: int) -> dict[str, dict[str, float]]:
    """count, sum and mean of the ledger's per-batch histograms on ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    body = get(port, "/metrics")
    out: dict[str, dict[str, float]] = {}
    if not body:
        return out
    for family in text_string_to_metric_families(body.decode()):
        if family.type != "histogram":
            continue
        values = {s.name.removeprefix(family.name): s.value for s in family.samples}
        count, total = values.get("_count", 0.0), values.get("_sum", 0.0)
        out[family.name] = {"count": count, "sum": total, "mean": total / count if count else 0.0}
    return out


def ingest(
    bootstrap: str,
    var: Path,
    dsn: str,
    port: int,
    start: Mapping[TP, int],
    label: str,
    timeout_s: float = 1800,
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``ndxp ledger run`` in a fresh consumer group starting at ``start`` (every egress
    partition), on the engine folder of ``dsn``, until it has committed everything
    (``settings``: its environment's, :func:`ndxp.bench.procs.ledger`)."""
    offsets = Offsets(bootstrap)
    group = f"ledger-day-{label}-{uuid.uuid4().hex[:6]}"
    tps = list(start)
    offsets.start_group_at(group, start)
    t0 = time.monotonic()
    proc = procs.ledger(bootstrap, var, group, port, dsn, label, settings)
    batches: list[dict[str, Any]] = []
    seen_batches = 0
    lag = -1
    check_at = 0.0
    wall = None
    try:
        deadline = t0 + timeout_s
        while True:
            proc.keep_alive()
            now = time.monotonic()
            h = health(port)
            if h and h["batches"] != seen_batches:
                batches.append(
                    {
                        "t": round(now - t0, 2),
                        "done": h["rows_inserted"]
                        + h["rows_skipped_as_duplicates"]
                        + h["rows_quarantined"],
                        "inserted": h["rows_inserted"],
                        "batches": h["batches"] - seen_batches,
                        "rows": h["last_batch_rows"],
                        "ms": h["last_insert_ms"],
                        "dedup_ms": h.get("last_dedup_ms"),
                        "dedup_rows_read": h.get("dedup_rows_read"),
                    }
                )
                seen_batches = h["batches"]
            if wall is not None:  # lag 0 was seen: this was the last look
                break
            if now >= check_at:
                check_at = now + 0.5
                lag = offsets.lag(group, tps)
                mb = proc.sample() // 1024
                done = batches[-1]["done"] if batches else 0
                progress(f"ledger {label}: {done:,} rows done, lag {lag:,}, {mb} MB")
                if lag == 0:
                    wall = time.monotonic() - t0
                    time.sleep(0.3)  # its stats are updated just after the commit
                    continue
                if now > deadline:
                    raise RuntimeError(f"ledger {label}: lag {lag:,} after {timeout_s:.0f} s")
            time.sleep(POLL_S)
        means = histogram_means(port)
        final = health(port) or {}
    finally:
        proc.stop()
        progress("")
    return summarize(batches, means, final, wall or 0.0, proc)


def summarize(
    batches: list[dict[str, Any]],
    means: dict[str, dict[str, float]],
    final: dict[str, Any],
    wall: float,
    proc: procs.Proc,
) -> dict[str, Any]:
    rate = None
    if len(batches) > 1:
        first, last = batches[0], batches[-1]
        rate = round((last["done"] - first["done"]) / max(last["t"] - first["t"], 1e-3))
    seen = sorted(b["ms"] for b in batches if b["ms"] is not None)
    dedup = sorted(b["dedup_ms"] for b in batches if b["dedup_ms"] is not None)
    insert = means.get("ndxp_ledger_insert_seconds", {})
    dedup_mean = means.get("ndxp_ledger_dedup_seconds", {})
    rows = means.get("ndxp_ledger_batch_rows", {})
    return {
        "rows_per_s": rate,
        "wall_seconds": round(wall, 1),
        "records_read": final.get("records_read"),
        "rows_inserted": final.get("rows_inserted"),
        "rows_skipped_as_duplicates": final.get("rows_skipped_as_duplicates"),
        "rows_quarantined": final.get("rows_quarantined"),
        "batches": int(insert.get("count", 0)),
        "batch_rows_mean": round(rows.get("mean", 0.0)),
        "batch_ms_mean": round(insert.get("mean", 0.0) * 1000, 1),
        "batch_ms_p50": _quantile(seen, 0.5),
        "batch_ms_max": seen[-1] if seen else None,
        "dedup_ms_mean": round(dedup_mean["mean"] * 1000, 1) if dedup_mean else None,
        "dedup_ms_p50": _quantile(dedup, 0.5),
        "dedup_ms_max": dedup[-1] if dedup else None,
        "dedup_rows_read": final.get("dedup_rows_read"),
        "peak_rss_mb": proc.peak_rss_mb,
        "restarts": proc.exits,
        "seen_batches": batches,
    }


def _quantile(values: list[float], q: float) -> float | None:
    return values[min(len(values) - 1, int(q * len(values)))] if values else None
