"""The capacity benchmark (``make bench``): national traffic as it really is, measured in one
run on one broker, every rate next to a baseline of the same run.

1. **The broker's limit**: Kafka's own perf tools (Java client) produce (acks=all) and consume
   records of the mix's mean size on the same broker.
2. **The many-agency mix, drained** (the headline): requests of every client system of the
   registry's traffic mix (:mod:`ndxp.bench.mix`) and the responses their providers return,
   log-normal payloads (mean ≈ 1.4 KB), on every connected member's ingress topic and
   partitions, pre-filled; then drained by each contender in turn from a consumer group of its
   own (:mod:`ndxp.bench.drain`): the plain aiokafka router (:mod:`ndxp.bench.plain`, the
   baseline) and ``ndxp router`` at its **default settings**, each twice and interleaved (the
   box's speed drifts within a run), the ledger ingesting that router's copies, and — to show
   where the cost is — ``ndxp router`` with ``NDXP_QUOTAS=off``, with
   ``NDXP_QUOTA_STAGE=inline``, ``NDXP_FETCH_SESSIONS=off``, 1 MiB partition fetches and
   Python's 5 ms thread switch interval (``CONTEXT``). msg/s, the ratio to the
   mean of the baseline's runs, peak RSS, refusals (by limit), loss and duplicates counted on
   the copies, and any worker exit (a worker that exits is started again, as the platform
   does, and the exit reported).
3. **One client, one partition** (the case the figures once came from, secondary;
   docs/PERFORMANCE.md):
   100,000 requests of 512 B of one client on its partition, the bench client's limits raised
   so that it is checked but never refused; the plain loop and ``ndxp router`` at defaults.
4. **Round trips** (:mod:`ndxp.bench.roundtrip`): request produced → routed → ``ndxp
   simulate`` (service time 0) → response routed → consumed by the Locust user's client, at
   idle and at 1,000 tx/s over the mix; p50/p90/p99/max and where the time goes; then the same
   with the router's fetch sessions off, with its fetches planned as before the hand-over and
   Python's 5 ms switch interval (``BEFORE_HAND_OVER``), and through the plain aiokafka
   router, the baseline of the same run. **A loud neighbour** (:mod:`ndxp.bench.neighbour`):
   the quiet members' round trips at 20 req/s while one province's one-stop-shop system sends
   the national portal ``--neighbour`` notices a second (6,000), through ``ndxp router`` and
   through the plain aiokafka router. **One hop** (:mod:`ndxp.bench.hand_over`, phase
   ``hop``): the broker's append → a consumer of all ingress partitions has the record, with
   librdkafka as the baseline of the same run.
5. **HTTP through the X-Road gateway** (:mod:`ndxp.bench.gateway`): calls to REST APIs
   answered through ``ndxp gateway``, router, provider adapter and ``ndxp simulate --http``, one
   at a time, paced at 1,000/s, and 64, 256 and 1,024 in flight (the last the path's capacity),
   with the CPU each process spent per call; the
   ceiling of Python HTTP here (a plain aiohttp reverse proxy to the same APIs) in the same
   run; the many-agency mix through the gateway as context.
6. **Documents** (:mod:`ndxp.bench.documents`): the exchange axis's mix — deliveries per
   second drained, ``ndxp router`` beside a plain aiokafka fan-out, and the time from sent to
   every receiver having its copy at 10× the busiest month's peak rate.
7. **National days** (:mod:`ndxp.bench.day`): ``--day`` one day (1.5 M requests and their
   responses) through router and ledger, counted in the ledger; ``--ten-days`` a 10× day.

It starts its own broker (port 9194, ``var/bench-capacity``), prints a table headed by the
command that produced it, and writes ``var/bench/capacity-<time>.json`` and a chart beside it.
"""

from __future__ import annotations

import argparse
import faulthandler
import functools
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ndxp.bench import documents as documents_bench
from ndxp.bench import gateway as gateway_bench
from ndxp.bench import hand_over, kafka_perf, neighbour, procs, roundtrip, routing, verdict
from ndxp.bench import ledger as ledger_bench
from ndxp.bench.backlog import Backlog, fill, ingress_partitions, progress
from ndxp.bench.broker import PARTITIONS, own_broker, stop_broker
from ndxp.bench.day import NATIONAL_DAY, national_day
from ndxp.bench.drain import drain, stamp
from ndxp.bench.mix import Mix
from ndxp.bench.offsets import Offsets
from ndxp.core import wire
from ndxp.core.registry import Registry
from ndxp.core.topology import TopicSpec, topics_for
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry

