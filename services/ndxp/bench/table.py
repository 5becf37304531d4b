"""The capacity benchmark's output: a table on stdout headed by the command that produced it,
and a chart (rates side by side with their ratio to the baseline of the same run; round-trip
percentiles; where a round trip's time goes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ndxp.bench.roundtrip import LEGS
from ndxp.paths import REPO

RATE_COLORS = ("tab:blue", "tab:orange", "tab:red", "tab:purple")


def _mb(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f} MB"


def _ratio(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def print_table(r: dict[str, Any], out: Path) -> None:
    print()
    print(f"$ {r['command']}")
    print(f"ndxp capacity, {r['started']}, {r['machine']['cores']} cores, broker on the same box")
    if "broker" in r:
        b = r["broker"]
        print(
            f"  the broker (Kafka's perf tools, {b['record_bytes']:,} B records, acks=all): "
            f"produce {b['produce']['rate']:,} msg/s (p99 {b['produce']['p99_ms']} ms), "
            f"consume {b['consume']['rate']:,} msg/s"
        )
    if "many_agency" in r:
        m = r["many_agency"]
        bl = m["backlog"]
        mix = r["mix"]
        print(
            f"\n  many-agency mix: {bl['messages']:,} ingress records ({bl['requests']:,} "
            "exchanges: a request and its response, or two status notices) of "
            f"{mix['client_systems']} client systems of "
            f"{mix['sender_members']} members to {mix['services']} services, on "
            f"{bl['ingress_topics']} ingress topics / {bl['ingress_partitions']} partitions, "
            f"payload mean {bl['mean_payload_bytes']:,} B; pre-filled, drained by each in turn"
        )
        _rows(m["drains"])
        if "default_ratio" in m:
            print(
                f"    ndxp router at its defaults, mean of its two runs: {m['default_rate']:,.0f} "
                f"msg/s, {m['default_ratio']:.2f} of the plain router's mean "
                f"({m['baseline_rate']:,.0f} msg/s)"
            )
        li = m["ledger_ingest"]
        rate = f"{li['rows_per_s']:>9,}" if li.get("rows_per_s") else f"{'(one insert)':>9}"
        print(
            f"    {'ledger ingest of the default router copies':46}{rate} rows/s, "
            f"{_ratio(li['ratio_to_router_default'])} of the router's rate, peak RSS "
            f"{_mb(li['peak_rss_mb'])} ({li['rows']:,} rows in {li['inserts']} inserts)"
        )
    if "one_client" in r:
        o = r["one_client"]
        print(
            f"\n  one client, one partition (secondary; {o['messages']:,} requests of "
            f"{o['payload_bytes']} B on {o['topic']}, the bench client's limits raised):"
        )
        _rows(o["drains"])
    if "hop" in r:
        h = r["hop"]
        print(
            f"\n  one hop: produced → the broker appends it → a consumer of all {h['partitions']} "
            f"ingress partitions has it, a record at a time at {h['rate']:.0f}/s (ms, each run)"
        )
        for name, runs in h["append_to_consumed_ms"].items():
            cells = "  ".join(f"p50 {x['p50']} p90 {x['p90']} p99 {x['p99']}" for x in runs)
            print(f"    {name:30} {cells}")
    if "round_trips" in r:
        print(
            "\n  round trips: the Locust user's client → router → ndxp simulate (service time "
            "0) → router → the client, many-agency mix, defaults (ms)"
        )
        names = [name for name, _, _ in LEGS]
        print(
            f"    {'router':10} {'req/s':>6} {'answered':>9} {'p50':>6} {'p90':>6} {'p99':>6} "
            f"{'max':>6}   p50 of each leg: " + " | ".join(names)
        )
        runs = [
            ("ndxp", r["round_trips"]),
            ("no sessns", r.get("round_trips_no_sessions")),  # the router's, for comparison
            ("no handovr", r.get("round_trips_no_hand_over")),  # the router's, for comparison
            ("plain", r.get("round_trips_plain")),
        ]
        for who, rt in runs:
            for x in (rt or {}).get("by_rate", []):
                t = x["round_trip_ms"]
                legs = " | ".join(f"{x['legs_ms'][n]['p50']}" for n in names)
                n = len(x.get("router_exits", []))
                died = f" (router exited {n}x, restarted)" if n else ""
                print(
                    f"    {who:14} {x['rate_achieved']:>6,.0f} {x['answered']:>9,} {t['p50']:>6} "
                    f"{t['p90']:>6} {t['p99']:>6} {t['max']:>6}   {legs}{died}"
                )
                _exits(x.get("router_exits", []))
        for x in r["round_trips"]["by_rate"]:
            if "warm_up" in x:
                w = x["warm_up"]
                print(
                    f"    ndxp at {x['rate_achieved']:,.0f} req/s was measured after "
                    f"{w['seconds']:g} s at that rate, set aside: p50 "
                    f"{w['round_trip_ms']['p50']} p99 {w['round_trip_ms']['p99']} while warming"
                )
            legs = " | ".join(f"{x['legs_ms'][n]['p99']}" for n in names)
            ack = x["caller_produce_to_ack_ms"]
            print(
                f"    ndxp at {x['rate_achieved']:,.0f} req/s, p99 of each leg: {legs}; the "
                f"caller's producer alone (produce → ack) p50 {ack['p50']} p99 {ack['p99']}"
            )
    if "neighbour" in r:
        _neighbour(r)
    if "gateway" in r:
        from ndxp.bench.gateway import table as gateway_table

        print()
        print("\n".join(gateway_table(r["gateway"])))
    if "documents" in r:
        _documents(r["documents"])
    for key, name in (("day", "one national day"), ("ten_days", "a 10x national day")):
        if key in r:
            d = r[key]
            if d.get("router_settings"):
                name += f", the router with {d['router_settings']} (not its defaults)"
            print(
                f"\n  {name} ({d['requests']:,} exchanges, {2 * d['requests']:,} records): routed "
                f"in {d['routed_seconds']:,.0f} s, routed and in the ledger in "
                f"{d['wall_seconds']:,.0f} s ({d['rate']:,} msg/s); lost {d['lost']}, duplicated "
                f"{d['duplicated']}, refused {d['refused']:,}; peak lag: router "
                f"{d['peak_router_lag']:,}, ledger {d['peak_ledger_lag']:,}; router "
                f"{_mb(d['router_peak_rss_mb'])}, ledger {_mb(d['ledger_peak_rss_mb'])}; "
                f"exits: router {len(d['router_restarts'])}, ledger {len(d['ledger_restarts'])}"
            )
            if d.get("cores"):
                used = ", ".join(f"{n} {c:.2f}" for n, c in d["cores"].items())
                print(f"    cores used while it ran: {used}")
            _exits(d["router_restarts"] + d["ledger_restarts"])
    for key, why in r.get("failed", {}).items():
        print(f"\n  !! {key} failed: {why.splitlines()[0]}")
    print(f"\nwritten: {out.relative_to(REPO)} (charts: .png beside it)")


def _rows(drains: list[dict[str, Any]], unit: str = "msg/s") -> None:
    print(
        f"    {'':46}{unit:>9} {'÷ plain':>7} {'peak RSS':>9} {'refused':>8} {'lost':>5} "
        f"{'dup':>4} {'exits':>5}"
    )
    for d in drains:
        print(
            f"    {d['label']:46}{d['rate']:>9,.0f} {_ratio(d['ratio']):>7} "
            f"{_mb(d['peak_rss_mb']):>9} {d['refused']:>8,} {d['lost']:>5} {d['duplicated']:>4} "
            f"{len(d.get('restarts', [])):>5}"
        )
    _exits([e for d in drains for e in d.get("restarts", [])])
    refused = {k: v for d in drains for k, v in d.get("refused_by_code", {}).items()}
    if refused:
        print(f"    refused: {', '.join(sorted(refused))}")


def _documents(d: dict[str, Any]) -> None:
    if "drain" in d:
        m, bl = d["drain"], d["drain"]["backlog"]
        print(
            f"\n  documents (the exchange axis's mix): {bl['documents']:,} documents to "
            f"{bl['receivers_per_document']} receivers each on average ({bl['deliveries']:,} "
            f"deliveries), packages of {bl['mean_package_bytes'] // 1000:,} KB on average, on "
            f"{bl['ingress_topics']} ingress topics; pre-filled, drained by each in turn"
        )
        _rows(m["drains"], "deliv/s")
        print(
            f"    ndxp router at its defaults, mean of its two runs: {m['default_rate']:,.0f} "
            f"deliveries/s, {_ratio(m['default_ratio'])} of the plain fan-out's mean "
            f"({m['baseline_rate']:,.0f}/s)"
        )
        li = m["ledger_ingest"]
        rate = f"{li['rows_per_s']:,} rows/s" if li.get("rows_per_s") else "(one insert)"
        rss = _mb(li["peak_rss_mb"])
        print(f"    ledger ingest of the router's copies: {rate}, peak RSS {rss}")
    print(
        f"  documents sent at {d['peak_rate']:g}/s (10x the busiest month, peak hour) and 10x "
        "that: sent → every receiver has its copy (ms), the Locust user's client"
    )
    print(
        f"    {'router':24} {'docs/s':>7} {'complete':>9} {'p50':>7} {'p90':>7} {'p99':>7} "
        f"{'max':>7}"
    )
    for p in (d.get("paced") or {}, d.get("paced_plain") or {}):
        for x in p.get("by_rate", []):
            t = x["sent_to_all_receivers_ms"]
            print(
                f"    {p['router']:24} {x['rate_achieved']:>7} {x['all_receivers_have_it']:>5,}/"
                f"{x['sent']:<4,} {t['p50']!s:>7} {t['p90']!s:>7} {t['p99']!s:>7} {t['max']!s:>7}"
            )
            _exits(x.get("router_exits", []))


def _exits(exits: list[dict[str, Any]]) -> None:
    """Workers that exited (and were started again, as the platform does): why."""
    reasons: dict[str, int] = {}
    for e in exits:
        reason = f"exit {e['code']}: {e['error']}"
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, n in reasons.items():
        print(f"    !! {n}x {reason}")


NEIGHBOURS = (
    ("ndxp", "neighbour"),
    ("ndxp, unfair", "neighbour_unfair"),  # NDXP_FETCH_FAIR=off, NDXP_ROUTER_QUEUED_RECORDS=0
    ("plain", "neighbour_plain"),
)


def _neighbour(r: dict[str, Any]) -> None:
    """The quiet members' round trips beside a loud neighbour, each router under the same flood."""
    rows = [(who, x) for who, key in NEIGHBOURS for x in r.get(key, {}).get("by_rate", [])]
    if not rows:
        return
    f = rows[0][1]["flood"]
    print(
        f"\n  a loud neighbour: {f['client']} sends the national portal {f['rate']:,.0f} notices/s;"
        " the other members' round trips beside it (ms; quiet: the round trips above)"
    )
    for who, x in rows:
        t, f = x["round_trip_ms"], x["flood"]
        print(
            f"    {who:14} {x['rate_achieved']:>6,.0f} {x['answered']:>9,} {t['p50']:>6} "
            f"{t['p90']:>6} {t['p99']:>6} {t['max']:>6}   the flood: {f['rate_achieved']:,.0f}/s, "
            f"{f['routed']:,} of {f['sent']:,} routed, {f.get('refused', 0):,} refused"
        )
        _exits(x.get("router_exits", []))


