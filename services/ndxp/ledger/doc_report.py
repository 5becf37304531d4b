"""``ndxp report --documents``: the document exchange axis for a period, as the national
reports give it — documents sent, deliveries received, by agency; how the deliveries ended
(each receiver's last status) and how long from sent to done — with a chart.

A *document sent* is one document id (its deliveries are a row each, and a package in parts a
row per part); a *delivery* is a (document, receiver) with a routed copy. Outcomes and times
follow each delivery of a document sent in the period to its receiver's last routed status,
whenever it came (up to :data:`FOLLOW_DAYS` later). Days are Vietnam's.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ndxp.core.registry import Registry
from ndxp.ledger.reader import Reader
from ndxp.ledger.report import Period, _plus_year

FOLLOW_DAYS = 90
ENDS = {"06": "done", "02": "refused", "15": "withdrawn", "": "no status yet"}
DOCUMENT = "kind = 'document'"
# A document is its id: a package in parts is a row per part (and receiver); a document
# refused before its id could be read is its ingress record.
DOC = (
    "if(doc_id = '', concat(source_topic, ':', toString(source_partition), ':', "
    "toString(source_offset)), doc_id)"
)


def _received_in(period: Period, extra_days: int = 0) -> str:
    last = period.end + timedelta(days=extra_days)
    return (
        f"toDate(received_at, 'Asia/Ho_Chi_Minh') >= toDate('{period.start}') AND "
        f"toDate(received_at, 'Asia/Ho_Chi_Minh') < toDate('{last}')"
    )


def build(
    reader: Reader, period: Period, registry: Registry | None = None, top: int = 10
) -> dict[str, Any]:
    names = _names(registry)
    prev = period.year_before()

    def counts(p: Period) -> tuple[int, int, int, int]:
        _, rows = reader.read(f"""
            SELECT uniqExact({DOC}), uniqExactIf((doc_id, receiver), outcome = 'routed'),
                   uniqExactIf((doc_id, receiver), outcome = 'rejected' AND receiver != ''),
                   uniqExactIf({DOC}, outcome = 'rejected' AND receiver = '')
            FROM ndxp.ledger WHERE {DOCUMENT} AND {_received_in(p)}""")
        sent, delivered, refused, whole = (int(v or 0) for v in rows[0])
        return sent, delivered, refused, whole

    sent, delivered, refused_receivers, refused_whole = counts(period)
    sent_before, delivered_before, _, _ = counts(prev)
    _, senders = reader.read(f"""
        SELECT client_member, uniqExact({DOC}) AS n FROM ndxp.ledger
        WHERE {DOCUMENT} AND {_received_in(period)}
        GROUP BY client_member ORDER BY n DESC, client_member LIMIT {int(top)}""")
    _, receivers = reader.read(f"""
        SELECT receiver, uniqExact(doc_id) AS n FROM ndxp.ledger
        WHERE {DOCUMENT} AND outcome = 'routed' AND {_received_in(period)}
        GROUP BY receiver ORDER BY n DESC, receiver LIMIT {int(top)}""")
    outcomes, to_done = _outcomes(reader, period)
    _, daily = reader.read(f"""
        SELECT toString(toDate(received_at, 'Asia/Ho_Chi_Minh')) AS day,
               uniqExact({DOC}), uniqExactIf((doc_id, receiver), outcome = 'routed')
        FROM ndxp.ledger WHERE {DOCUMENT} AND {_received_in(period)}
        GROUP BY day ORDER BY day""")
    _, daily_before = reader.read(f"""
        SELECT toString(toDate(received_at, 'Asia/Ho_Chi_Minh')) AS day, uniqExact({DOC})
        FROM ndxp.ledger WHERE {DOCUMENT} AND {_received_in(prev)}
        GROUP BY day ORDER BY day""")
    total, total_before = sent + delivered, sent_before + delivered_before
    return {
        "period": {
            "label": period.label,
            "from": str(period.start),
            "to": str(period.end - timedelta(days=1)),
            "days": period.days,
        },
        "documents_sent": sent,
        "deliveries_received": delivered,
        "sent_and_received": total,
        "receivers_per_document": round(delivered / sent, 2) if sent else None,
        "receivers_refused": refused_receivers,
        "documents_refused_whole": refused_whole,
        "same_period_last_year": total_before,
        "growth_factor": round(total / total_before, 2) if total_before else None,
        "top_senders": [
            {"agency": a, "name": names.get(a, ""), "documents": int(n)} for a, n in senders
        ],
        "top_receivers": [
            {"agency": a, "name": names.get(a, ""), "deliveries": int(n)} for a, n in receivers
        ],
        "outcomes": outcomes,
        "sent_to_done_hours": to_done,
        "daily": [{"day": d, "documents": int(n), "deliveries": int(k)} for d, n, k in daily],
        "daily_last_year": [{"day": d, "documents": int(n)} for d, n in daily_before],
    }


def _outcomes(reader: Reader, period: Period) -> tuple[dict[str, int], dict[str, Any]]:
    """How each delivery of the period's documents ended (its receiver's last status), and
    the hours from the document's receipt to its ``06`` done."""
    _, rows = reader.read(f"""
        SELECT s.last, count(), countIf(s.done > 0),
               quantilesIf(0.5, 0.9)((toUnixTimestamp64Milli(s.done_at)
                                      - toUnixTimestamp64Milli(d.sent_at)) / 3600000, s.done > 0)
        FROM (SELECT doc_id, receiver, min(received_at) AS sent_at FROM ndxp.ledger
              WHERE {DOCUMENT} AND outcome = 'routed' AND {_received_in(period)}
              GROUP BY doc_id, receiver) AS d
        LEFT JOIN (SELECT doc_id, receiver,
                          argMax(doc_status, received_at) AS last,
                          minIf(received_at, doc_status = '06') AS done_at,
                          countIf(doc_status = '06') AS done
                   FROM ndxp.ledger
                   WHERE kind = 'status' AND outcome = 'routed' AND doc_status != '13'
                     AND {_received_in(period, FOLLOW_DAYS)}
                   GROUP BY doc_id, receiver) AS s
        ON d.doc_id = s.doc_id AND d.receiver = s.receiver
        GROUP BY s.last""")
    outcomes: dict[str, int] = {}
    done = 0
    hours: list[float | None] = [None, None]
    for last, n, finished, q in rows:
        label = ENDS.get(last, "in progress")
        outcomes[label] = outcomes.get(label, 0) + int(n)
        if last == "06" and finished:
            done = int(finished)
            hours = [round(float(v), 1) for v in q]
    return dict(sorted(outcomes.items(), key=lambda kv: -kv[1])), {
        "done": done,
        "p50": hours[0],
        "p90": hours[1],
    }


