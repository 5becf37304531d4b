"""The hostile suite's table (one column per phase, then a line per case) and its chart
(router and ledger lag and memory over the run)."""

from __future__ import annotations

from pathlib import Path

from .platform import Watch
from .runner import PhaseResult


def _n(v: float | int | None, unit: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}"
    return f"{v:,}{unit}"


def summary(results: list[PhaseResult]) -> list[tuple[str, list[str]]]:
    codes = sorted({c for r in results for c in r.rejected})
    lines: list[tuple[str, list[str]]] = [
        ("records planned", [_n(r.planned) for r in results]),
        ("sent (in an ingress topic)", [_n(r.sent) for r in results]),
        ("refused by the broker", [_n(r.refused_by_broker) for r in results]),
        ("routed", [_n(r.routed) for r in results]),
        *((f"rejected {code}", [_n(r.rejected.get(code, 0)) for r in results]) for code in codes),
        ("in the ledger", [_n(r.in_ledger) for r in results]),
        ("  of which quarantined", [_n(r.quarantined) for r in results]),
        ("not accounted for", [_n(r.not_accounted) for r in results]),
        ("  of which deleted unread", [_n(r.deleted_unread) for r in results]),
        ("duplicated in the ledger", [_n(r.duplicated) for r in results]),
        ("simulator's answers (rows)", [_n(r.other_rows) for r in results]),
        ("service restarts (crashes)", [_n(r.restarts) for r in results]),
        ("stalled partitions", [_n(len(r.stalled_router)) for r in results]),
        ("ledger partitions behind", [_n(len(r.stalled_ledger)) for r in results]),
        ("max lag, router (records)", [_n(r.max_router_lag) for r in results]),
        ("max lag, ledger (records)", [_n(r.max_ledger_lag) for r in results]),
        ("recovery time (s)", [_n(r.recovery_s) for r in results]),
        ("send time (s)", [_n(r.send_s) for r in results]),
        (
            "send rate (records/s)",
            [
                _n(int((r.sent + r.refused_by_broker) / r.send_s) if r.send_s else 0)
                for r in results
            ],
        ),
        ("sent (MiB)", [_n(r.sent_mib) for r in results]),
        ("router peak RSS (MB)", [_n(r.router_peak_rss_mb) for r in results]),
        ("ledger peak RSS (MB)", [_n(r.ledger_peak_rss_mb) for r in results]),
        ("router log (MiB)", [_n(r.router_log_mib) for r in results]),
    ]
    return lines


def table(results: list[PhaseResult]) -> list[str]:
    out = [f"{'':30} " + " ".join(f"{r.phase:>14}" for r in results)]
    for label, cells in summary(results):
        out.append(f"{label:30} " + " ".join(f"{c:>14}" for c in cells))
    for r in results:
        out.append("")
        out.append(
            f"{r.phase}: {'case':30} {'expected':30} {'sent':>7} {'broker':>6} "
            "outcome in the ledger"
        )
        for c in r.cases:
            got = ", ".join(f"{k} {v:,}" for k, v in sorted(c.outcomes.items()))
            mark = "" if not c.unexpected else f"  <-- {c.unexpected} unexpected"
            out.append(
                f"{'':{len(r.phase) + 2}}{c.case:30} {c.expected[:30]:30} {c.sent:>7,} "
                f"{c.refused_by_broker:>6,} {got}{mark}"
            )
        for f in r.failures:
            out.append(f"{r.phase}: FAILED {f[:400]}")
    return out


def chart(watch: Watch, results: list[PhaseResult], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = watch.samples
    t = [x.at_s for x in s]
    fig, (lag, mem) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    lag.plot(
        t, [x.router_lag if x.router_lag is not None else float("nan") for x in s], label="router"
    )
    lag.plot(
        t, [x.ledger_lag if x.ledger_lag is not None else float("nan") for x in s], label="ledger"
    )
    lag.set_ylabel("lag (records)")
    lag.legend()
    mem.plot(t, [x.router_rss_mb or float("nan") for x in s], label="router")
    mem.plot(t, [x.ledger_rss_mb or float("nan") for x in s], label="ledger")
    mem.set_ylabel("RSS (MB)")
    mem.set_xlabel("seconds into the run")
    mem.legend()
    for c in watch.crashes:
        for ax in (lag, mem):
            ax.axvline(c.at_s, color="red", linestyle=":")
    fig.suptitle("hostile traffic: " + ", ".join(f"{r.phase} {r.sent:,} records" for r in results))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