def charts(r: dict[str, Any], out: Path) -> None:
    """The charts a run's results allow, beside its JSON ``out``."""
    if "many_agency" in r and "round_trips" in r:
        chart(r, out.with_suffix(".png"))
    if "documents" in r and "drain" in r["documents"] and "paced" in r["documents"]:
        from ndxp.bench.documents import chart as documents_chart

        documents_chart(r["documents"], out.with_name(out.stem + "-documents.png"))


def chart(r: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, mid, right) = plt.subplots(
        1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [1.4, 1, 1]}
    )
    drains = r["many_agency"]["drains"]
    labels = [d["label"].replace("ndxp router, ", "ndxp router,\n") for d in drains]
    rates = [d["rate"] for d in drains]
    colors = ["grey" if "plain" in d["label"] else "tab:blue" for d in drains]
    li = r["many_agency"]["ledger_ingest"]
    if li.get("rows_per_s"):
        labels.append("ledger ingest\n(rows/s)")
        rates.append(li["rows_per_s"])
        colors.append("tab:green")
    left.bar(range(len(rates)), rates, color=colors)
    for i, d in enumerate(drains):
        left.annotate(
            f"{d['rate']:,.0f}\n×{d['ratio']:.2f}",
            (i, d["rate"]),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    if li.get("rows_per_s"):
        left.annotate(
            f"{li['rows_per_s']:,.0f}",
            (len(rates) - 1, li["rows_per_s"]),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    left.set_ylim(0, max(rates) * 1.15)
    left.set_xticks(range(len(rates)), labels, fontsize=7, rotation=20, ha="right")
    left.set_ylabel("ingress records per second")
    bl = r["many_agency"]["backlog"]
    left.set_title(
        f"many-agency mix, {bl['messages']:,} records pre-filled\n(× = ratio to the plain "
        "aiokafka router, same run)",
        fontsize=9,
    )
    by_rate = r["round_trips"]["by_rate"]
    series = [(f"ndxp, {x['rate_achieved']:,.0f} req/s", x) for x in by_rate]
    series += [
        (f"plain, {x['rate_achieved']:,.0f} req/s", x)
        for x in r.get("round_trips_plain", {}).get("by_rate", [])
    ]
    colors = [RATE_COLORS[i % len(by_rate) % len(RATE_COLORS)] for i in range(len(series))]
    for who, key in NEIGHBOURS:
        for x in r.get(key, {}).get("by_rate", []):
            series.append(
                (
                    f"{who}, {x['rate_achieved']:,.0f} req/s, a neighbour's "
                    f"{x['flood']['rate']:,.0f}/s",
                    x,
                )
            )
            colors.append("tab:red")
    qs = ("p50", "p90", "p99", "max")
    width = 0.8 / len(series)
    for i, (name, x) in enumerate(series):
        vals = [x["round_trip_ms"][q] or 0 for q in qs]
        plain = name.startswith("plain")
        mid.bar(
            [j + i * width for j in range(len(qs))],
            vals,
            width,
            label=name,
            color=colors[i],
            alpha=0.45 if plain else 1.0,
            hatch="//" if plain else None,
        )
        for j, v in enumerate(vals):
            mid.annotate(f"{v:,.0f}", (j + i * width, v), ha="center", va="bottom", fontsize=6)
    mid.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(qs))], qs)
    mid.set_ylabel("ms")
    mid.set_title(
        "round trip: caller → router → simulator → router → caller\n(plain: the plain "
        "aiokafka router in its place, same run)",
        fontsize=9,
    )
    mid.legend(fontsize=7)
    names = [n for n, _, _ in LEGS]
    bottom = [0.0] * len(by_rate)
    xs = [f"{x['rate_achieved']:,.0f} req/s" for x in by_rate]
    for n in names:
        vals = [x["legs_ms"][n]["p50"] or 0 for x in by_rate]
        right.bar(xs, vals, bottom=bottom, label=n)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    right.set_ylabel("ms (median of each leg)")
    right.set_title("where an ndxp round trip's time goes (median of each leg)", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(
        f"ndxp at default settings on {r['machine']['cores']} cores, broker on the same box "
        f"({r['started']})"
    )
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """``python -m ndxp.bench.table var/bench/capacity-<time>.json``: the table again, and the
    chart beside the file (a run stopped before its end has no table yet)."""
    import json
    import sys

    path = Path((argv or sys.argv[1:])[0]).resolve()
    r = json.loads(path.read_text())
    charts(r, path)
    print_table(r, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