PERF_TOPIC = "ndxp.bench.perf"
UNFAIR = {"NDXP_FETCH_FAIR": "off", "NDXP_ROUTER_QUEUED_RECORDS": "0"}
CONTEXT = (  # not the defaults: where the default's cost is
    ("quotas off", {"NDXP_QUOTAS": "off"}),
    ("inline quota stage", {"NDXP_QUOTA_STAGE": "inline"}),
    ("no fetch sessions", {"NDXP_FETCH_SESSIONS": "off"}),  # aiokafka's own fetches
    # the partition fetch size before the default went down to 256 KiB (memory behind a backlog)
    ("partition fetch 1 MiB", {"NDXP_ROUTER_MAX_FETCH_BYTES": str(1024 * 1024)}),
    # the router's quiet-platform switch interval (0.2 ms) behind a backlog too, as before
    # ndxp.core.switching: what going back to Python's 5 ms there buys a drain
    ("switch interval 0.2 ms always", {"NDXP_ROUTER_BUSY_SWITCH_INTERVAL_MS": "0.2"}),
    # members' records taken first come, first served, and a full stream buffer of runs
    # queued, as before fair scheduling (kafka/fair_drain.py, runs.deliver_runs)
    ("not fair between members", UNFAIR),
    # copies written uncompressed, as before the router's batches were zstd (the mix's payloads
    # are noise: what compressing costs, with none of what it saves on the broker)
    ("copies not compressed", {"NDXP_ROUTER_COMPRESSION": "none"}),
)

# the router's fetches as before the hand-over (kafka/fetch_session.py) and with Python's own
# thread switch interval (settings.switch_interval_ms): what its two passes of a round trip cost
BEFORE_HAND_OVER = {"NDXP_FETCH_HAND_OVER": "off", "NDXP_ROUTER_SWITCH_INTERVAL_MS": "5"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--messages",
        type=int,
        default=300_000,
        help="many-agency backlog: records (2 per exchange)",
    )
    ap.add_argument("--one-client", type=int, default=100_000, help="one-client backlog")
    ap.add_argument("--documents", type=int, default=3000, help="documents backlog")
    ap.add_argument("--rates", default="20,1000", help="round-trip rates, requests/s")
    ap.add_argument("--rt-seconds", type=float, default=20.0, help="each round-trip run")
    ap.add_argument(
        "--neighbour",
        type=float,
        default=neighbour.RATE,
        help="a loud neighbour's notices/s beside quiet round trips at 20 req/s (0: none)",
    )
    ap.add_argument("--day", action="store_true", help="one national day (1.5 M requests)")
    ap.add_argument(
        "--day-requests", type=int, default=NATIONAL_DAY, help="a smaller day, for a quick check"
    )
    ap.add_argument("--ten-days", action="store_true", help="a 10x day (15 M requests; long)")
    ap.add_argument("--only-days", action="store_true", help="the days alone (with --day ...)")
    procs.add_router_setting_option(
        ap, "run the national day's router with this setting (context: not the defaults)"
    )
    ap.add_argument(
        "--only",
        default="",
        help="some phases alone, comma-separated: broker, many_agency, one_client, "
        "round_trips, neighbour, hop, gateway, documents",
    )
    ap.add_argument("--port", type=int, default=9194)
    ap.add_argument(
        "--partitions",
        type=int,
        default=PARTITIONS,
        help="each member topic's partitions, the days' routers given the same "
        "(NDXP_PARTITIONS; with --only-days: the other phases start their routers at the default)",
    )
    args = ap.parse_args(argv)
    if args.partitions != PARTITIONS and not args.only_days:
        ap.error("--partitions goes with --only-days")
    faulthandler.enable()
    var = REPO / "var" / "bench-capacity"
    stop_broker(args.port, var)  # before its pid file goes with the folder
    shutil.rmtree(var, ignore_errors=True)
    (var / "logs").mkdir(parents=True)
    with own_broker(args.port, var) as bootstrap:
        return run(args, bootstrap, var)


