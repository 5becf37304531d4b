"""A synthetic history of the document exchange axis in the ledger (``ndxp ledger synth``):
documents sent, a row per delivery, and each receiver's statuses, month by month as
:func:`ndxp.ledger.history.monthly_documents` gives them (March 2022 at 1/100: 1,115 documents
sent and 3,525 deliveries received).

The 85 level-1 agencies of the sample registry (22 ministries and 63 provinces) send and
receive; the Government Office (G22) sends three times as much as any other. A document has
one to many receivers (about 3.2 on average, as in March 2022; the month's deliveries are
exact). Its receivers walk it as the simulated agencies do, at real speed
(:func:`ndxp.core.document_walk.plan`: done in about three days, a few in a hundred refused).
Rows are made by :func:`ndxp.core.ledger.ledger_row` from the headers the router would have
written, so they are what the live ledger holds; their ingress offsets start at 10¹² (never a
live record's) and their ids with ``sd``/``ss``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable, Sequence

from ndxp.core import wire
from ndxp.core.document import (
    H_DOC_ID,
    H_DOC_TO,
    H_DOC_TYPE,
    delivery_key,
    document_client,
)
from ndxp.core.document_status import H_DOC_STATUS
from ndxp.core.document_walk import delivery_rng, plan
from ndxp.core.ledger import COLUMNS, Row, ledger_row
from ndxp.core.registry import Registry
from ndxp.ledger.history import VN, hour_cells, monthly_documents, months
from ndxp.ledger.store import LedgerStore

OFFSET_BASE = 10**12
PACKAGE_MEDIAN, PACKAGE_SIGMA, PACKAGE_MAX = 150_000, 1.0, 20 * 1024 * 1024
G22_WEIGHT = 3.0
BATCH = 50_000
_SIZE, _SHA = COLUMNS.index("payload_size"), COLUMNS.index("payload_sha256")


def agencies(registry: Registry) -> list[tuple[str, str]]:
    """(agency code, the subsystem it sends and reports from) of the level-1 agencies."""
    top = sorted(
        str(m.id.code)
        for m in registry.connected
        if m.id.member_class == "GOV" and str(m.id.code).startswith("000.00.00.")
    )
    return [(code, document_client(registry, code)) for code in top]


def month_rows(
    year: int, month: int, scale: float, parties: Sequence[tuple[str, str]]
) -> list[Row]:
    """The rows of one month's documents, their deliveries and their statuses."""
    sent, received = monthly_documents(year, month, scale)
    if not sent:
        return []
    rng = random.Random(f"documents {year}-{month:02d}")
    weights = [G22_WEIGHT if code.endswith(".G22") else 1.0 for code, _ in parties]
    senders = rng.choices(range(len(parties)), weights, k=sent)
    counts = _receiver_counts(rng, sent, received, len(parties) - 1)
    times = [
        start + rng.randrange(3_600_000)
        for start, n in hour_cells(year, month, sent)
        for _ in range(n)
    ]
    base = OFFSET_BASE + (year * 100 + month) * 10**7
    rows: list[Row] = []
    status_offset = base + 5 * 10**6
    for i, (who, k, at) in enumerate(zip(senders, counts, times, strict=True)):
        code, client = parties[who]
        day = dt.datetime.fromtimestamp(at / 1000, VN).date()
        doc_id = f"{code},{day:%Y/%m/%d},{i + 1}/VB-{code[-3:]}"
        receivers = rng.sample([p for j, p in enumerate(parties) if j != who], k)
        size = int(min(PACKAGE_MAX, PACKAGE_MEDIAN * math.exp(rng.gauss(0, PACKAGE_SIGMA))))
        headers = {
            wire.H_ID: f"sd{year}{month:02d}-{i}",
            wire.H_KIND: wire.KIND_DOCUMENT,
            wire.H_CLIENT: client,
            H_DOC_ID: doc_id,
            H_DOC_TO: ",".join(r for r, _ in receivers),
            H_DOC_TYPE: "CV",
        }
        for receiver, receiver_client in receivers:
            copy = {**headers, wire.H_DOC_RECEIVER: receiver, wire.H_ROUTE: receiver}
            row = _row(copy, f"ndxp.in.{code}", base + i, at, f"ndxp.out.{receiver}")
            rows.append(_sized(row, size, f"{doc_id}|{receiver}"))
            key = delivery_key(doc_id, receiver)
            t = float(at)
            for n, step in enumerate(plan(delivery_rng(0, key), speed=1.0)):
                t += step.after_s * 1000
                status = {
                    wire.H_ID: f"ss{year}{month:02d}-{i}-{receiver}-{n}",
                    wire.H_KIND: wire.KIND_STATUS,
                    wire.H_CLIENT: receiver_client,
                    H_DOC_ID: doc_id,
                    wire.H_DOC_RECEIVER: receiver,
                    H_DOC_STATUS: step.status.value,
                    wire.H_ROUTE: code,
                }
                status_offset += 1
                rows.append(
                    _row(status, f"ndxp.in.{receiver}", status_offset, int(t), f"ndxp.out.{code}")
                )
    return rows


