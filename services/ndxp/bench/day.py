"""National days: a day's requests of the many-agency mix and their responses through
``ndxp router`` into ``ndxp ledger run``, both at their default settings, counted in the ledger.

- **One day** (1.5 M requests + 1.5 M responses): pre-filled on the ingress topics, then
  router and ledger started together; the wall time runs from their start to the last row in
  the ledger (its ``ingested_at``), and to the last routing (``routed_at``).
- **A 10× day** (15 M + 15 M, ``--ten-days``): 45 GB of ingress records alone would not fit
  a development box twice over, so it is produced while router and ledger run, as fast as the
  producer goes but never more than ``lag_bound`` records ahead of the router or the ledger,
  and what their groups have committed is deleted as they go (Kafka's DeleteRecords, every
  30 s; small segments, so that the broker frees them). A first attempt used a short
  ``retention.ms`` instead: while the router crashed and restarted, the broker deleted
  records it had not read yet. The wall time runs from the first record produced to the last
  row.

Loss and duplicates are counted in the ledger by the rows' source identity (``source_topic``,
``source_partition``, ``source_offset``) against the offsets the day occupies on every ingress
partition: lost = offsets with no row, duplicated = rows beyond one per offset (counted
before ReplacingMergeTree merges could hide them: the engine is read as soon as the ledger
stops). Peak lags are the router's and the ledger's committed lag (records not yet
committed by their consumer groups), read every second.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp import env
from ndxp.bench import procs
from ndxp.bench.backlog import Backlog, fill, ingress_partitions, progress
from ndxp.bench.broker import PARTITIONS
from ndxp.bench.drain import egress_partitions
from ndxp.bench.offsets import TP, Offsets
from ndxp.core.registry import Registry
from ndxp.core.topology import internal_topics

NATIONAL_DAY = 1_500_000
# the 10× day: small segments, so that records deleted once consumed free the disk
SMALL_SEGMENTS = {"segment.ms": "60000", "segment.bytes": "67108864"}


def national_day(
    bootstrap: str,
    registry: Registry,
    var: Path,
    port: int,
    requests: int = NATIONAL_DAY,
    concurrent: bool = False,
    lag_bound: int = 400_000,
    label: str = "one day",
    router_settings: dict[str, str] | None = None,
    partitions: int = PARTITIONS,
) -> dict[str, Any]:
    """``partitions``: each member topic's (the broker's topics were made with it), the router
    given the same."""
    if partitions != PARTITIONS:
        router_settings = {env.PARTITIONS: str(partitions), **(router_settings or {})}
    offsets = Offsets(bootstrap)
    tag = uuid.uuid4().hex[:6]
    router_group, ledger_group = f"day-router-{tag}", f"day-ledger-{tag}"
    ingress = ingress_partitions(offsets, registry)
    out_tps = egress_partitions(offsets, registry)
    offsets.start_group_at(ledger_group, offsets.ends(out_tps))
    if concurrent:
        offsets.create_topics(internal_topics(router_group, partitions))
        offsets.set_topic_config(
            [*{t for t, _ in ingress}, *{t for t, _ in out_tps}], SMALL_SEGMENTS
        )
    watched = ingress  # home copies the quota stage writes back land there too
    result: dict[str, Any] = {
        "requests": requests,
        "messages": 2 * requests,
        "router_settings": router_settings or {},
    }
    filled: list[Backlog] = []
    filler: threading.Thread | None = None
    if concurrent:
        offsets.start_group_at(router_group, offsets.ends(ingress))
    else:
        backlog = fill(bootstrap, registry, requests, f"d{tag}", label=f"{label}: filling")
        filled.append(backlog)
        result["fill_seconds"] = round(backlog.seconds, 1)
        offsets.start_group_at(router_group, backlog.start)
    dsn = f"chdb://{var / f'ledger-{tag}'}"
    t0_ms = time.time() * 1000
    router = procs.router(bootstrap, var, router_group, port, f"day-{tag}", router_settings)
    ledger = procs.ledger(bootstrap, var, ledger_group, port + 1, dsn, f"day-{tag}")
    if concurrent:
        gate = Gate(bootstrap, router_group, ledger_group, watched, out_tps, lag_bound)
        filler = threading.Thread(
            target=lambda: filled.append(
                fill(bootstrap, registry, requests, f"d{tag}", gate=gate.wait, label=label)
            ),
            daemon=True,
        )
        filler.start()
    peak_router = peak_ledger = 0
    router_lag = ledger_lag = 0
    broker = procs.broker_pid(bootstrap)
    meter = procs.CpuMeter(
        {
            "router": router.pid,
            "ledger": ledger.pid,
            **({} if broker is None else {"broker": broker}),
        }
    )
    cores: dict[str, float] = {}
    deleted_at = time.monotonic()
    deadline = time.monotonic() + max(3600.0, requests / 250)  # 1 h, or 250 requests/s
    max_exits = max(30, requests // 50_000)  # a crash every 50,000 requests: give up
    try:
        while True:
            router.keep_alive()
            ledger.keep_alive()
            if time.monotonic() > deadline or len(router.exits) + len(ledger.exits) > max_exits:
                raise RuntimeError(
                    f"{label}: not done (router lag {router_lag:,}, ledger lag "
                    f"{ledger_lag:,}); exits: router {router.exits[-3:]}, ledger "
                    f"{ledger.exits[-3:]}"
                )
            r_mb, l_mb = router.sample() // 1024, ledger.sample() // 1024
            router_lag, router_done = offsets.progress(router_group, watched)
            ledger_lag, ledger_done = offsets.progress(ledger_group, out_tps)
            router.watch(router_done, router_lag, stall_s=60)
            if concurrent and time.monotonic() - deleted_at > 30:
                offsets.delete_consumed(router_group, watched)
                offsets.delete_consumed(ledger_group, out_tps)
                deleted_at = time.monotonic()
            ledger.watch(ledger_done, ledger_lag, stall_s=300)
            peak_router, peak_ledger = max(peak_router, router_lag), max(peak_ledger, ledger_lag)
            elapsed = time.time() - t0_ms / 1000
            if not filled:
                if filler is not None and not filler.is_alive():
                    raise RuntimeError(f"{label}: the producer failed (see above)")
                progress(
                    f"{label}: {elapsed:,.0f} s; router lag {router_lag:,}, ledger lag "
                    f"{ledger_lag:,}; router {r_mb} MB, ledger {l_mb} MB (producing)"
                )
            else:
                done = 2 * requests - router_lag
                progress(
                    f"{label}: {elapsed:,.0f} s; routed {max(done, 0):,}/{2 * requests:,}, "
                    f"ledger lag {ledger_lag:,}; router {r_mb} MB, ledger {l_mb} MB"
                )
                if router_lag == 0 and offsets.lag(ledger_group, out_tps) == 0:
                    cores = unrestarted(meter.cores(), {"router": router, "ledger": ledger})
                    break
            time.sleep(1)
    finally:
        ledger.stop()
        router.stop()
        progress("")
    backlog = filled[0]
    counted = count_in_ledger(dsn, backlog)
    result.update(
        {
            "wall_seconds": round((counted.pop("last_ingested_ms") - t0_ms) / 1000, 1),
            "routed_seconds": round((counted.pop("last_routed_ms") - t0_ms) / 1000, 1),
            **counted,
            "peak_router_lag": peak_router,
            "peak_ledger_lag": peak_ledger,
            "router_peak_rss_mb": router.peak_rss_mb,
            "ledger_peak_rss_mb": ledger.peak_rss_mb,
            "cores": cores,
            "router_restarts": router.exits,
            "ledger_restarts": ledger.exits,
            "mean_payload_bytes": backlog.summary()["mean_payload_bytes"],
            "ingress_partitions": len(backlog.ranges),
        }
    )
    if concurrent:
        result["produce_seconds"] = round(backlog.seconds, 1)
        result["lag_bound"] = lag_bound
    result["rate"] = round(result["messages"] / max(result["wall_seconds"], 1e-3))
    return result


def unrestarted(cores: dict[str, float], watched: dict[str, procs.Proc]) -> dict[str, float]:
    """The cores each process used while the day ran (``procs.CpuMeter.cores``), the
    broker's too: what the two cores went to; without a process that exited and was started
    again (its pid, and its count, started anew)."""
    return {name: c for name, c in cores.items() if name not in watched or not watched[name].exits}


class Gate:
    """Holds the producer back while the router or the ledger is more than ``bound``
    records behind: what is not consumed yet stays on the disk."""

    def __init__(
        self,
        bootstrap: str,
        router_group: str,
        ledger_group: str,
        router_tps: list[TP],
        ledger_tps: list[TP],
        bound: int,
    ) -> None:
        self.offsets = Offsets(bootstrap)  # its own client: the gate runs on the producer thread
        self.args = (router_group, ledger_group, router_tps, ledger_tps)
        self.bound = bound
        self.waited_s = 0.0

    def wait(self, _produced: int) -> None:
        router_group, ledger_group, router_tps, ledger_tps = self.args
        t = time.perf_counter()
        while (
            self.offsets.lag(router_group, router_tps) > self.bound
            or self.offsets.lag(ledger_group, ledger_tps) > self.bound
        ):
            time.sleep(0.5)
        self.waited_s += time.perf_counter() - t


def reconcile(
    expected: dict[TP, tuple[int, int]], got: dict[TP, tuple[int, int, int, int]]
) -> dict[str, int]:
    """The ledger's rows against the day: ``expected`` is each ingress partition's
    (first offset, end) of the day, ``got`` each partition's (distinct offsets, rows, lowest
    offset, highest offset) among the rows. Lost: offsets of the day with no row; duplicated:
    rows beyond one per offset; outside: partitions holding rows of offsets the day never
    had (another phase's records read by mistake)."""
    lost = duplicated = outside = 0
    for tp, (distinct, rows, lo, hi) in got.items():
        duplicated += rows - distinct
        if tp not in expected:
            outside += 1
            continue
        first, end = expected[tp]
        if lo < first or hi >= end:
            outside += 1
    for tp, (first, end) in expected.items():
        lost += (end - first) - got.get(tp, (0, 0, 0, 0))[0]
    return {
        "in_ledger": sum(v[0] for v in got.values()),
        "lost": lost,
        "duplicated": duplicated,
        "partitions_with_rows_outside_the_day": outside,
    }


def count_in_ledger(dsn: str, backlog: Backlog) -> dict[str, Any]:
    """Rows per ingress partition against the offsets the day occupies there."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        per_partition = client.query(
            """
            SELECT source_topic, source_partition, count() AS distinct_offsets, sum(c) AS rows,
                   min(source_offset), max(source_offset)
            FROM (SELECT source_topic, source_partition, source_offset, count() AS c
                  FROM ndxp.ledger GROUP BY source_topic, source_partition, source_offset)
            GROUP BY source_topic, source_partition
            """,
            settings={"optimize_aggregation_in_order": 1},
        ).result_rows
        refused = client.query(
            "SELECT error, count() FROM ndxp.ledger WHERE outcome = 'rejected' GROUP BY error"
        ).result_rows
        [[kinds_ok, last_ingested, last_routed]] = client.query(
            "SELECT countIf(kind IN ('request', 'response')) = count(), "
            "toUnixTimestamp64Milli(max(ingested_at)), toUnixTimestamp64Milli(max(routed_at)) "
            "FROM ndxp.ledger"
        ).result_rows
    finally:
        client.close()
    got = {(t, int(p)): (int(d), int(r), int(lo), int(hi)) for t, p, d, r, lo, hi in per_partition}
    return {
        **reconcile(backlog.ranges, got),
        "refused": sum(int(n) for _, n in refused),
        "refused_by_code": {str(code): int(n) for code, n in refused},
        "kinds_all_request_or_response": bool(kinds_ok),
        "last_ingested_ms": int(last_ingested),
        "last_routed_ms": int(last_routed),
    }