def run(args: argparse.Namespace, bootstrap: str, var: Path) -> int:
    registry = load_registry(DEFAULT_REGISTRY)
    offsets = Offsets(bootstrap)
    offsets.create_topics([*topics_for(registry, args.partitions), TopicSpec(PERF_TOPIC, 3)])
    mix = Mix(registry)
    result: dict[str, Any] = {
        "command": command(),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "mix": {
            "client_systems": len(mix.clients),
            "sender_members": len({c.sender for c in mix.clients}),
            "services": len(mix.provider),
        },
    }
    port = args.port + 10
    out = REPO / "var" / "bench" / f"capacity-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def phase(key: str, measure: Any) -> None:
        """One phase; the JSON is rewritten after each, so a long run that fails late
        keeps what it measured, and a phase that fails is reported and the next one runs."""
        try:
            result[key] = measure()
        except Exception as exc:  # the run goes on; the table and the exit status say so
            import traceback

            traceback.print_exc()
            result.setdefault("failed", {})[key] = f"{type(exc).__name__}: {exc}"[:2000]
        out.write_text(json.dumps(result, indent=2))

    only = {p.strip() for p in args.only.split(",") if p.strip()}
    if args.only_days:
        only = {"none"}

    def wanted(key: str) -> bool:
        return not only or key in only

    rates = [float(r) for r in args.rates.split(",") if r]
    if wanted("broker"):
        phase("broker", lambda: broker_limit(bootstrap, args.messages))
    if wanted("many_agency"):
        phase("many_agency", lambda: many_agency(bootstrap, registry, var, args.messages, port))
    if wanted("one_client"):
        phase("one_client", lambda: one_client(bootstrap, registry, var, args.one_client, port))
    if wanted("round_trips"):
        phase(
            "round_trips",
            lambda: roundtrip.measure(bootstrap, var, port, rates, args.rt_seconds),
        )
        phase(
            "round_trips_no_sessions",
            lambda: roundtrip.measure(
                bootstrap, var, port, rates, args.rt_seconds, {"NDXP_FETCH_SESSIONS": "off"}
            ),
        )
        phase(
            "round_trips_no_hand_over",
            lambda: roundtrip.measure(
                bootstrap, var, port, rates, args.rt_seconds, BEFORE_HAND_OVER
            ),
        )
        phase(
            "round_trips_plain",
            lambda: roundtrip.measure(bootstrap, var, port, rates, args.rt_seconds, plain=True),
        )
    if wanted("neighbour") and args.neighbour:
        for key, plain, settings in (
            ("neighbour", False, None),
            ("neighbour_unfair", False, UNFAIR),  # as before fair scheduling
            ("neighbour_plain", True, None),
        ):
            measure = functools.partial(
                roundtrip.measure,
                bootstrap,
                var,
                port,
                [neighbour.QUIET_RATE],
                args.rt_seconds,
                settings,
                plain=plain,
                flood=args.neighbour,
            )
            phase(key, measure)
    if wanted("hop"):
        phase("hop", lambda: hand_over.measure(bootstrap, 300, 20.0, 2))
    if wanted("gateway"):
        phase("gateway", lambda: gateway_bench.measure(bootstrap, var, port + 40, args.rt_seconds))
    if wanted("documents"):
        phase(
            "documents",
            lambda: documents_bench.measure(
                bootstrap, registry, var, port + 50, args.documents, args.rt_seconds
            ),
        )
    day_settings = dict(args.router_setting) or None
    if args.day:
        phase(
            "day",
            lambda: national_day(
                bootstrap,
                registry,
                var,
                port + 20,
                args.day_requests,
                router_settings=day_settings,
                partitions=args.partitions,
            ),
        )
    if args.ten_days:
        phase(
            "ten_days",
            lambda: national_day(
                bootstrap,
                registry,
                var,
                port + 30,
                10 * args.day_requests,
                concurrent=True,
                label="10x day",
                router_settings=day_settings,
                partitions=args.partitions,
            ),
        )
    from ndxp.bench.table import charts, print_table

    charts(result, out)
    print_table(result, out)
    bad = verdict.problems(result)
    if bad:
        print(f"LOST, DUPLICATED, UNANSWERED OR FAILED: {'; '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


def command() -> str:
    return "python -m ndxp.bench.capacity " + " ".join(sys.argv[1:])


def broker_limit(bootstrap: str, messages: int) -> dict[str, Any]:
    size = round(Mix.mean_bytes())
    progress(f"broker: Kafka's perf tools, {messages:,} records of {size} B")
    out = {
        "record_bytes": size,
        "produce": kafka_perf.produce(bootstrap, PERF_TOPIC, messages, size),
        "consume": kafka_perf.consume(bootstrap, PERF_TOPIC, messages),
    }
    progress("")
    return out


def many_agency(
    bootstrap: str, registry: Registry, var: Path, messages: int, port: int
) -> dict[str, Any]:
    backlog = fill(bootstrap, registry, messages // 2, f"m{uuid.uuid4().hex[:6]}")

    def plain(label: str) -> Any:
        return lambda group: procs.plain(bootstrap, var, group, label)

    def ndxp(label: str, settings: dict[str, str] | None = None) -> Any:
        return lambda group: procs.router(bootstrap, var, group, port, label, settings)

    # Each contender in turn, on the same backlog; the baseline and the default router twice,
    # since the box's speed drifts within a run (other agents share its cores), in the order
    # P D ... D P: a drain right after the plain router's ran ~3 % slower than one after the
    # router's own, in four pairs of two runs (`python -m ndxp.bench.setting_ab --order
    # PDDPDDP` and the ad hoc script it came from, 2026-12-06), and P D ... P D put both
    # default drains there.
    drains = []
    first, _ = drain(bootstrap, registry, backlog, "plain aiokafka router (1)", plain("plain-1"))
    drains.append(first)
    default, start = drain(
        bootstrap, registry, backlog, "ndxp router, defaults (1)", ndxp("default-1")
    )
    drains.append(default)
    rows = default["routed"] + default["refused"]
    ingest = ledger_bench.ingest_copies(bootstrap, var, port + 1, start, rows)
    for label, settings in CONTEXT:
        r, _ = drain(bootstrap, registry, backlog, f"ndxp router, {label}", ndxp(label, settings))
        r["settings"] = settings
        drains.append(r)
    again, _ = drain(bootstrap, registry, backlog, "ndxp router, defaults (2)", ndxp("default-2"))
    drains.append(again)
    last, _ = drain(bootstrap, registry, backlog, "plain aiokafka router (2)", plain("plain-2"))
    drains.append(last)
    baselines = [first["rate"], last["rate"]]
    baseline = sum(baselines) / len(baselines)
    defaults = [default["rate"], again["rate"]]
    return {
        "backlog": backlog.summary(),
        "baseline_rate": round(baseline, 1),
        "baseline_runs": baselines,
        "drains": [stamp(r, baseline) for r in drains],
        "default_rate": round(sum(defaults) / 2, 1),
        "default_ratio": round(sum(defaults) / 2 / baseline, 3),
        "ledger_ingest": {
            **ingest,
            "ratio_to_router_default": round(ingest["rows_per_s"] / (sum(defaults) / 2), 3)
            if ingest["rows_per_s"]
            else None,
        },
    }


def one_client(
    bootstrap: str, registry: Registry, var: Path, messages: int, port: int
) -> dict[str, Any]:
    """Today's case: one client's requests on its partition of one ingress topic."""
    offsets = Offsets(bootstrap)
    tps = ingress_partitions(offsets, registry)
    before = offsets.ends(tps)
    source = wire.ingress_topic(routing.SOURCE_MEMBER)
    seconds = routing.fill(bootstrap, source, messages, 512, f"o{uuid.uuid4().hex[:6]}")
    backlog = Backlog(
        "one-client", messages, messages, 512 * messages, seconds, before, offsets.ends(tps)
    )
    _, checked = routing.bench_registries()
    path = var / "registry-one-client.json"
    path.write_text(json.dumps(checked))
    plain, _ = drain(
        bootstrap,
        registry,
        backlog,
        "one client: plain aiokafka loop",
        lambda group: procs.plain(bootstrap, var, group, "one-client", [source]),
    )
    ndxp, _ = drain(
        bootstrap,
        registry,
        backlog,
        "one client: ndxp router, defaults",
        lambda group: procs.router(bootstrap, var, group, port, "one-client", registry=path),
    )
    return {
        "messages": messages,
        "payload_bytes": 512,
        "topic": source,
        "registry": "the sample's grants and limits, the bench client's own limits raised "
        "(checked on every request, never refused)",
        "drains": [stamp(plain, plain["rate"]), stamp(ndxp, plain["rate"])],
    }


if __name__ == "__main__":
    sys.exit(main())
