"""What makes a capacity run fail (:mod:`ndxp.bench.capacity`): a record lost or duplicated,
a round trip or a document not answered, a flood's notice neither routed nor refused (within
30 s of the flood's end: the router fell behind), a phase that failed."""

from __future__ import annotations

from typing import Any


def problems(result: dict[str, Any]) -> list[str]:
    """Each thing a run's ``result`` says went wrong, in a few words; none: the run passed."""
    bad = [
        r["label"]
        for r in result.get("many_agency", {}).get("drains", [])
        + result.get("one_client", {}).get("drains", [])
        if r["lost"] or r["duplicated"]
    ]
    bad += [
        k
        for k in ("day", "ten_days")
        if k in result and (result[k]["lost"] or result[k]["duplicated"])
    ]
    bad += [
        f"{k.replace('_', ' ')} at {x['rate']:g}/s: {x['not_answered']} not answered"
        for k in ("round_trips", "neighbour", "neighbour_unfair", "neighbour_plain")
        for x in result.get(k, {}).get("by_rate", [])
        if x["not_answered"]
    ]
    bad += [
        f"{k}: the flood's {undecided} notices neither routed nor refused"
        for k in ("neighbour", "neighbour_unfair", "neighbour_plain")
        for x in result.get(k, {}).get("by_rate", [])
        if (undecided := x["flood"]["sent"] - x["flood"]["routed"] - x["flood"].get("refused", 0))
    ]
    docs = result.get("documents", {})
    bad += [
        f"{r['label']}: {r['lost']} lost, {r['duplicated']} duplicated"
        for r in docs.get("drain", {}).get("drains", [])
        if r["lost"] or r["duplicated"]
    ]
    bad += [
        f"documents at {x['rate']:g}/s ({p['router']}): {x['not_complete']} not at every receiver"
        for p in (docs.get("paced", {}), docs.get("paced_plain", {}))
        for x in p.get("by_rate", [])
        if x["not_complete"]
    ]
    bad += [f"{k} failed: {v.splitlines()[0]}" for k, v in result.get("failed", {}).items()]
    return bad
