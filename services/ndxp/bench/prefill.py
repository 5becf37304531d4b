"""A day's ledger table pre-filled inside the engine: ``n`` rows that look like the day's own.

The rows are made by ``INSERT … SELECT`` (no Python loop, no Kafka): for every ingress
partition, offsets ``0 … count-1`` (its share of ``n``, in proportion to the traffic the
partition carries), each row copied from one of that partition's template rows (ledger rows of
copies of the same day: the same clients, services, kinds, routes, egress topics and payload
sizes) with a message id, a payload hash and a time of its own: its time of receipt runs from
the start of the day to ``end_ms``, rising with the offset, as an ingress partition's does.
The copies a benchmark then writes have offsets above these on the same partitions.

The work is cut into inserts of about a million rows (progress after each); then the engine is
left to merge, as it would have during the day, until no merge runs (the table's parts as a
day of inserts would leave them, not the hundreds a fast fill leaves).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ndxp.bench.offsets import TP
from ndxp.core.ledger import COLUMNS, Row

CHUNK = 65_536  # offsets per array row: ARRAY JOIN makes blocks no bigger than this
INSERT_ROWS = 1_000_000  # rows per INSERT statement (progress between them)
TEMPLATES = "bench_prefill.templates"


def shares(weights: Mapping[TP, int], total: int) -> dict[TP, int]:
    """``total`` split over the partitions in proportion to ``weights`` (largest remainder:
    the parts add up to ``total`` exactly)."""
    weight = sum(weights.values())
    if total == 0 or weight == 0:
        return {tp: 0 for tp in weights}
    exact = {tp: total * w / weight for tp, w in weights.items()}
    out = {tp: int(x) for tp, x in exact.items()}
    left = total - sum(out.values())
    for tp in sorted(exact, key=lambda tp: (out[tp] - exact[tp], tp))[:left]:
        out[tp] += 1
    return out


def chunks(counts: Sequence[int], size: int = CHUNK) -> list[tuple[int, int, int]]:
    """``(partition index, first offset, how many)`` covering offsets ``0 … count-1`` of each
    partition, ``size`` at most each."""
    return [
        (j, first, min(size, count - first))
        for j, count in enumerate(counts)
        for first in range(0, count, size)
    ]


def statements(
    parts: list[tuple[int, int, int]],
    counts: Sequence[int],
    templates: Sequence[int],
    day_start_ms: int,
    end_ms: int,
) -> list[tuple[str, int]]:
    """The INSERT statements of the fill, with the rows each makes."""
    columns = ", ".join(COLUMNS)
    span = max(end_ms - day_start_ms, 1)
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(parts):
        group: list[tuple[int, int, int]] = []
        rows = 0
        while i < len(parts) and (not group or rows + parts[i][2] <= INSERT_ROWS):
            group.append(parts[i])
            rows += parts[i][2]
            i += 1
        cells = ",".join(f"({j},{first},{n},{templates[j]},{counts[j]})" for j, first, n in group)
        out.append((_SQL.format(columns=columns, cells=cells, start=day_start_ms, span=span), rows))
    return out


# Message ids start with 'p' (no copy's id does); a response's correlation id names a request
# of the same fill. Times: receipt rises with the offset over the day; the sender's claim 3 ms
# before it, the routing 2 ms after.
_SQL = f"""
INSERT INTO ndxp.ledger ({{columns}})
SELECT
  concat('p', toString(g.j), '-', toString(g.o)) AS mid,
  t.kind,
  if(t.kind = 'response', concat('p', toString(g.j), '-', toString(g.o + 1), 'q'), ''),
  t.outcome, t.error, t.error_detail,
  t.client, t.client_member, t.client_level1, t.client_subsystem,
  t.service, t.service_member, t.service_level1, t.service_subsystem, t.service_code,
  t.service_version, t.route, t.payload_size,
  SHA256(mid),
  g.at,
  g.at - toIntervalMillisecond(3),
  g.at + toIntervalMillisecond(2),
  t.topic, t.partition, g.o,
  t.source_topic, t.source_partition, g.o,
  t.receiver, t.doc_id, t.doc_status
FROM
(
  SELECT c.1 AS j, c.2 + arrayJoin(range(c.3)) AS o, toUInt32(o % c.4) AS k,
         fromUnixTimestamp64Milli(toInt64({{start}} + intDiv(o * {{span}}, c.5)), 'UTC') AS at
  FROM (SELECT arrayJoin([{{cells}}]) AS c)
) AS g
INNER JOIN {TEMPLATES} AS t ON t.j = g.j AND t.k = g.k
"""


def prefill(
    store: Any,
    templates: Mapping[TP, Sequence[Row]],
    counts: Mapping[TP, int],
    day_start_ms: int,
    end_ms: int,
    show: Callable[[str], None],
    merge_wait_s: float = 600.0,
) -> dict[str, Any]:
    """Fill ``store``'s (a :class:`~ndxp.ledger.store.LedgerStore`) ``ndxp.ledger`` with
    ``counts[tp]`` rows on each ingress partition ``tp`` (offsets from 0), each partition's
    rows made from its ``templates``; then wait for the merges. Returns what it took."""
    tps = sorted(counts)
    total = sum(counts.values())
    if total == 0:
        return {"rows": 0, "seconds": 0.0, "merge_seconds": 0.0, "parts": 0}
    client = store.client
    client.command("CREATE DATABASE IF NOT EXISTS bench_prefill")
    client.command(f"DROP TABLE IF EXISTS {TEMPLATES}")
    client.command(
        f"CREATE TABLE {TEMPLATES} ENGINE = Memory AS SELECT toUInt32(0) AS j, "
        f"toUInt32(0) AS k, {', '.join(COLUMNS)} FROM ndxp.ledger LIMIT 0"
    )
    data = [(j, k, *row) for j, tp in enumerate(tps) for k, row in enumerate(templates[tp])]
    client.insert(TEMPLATES, data, column_names=["j", "k", *COLUMNS])
    sizes = [len(templates[tp]) for tp in tps]
    want = [counts[tp] for tp in tps]
    plan = statements(chunks(want), want, sizes, day_start_ms, end_ms)
    t0 = time.perf_counter()
    done = 0
    for sql, rows in plan:
        client.command(sql)
        done += rows
        elapsed = time.perf_counter() - t0
        show(f"pre-fill: {done:,}/{total:,} rows ({done / max(elapsed, 1e-9):,.0f} rows/s)")
    seconds = time.perf_counter() - t0
    client.command(f"DROP TABLE {TEMPLATES}")
    t1 = time.perf_counter()
    quiet = 0
    while time.perf_counter() - t1 < merge_wait_s and quiet < 3:
        [(merging,)] = client.query(
            "SELECT count() FROM system.merges WHERE database = 'ndxp'"
        ).result_rows
        quiet = quiet + 1 if merging == 0 else 0
        show(f"pre-fill: {total:,} rows in {seconds:.0f} s; merging ({merging} merges)")
        time.sleep(1)
    [(parts,)] = client.query(
        "SELECT count() FROM system.parts WHERE database = 'ndxp' AND table = 'ledger' AND active"
    ).result_rows
    return {
        "rows": total,
        "seconds": round(seconds, 1),
        "rows_per_s": round(total / max(seconds, 1e-9)),
        "merge_seconds": round(time.perf_counter() - t1, 1),
        "parts": parts,
    }