def _row(headers: dict[str, str], source: str, offset: int, at_ms: int, topic: str) -> Row:
    coordinates = {
        wire.H_SOURCE_TOPIC: source,
        wire.H_SOURCE_PARTITION: "0",
        wire.H_SOURCE_OFFSET: str(offset),
        wire.H_ROUTED_AT: str(at_ms + 3),
    }
    encoded = [(k, v.encode()) for k, v in {**headers, **coordinates}.items()]
    row = ledger_row(topic, 0, 0, at_ms, None, encoded)
    assert row is not None
    return row


def _sized(row: Row, size: int, seed: str) -> Row:
    """The row of a package of ``size`` bytes (not made: its hash is a stand-in)."""
    out = list(row)
    out[_SIZE] = size
    out[_SHA] = random.Random(seed).randbytes(32)
    return tuple(out)


def _receiver_counts(rng: random.Random, sent: int, received: int, most: int) -> list[int]:
    """How many receivers each document has: 1..most, summing to ``received``."""
    mean = received / sent
    counts = [
        max(1, min(most, round(rng.lognormvariate(math.log(mean), 0.6)))) for _ in range(sent)
    ]
    while (gap := received - sum(counts)) != 0:
        i = rng.randrange(sent)
        step = 1 if gap > 0 else -1
        if 1 <= counts[i] + step <= most:
            counts[i] += step
    return counts


def synthesize_documents(
    store: LedgerStore,
    registry: Registry,
    scale: float,
    first: tuple[int, int],
    last: tuple[int, int],
    out: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Insert the document history from ``first`` to ``last`` at ``scale``, with progress."""
    write = out or _to_stderr
    parties = agencies(registry)
    span = months(first, last)
    totals = {"documents": 0, "deliveries": 0, "rows": 0}
    t0 = time.perf_counter()
    for n, (y, m) in enumerate(span, start=1):
        rows = month_rows(y, m, scale, parties)
        for start in range(0, len(rows), BATCH):
            store.insert(rows[start : start + BATCH])
        sent, received = monthly_documents(y, m, scale)
        totals["documents"] += sent
        totals["deliveries"] += received
        totals["rows"] += len(rows)
        bar = "#" * round(30 * n / len(span))
        write(
            f"\r\033[K[{bar:<30}] {y}-{m:02d}: {sent:>7,} documents, {received:>8,} deliveries "
            f"({len(rows):,} rows with statuses)"
        )
    elapsed = time.perf_counter() - t0
    write(
        f"\nsynthesized {totals['documents']:,} documents, {totals['deliveries']:,} deliveries "
        f"({totals['rows']:,} rows) in {elapsed:.1f}s\n"
    )
    return {**totals, "seconds": elapsed}


def _to_stderr(text: str) -> None:
    print(text, end="", file=sys.stderr, flush=True)
