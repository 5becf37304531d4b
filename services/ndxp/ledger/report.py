"""``ndxp report``: the statistics the national reports publish, for a period.

Totals, outcomes, top agencies and services come from the daily rollup
(``ndxp.ledger_daily``); round-trip latency joins requests and responses by correlation id
in the raw ledger (on a deterministic sample of at most ~300,000 requests for big periods).
A *transaction* is a request, routed or rejected; days are Vietnam's calendar days.
"""

from __future__ import annotations

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ndxp.core.registry import Registry
from ndxp.ledger.reader import Reader

LATENCY_SAMPLE = 300_000


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # exclusive
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def year_before(self) -> Period:
        return Period(_minus_year(self.start), _minus_year(self.end), f"{self.label} − 1 year")


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def parse_period(
    month: str | None, quarter: str | None, start: str | None, end: str | None
) -> Period:
    if month:
        y, m = (int(x) for x in month.split("-"))
        last = calendar.monthrange(y, m)[1]
        return Period(date(y, m, 1), date(y, m, last) + timedelta(days=1), f"{y}-{m:02d}")
    if quarter:
        y, q = int(quarter[:4]), int(quarter.upper().split("Q")[1])
        first = date(y, 3 * q - 2, 1)
        after = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
        return Period(first, after, f"{y}Q{q}")
    if start and end:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
        return Period(a, b + timedelta(days=1), f"{a}..{b}")
    raise ValueError("give --month YYYY-MM, --quarter YYYYQn, or --from and --to")


# A transaction is a call from a client system to a service: a request, or a one-way notice.
CALLS = "kind IN ('request', 'notice')"


def _where(p: Period) -> str:
    return f"day >= toDate('{p.start}') AND day < toDate('{p.end}')"


def build(
    reader: Reader, period: Period, registry: Registry | None = None, top: int = 10
) -> dict[str, Any]:
    prev = period.year_before()
    names = _level1_names(registry)

    def scalar(sql: str) -> int:
        return int(reader.read(sql)[1][0][0] or 0)

    transactions = scalar(
        f"SELECT sum(messages) FROM ndxp.ledger_daily WHERE {CALLS} AND {_where(period)}"
    )
    previous = scalar(
        f"SELECT sum(messages) FROM ndxp.ledger_daily WHERE {CALLS} AND {_where(prev)}"
    )
    all_messages = scalar(f"SELECT sum(messages) FROM ndxp.ledger_daily WHERE {_where(period)}")
    _, outcome_rows = reader.read(
        f"SELECT kind, outcome, error, sum(messages) FROM ndxp.ledger_daily "
        f"WHERE {_where(period)} GROUP BY kind, outcome, error ORDER BY 4 DESC"
    )
    outcomes: dict[str, int] = {}
    for kind, outcome, error, n in outcome_rows:
        key = f"{kind} {outcome}" + (f" {error}" if error else "")
        outcomes[key] = int(n)
    _, agency_rows = reader.read(
        f"SELECT client_level1, sum(messages) AS n FROM ndxp.ledger_daily "
        f"WHERE {CALLS} AND {_where(period)} GROUP BY client_level1 "
        f"ORDER BY n DESC LIMIT {top}"
    )
    _, service_rows = reader.read(
        f"SELECT service, sum(messages) AS n FROM ndxp.ledger_daily "
        f"WHERE {CALLS} AND {_where(period)} GROUP BY service "
        f"ORDER BY n DESC LIMIT {top}"
    )
    _, daily_rows = reader.read(
        f"SELECT toString(day), sum(messages) FROM ndxp.ledger_daily "
        f"WHERE {CALLS} AND {_where(period)} GROUP BY day ORDER BY day"
    )
    _, prev_daily = reader.read(
        f"SELECT toString(day), sum(messages) FROM ndxp.ledger_daily "
        f"WHERE {CALLS} AND {_where(prev)} GROUP BY day ORDER BY day"
    )
    routed = outcomes.get("request routed", 0)
    return {
        "period": {
            "label": period.label,
            "from": str(period.start),
            "to": str(period.end - timedelta(days=1)),
            "days": period.days,
        },
        "transactions": transactions,
        "messages": all_messages,
        "daily_average": round(transactions / period.days, 1) if period.days else 0,
        "same_period_last_year": previous,
        "growth_factor": round(transactions / previous, 2) if previous else None,
        "outcomes": outcomes,
        "answered_share": round(outcomes.get("response routed", 0) / routed, 4) if routed else None,
        "top_agencies": [
            {"agency": a, "name": names.get(a, ""), "transactions": int(n)} for a, n in agency_rows
        ],
        "top_services": [{"service": s, "transactions": int(n)} for s, n in service_rows],
        "round_trip_ms": latency(reader, period, transactions),
        "id_collisions": id_collisions(reader, period, top),
        "daily": [{"day": d, "transactions": int(n)} for d, n in daily_rows],
        "daily_last_year": [{"day": d, "transactions": int(n)} for d, n in prev_daily],
    }