def _names(registry: Registry | None) -> dict[str, str]:
    if registry is None:
        return {}
    return {str(m.id.code): m.name for m in registry.members.values()}


def render_table(r: dict[str, Any]) -> str:
    p = r["period"]
    growth = f"{r['growth_factor']}×" if r["growth_factor"] else "n/a"
    t = r["sent_to_done_hours"]
    lines = [
        f"Document exchange axis — {p['label']} ({p['from']} to {p['to']}, {p['days']} days, "
        "Asia/Ho_Chi_Minh)",
        "",
        f"  documents sent              {r['documents_sent']:>12,}",
        f"  deliveries received         {r['deliveries_received']:>12,}",
        f"  sent + received             {r['sent_and_received']:>12,}",
        f"  receivers per document      {r['receivers_per_document'] or 0:>12}",
        f"  same period a year earlier  {r['same_period_last_year']:>12,}",
        f"  growth                      {growth:>12}",
        f"  receivers refused           {r['receivers_refused']:>12,}",
        f"  documents refused whole     {r['documents_refused_whole']:>12,}",
        "",
        "  deliveries by their receiver's last status",
    ]
    for label, n in r["outcomes"].items():
        lines.append(f"    {label:<26}{n:>12,}")
    lines += [
        "",
        f"  sent → done (06): {t['done']:,} deliveries, p50 {t['p50']} h, p90 {t['p90']} h",
        "",
        "  top senders",
    ]
    for a in r["top_senders"]:
        lines.append(f"    {a['agency']:<15}{a['name'][:40]:<42}{a['documents']:>10,}")
    lines += ["", "  top receivers"]
    for a in r["top_receivers"]:
        lines.append(f"    {a['agency']:<15}{a['name'][:40]:<42}{a['deliveries']:>10,}")
    return "\n".join(lines)


def chart(r: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days: Any = [date.fromisoformat(d["day"]) for d in r["daily"]]
    prev = {_plus_year(date.fromisoformat(d["day"])): d["documents"] for d in r["daily_last_year"]}
    fig, (ax, bx) = plt.subplots(
        1, 2, figsize=(12, 4.5), dpi=110, gridspec_kw={"width_ratios": [3, 1]}
    )
    ax.bar(days, [d["deliveries"] for d in r["daily"]], color="#9ecae1", label="deliveries")
    ax.bar(days, [d["documents"] for d in r["daily"]], color="#1f6f8b", label="documents sent")
    if prev:
        ax.plot(
            days,
            [prev.get(d, 0) for d in days],
            color="#e07a1f",
            marker="o",
            markersize=3,
            label="documents sent, same days a year earlier",
        )
    ax.set_title(
        f"Documents — {r['period']['label']}: {r['documents_sent']:,} sent, "
        f"{r['deliveries_received']:,} received"
        + (f", {r['growth_factor']}× a year earlier" if r["growth_factor"] else "")
    )
    ax.set_ylabel("per day (Asia/Ho_Chi_Minh)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    labels = list(r["outcomes"])
    bx.barh(labels, [r["outcomes"][k] for k in labels], color="#1f6f8b")
    bx.invert_yaxis()
    t = r["sent_to_done_hours"]
    bx.set_title(f"how deliveries ended\n(sent → done p50 {t['p50']} h)")
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