def latency(reader: Reader, period: Period, requests: int) -> dict[str, Any]:
    """Request received → response routed (both the platform's clock), matched by
    correlation id."""
    modulo = max(1, requests // LATENCY_SAMPLE)
    in_period = _received_in(period)
    resp_window = (
        f"toDate(received_at, 'Asia/Ho_Chi_Minh') >= toDate('{period.start}') AND "
        f"toDate(received_at, 'Asia/Ho_Chi_Minh') <= toDate('{period.end}')"
    )
    _, rows = reader.read(f"""
        SELECT count(), quantiles(0.5, 0.9, 0.99)(toUnixTimestamp64Milli(s.routed_at)
                                                  - toUnixTimestamp64Milli(r.received_at))
        FROM (SELECT message_id, received_at FROM ndxp.ledger
              WHERE kind = 'request' AND outcome = 'routed' AND {in_period}
                AND cityHash64(message_id) % {modulo} = 0) AS r
        INNER JOIN (SELECT correlation_id, min(routed_at) AS routed_at FROM ndxp.ledger
              WHERE kind = 'response' AND outcome = 'routed' AND {resp_window}
                AND cityHash64(correlation_id) % {modulo} = 0
              GROUP BY correlation_id) AS s
        ON s.correlation_id = r.message_id""")
    n, q = rows[0]
    q = list(q) if n else [None, None, None]
    return {
        "pairs": int(n),
        "sample": f"1/{modulo}",
        "p50": _ms(q[0]),
        "p90": _ms(q[1]),
        "p99": _ms(q[2]),
    }


def _received_in(period: Period) -> str:
    return (
        f"toDate(received_at, 'Asia/Ho_Chi_Minh') >= toDate('{period.start}') AND "
        f"toDate(received_at, 'Asia/Ho_Chi_Minh') < toDate('{period.end}')"
    )


def id_collisions(reader: Reader, period: Period, top: int = 10) -> list[dict[str, Any]]:
    """Members whose ``ndxp-id`` values appear on more than one ingress record in the period
    (each such record is a row of its own: the ledger's identity is the platform's). Per
    member: ids it sent that collide, of which also used by another member, and of which with
    other content (another payload hash) — a retry with the same content is neither."""
    _, rows = reader.read(f"""
        SELECT member, count() AS ids, countIf(length(members) > 1) AS across_members,
               countIf(contents > 1) AS other_content
        FROM (SELECT message_id,
                     groupUniqArray(replaceOne(source_topic, 'ndxp.in.', '')) AS members,
                     uniqExact(payload_sha256) AS contents, count() AS n
              FROM ndxp.ledger
              WHERE kind IN ('request', 'response') AND {_received_in(period)}
              GROUP BY message_id HAVING n > 1)
        ARRAY JOIN members AS member
        GROUP BY member ORDER BY ids DESC, member LIMIT {int(top)}""")
    return [
        {
            "member": m,
            "ids": int(ids),
            "across_members": int(across),
            "other_content": int(other),
        }
        for m, ids, across, other in rows
    ]


def _ms(v: Any) -> float | None:
    return None if v is None else round(float(v), 1)


def _level1_names(registry: Registry | None) -> dict[str, str]:
    if registry is None:
        return {}
    out = {}
    for m in registry.members.values():
        code = m.id.code
        if code.level == 1:
            out[str(getattr(code, "level1", code))] = m.name
    return out


def render_table(r: dict[str, Any]) -> str:
    p = r["period"]
    growth = f"{r['growth_factor']}×" if r["growth_factor"] else "n/a"
    lines = [
        f"NDXP ledger report — {p['label']} ({p['from']} to {p['to']}, {p['days']} days, "
        f"Asia/Ho_Chi_Minh)",
        "",
        f"  transactions (requests)     {r['transactions']:>14,}",
        f"  all messages                {r['messages']:>14,}",
        f"  daily average               {r['daily_average']:>14,.0f}",
        f"  same period a year earlier  {r['same_period_last_year']:>14,}",
        f"  growth                      {growth:>14}",
        "",
        "  outcome",
    ]
    for key, n in r["outcomes"].items():
        lines.append(f"    {key:<34}{n:>12,}")
    lat = r["round_trip_ms"]
    lines += [
        "",
        f"  round trip (request received → response routed), {lat['pairs']:,} pairs, "
        f"sample {lat['sample']}:",
        f"    p50 {lat['p50']} ms   p90 {lat['p90']} ms   p99 {lat['p99']} ms",
        "",
        "  top agencies (client, level-1)",
    ]
    for a in r["top_agencies"]:
        lines.append(f"    {a['agency']:<6}{a['name'][:44]:<46}{a['transactions']:>12,}")
    lines += ["", "  top services"]
    for s in r["top_services"]:
        lines.append(f"    {s['service'][:62]:<64}{s['transactions']:>12,}")
    lines += ["", "  ndxp-id collisions (an id on more than one ingress record), by sender member"]
    if not r["id_collisions"]:
        lines.append("    none")
    else:
        lines.append(
            f"    {'member':<20}{'ids':>10}{'also another member':>22}{'other content':>16}"
        )
    for c in r["id_collisions"]:
        lines.append(
            f"    {c['member'][:19]:<20}{c['ids']:>10,}{c['across_members']:>22,}"
            f"{c['other_content']:>16,}"
        )
    return "\n".join(lines)


def render_csv(r: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "value"])
    for key in (
        "transactions",
        "messages",
        "daily_average",
        "same_period_last_year",
        "growth_factor",
        "answered_share",
    ):
        w.writerow(["summary", key, r[key]])
    for key, n in r["outcomes"].items():
        w.writerow(["outcome", key, n])
    for key in ("p50", "p90", "p99"):
        w.writerow(["round_trip_ms", key, r["round_trip_ms"][key]])
    for a in r["top_agencies"]:
        w.writerow(["top_agency", a["agency"], a["transactions"]])
    for s in r["top_services"]:
        w.writerow(["top_service", s["service"], s["transactions"]])
    for c in r["id_collisions"]:
        w.writerow(["id_collisions", c["member"], c["ids"]])
    for d in r["daily"]:
        w.writerow(["daily", d["day"], d["transactions"]])
    return out.getvalue()


def chart(r: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days: Any = [date.fromisoformat(d["day"]) for d in r["daily"]]  # matplotlib takes dates
    values = [d["transactions"] for d in r["daily"]]
    prev = {
        _plus_year(date.fromisoformat(d["day"])): d["transactions"] for d in r["daily_last_year"]
    }
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    ax.bar(days, values, color="#1f6f8b", label=f"{r['period']['label']}")
    if prev:
        ax.plot(
            days,
            [prev.get(d, 0) for d in days],
            color="#e07a1f",
            marker="o",
            markersize=3,
            label="same days a year earlier",
        )
    ax.set_title(
        f"NDXP transactions per day — {r['period']['label']}: "
        f"{r['transactions']:,} total, {r['daily_average']:,.0f}/day"
        + (f", {r['growth_factor']}× a year earlier" if r["growth_factor"] else "")
    )
    ax.set_ylabel("requests per day (Asia/Ho_Chi_Minh)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plus_year(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:
        return d.replace(year=d.year + 1, day=28)
