"""``ndxp ledger synth``: a synthetic ledger history shaped like the published figures.

Rows are generated inside ClickHouse (``INSERT … SELECT`` over the hour cells of a month),
so tens of millions of rows take seconds, not Python loops. Clients and services follow a
realistic mix drawn from the registry: population lookups dominate, then civil status,
tax, land, business registration, insurance; big provinces send more. ~1.2 % of requests
are rejected (by code), ~1 % are routed but never answered, the rest get a response whose
round trip is log-normal (median ≈ 150 ms). Ids start with ``s`` so they never collide with
live traffic.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ndxp.core.registry import Registry
from ndxp.core.traffic import service_weights, weighted_clients
from ndxp.ledger.history import MONTHLY_REQUESTS, hour_cells, months
from ndxp.ledger.store import LedgerStore

SLOTS = 1000  # weighted choices become arrays of this many entries, indexed by a hash

REJECTIONS = (
    ("MALFORMED", 30),
    ("UNKNOWN_CLIENT", 35),
    ("UNKNOWN_SERVICE", 30),
    ("NOT_SENDER", 10),
    ("NO_ROUTE", 10),
    ("TOO_LARGE", 5),
)  # per 10,000 requests
UNANSWERED = 100  # per 10,000 requests routed but never answered


@dataclass(frozen=True)
class Choice:
    text: str
    member: str
    level1: str
    subsystem: str
    code: str
    version: str
    route: str


def _spread(items: Sequence[tuple[Choice, float]]) -> list[Choice]:
    """SLOTS entries, each item repeated in proportion to its weight."""
    total = sum(w for _, w in items)
    out: list[Choice] = []
    for item, w in items:
        out.extend([item] * max(1, round(SLOTS * w / total)))
    rng = random.Random(7)
    rng.shuffle(out)
    return (out * 2)[:SLOTS]


def client_mix(registry: Registry) -> list[Choice]:
    items = [
        (_choice(text, party.member, party.route), weight)
        for text, party, weight in weighted_clients(registry)
        if weight > 0
    ]
    return _spread(items)


def service_mix(registry: Registry) -> list[Choice]:
    items = [
        (_choice(text, registry.services[text].member, registry.services[text].route), share)
        for text, share in sorted(service_weights(registry).items())
    ]
    return _spread(items)


def _choice(text: str, member: object, route: object) -> Choice:
    parts = text.split(":")
    code = str(getattr(member, "code", ""))
    level1 = getattr(getattr(member, "code", None), "level1", code)
    return Choice(
        text,
        code,
        str(level1),
        parts[3],
        parts[4] if len(parts) > 4 else "",
        parts[5] if len(parts) > 5 else "",
        str(getattr(route, "code", "")),
    )


def _array(values: Sequence[str]) -> str:
    return (
        "["
        + ",".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
        + "]"
    )


def month_sql(
    year: int, month: int, total: int, clients: list[Choice], services: list[Choice]
) -> str:
    cells = hour_cells(year, month, total)
    cell_literal = "[" + ",".join(f"({start},{n})" for start, n in cells if n) + "]"
    rej_codes, rej_edges, edge = [], [], 0
    for code, per in REJECTIONS:
        edge += per
        rej_codes.append(code)
        rej_edges.append(edge)
    c, s = clients, services
    return f"""
INSERT INTO ndxp.ledger (message_id, kind, correlation_id, outcome, error, error_detail,
  client, client_member, client_level1, client_subsystem, service, service_member,
  service_level1, service_subsystem, service_code, service_version, route, payload_size,
  payload_sha256, received_at, produced_at, routed_at, topic, partition, offset,
  source_topic, source_partition, source_offset)
WITH
  {_array([x.text for x in c])} AS C, {_array([x.member for x in c])} AS CM,
  {_array([x.level1 for x in c])} AS CL, {_array([x.subsystem for x in c])} AS CS,
  {_array([x.route for x in c])} AS CR,
  {_array([x.text for x in s])} AS S, {_array([x.member for x in s])} AS SM,
  {_array([x.level1 for x in s])} AS SL, {_array([x.subsystem for x in s])} AS SS,
  {_array([x.code for x in s])} AS SC, {_array([x.version for x in s])} AS SV,
  {_array([x.route for x in s])} AS SR,
  {_array(rej_codes)} AS RC, {rej_edges} AS RE
SELECT
  if(part = 0, req_id, concat(req_id, '-r')),
  if(part = 0, 'request', 'response'),
  if(part = 0, '', req_id),
  if(rejected, 'rejected', 'routed'),
  if(rejected, RC[arrayFirstIndex(e -> u < e, RE)], ''),
  if(rejected, 'synthetic rejection', ''),
  C[ci], CM[ci], CL[ci], CS[ci],
  S[si], SM[si], SL[si], SS[si], SC[si], SV[si],
  if(rejected, '', if(part = 0, SR[si], CR[ci])) AS x_route,
  toUInt32(if(part = 0, req_bytes, resp_bytes)),
  SHA256(concat(req_id, toString(part))),
  if(part = 0, t_req, t_resp) AS x_received,
  x_received,
  x_received + toIntervalMillisecond(2 + h2 % 12),
  if(rejected, 'ndxp.rejected', concat('ndxp.out.', x_route)),
  toUInt32(h2 % 3), toUInt64(0),
  concat('ndxp.in.', if(part = 0, CR[ci], SR[si])),
  toUInt32(h3 % 3),
  bitAnd(cityHash64(req_id, part, {year * 100 + month}), 0x7FFFFFFFFFFFFFFF)
FROM
(
  SELECT
    hour_start, i,
    concat('s', toString(hour_start), '-', toString(i)) AS req_id,
    cityHash64({year * 100 + month}, hour_start, i) AS h1,
    cityHash64(h1) AS h2,
    cityHash64(h2) AS h3,
    1 + h1 % {SLOTS} AS ci,
    1 + intDiv(h1, {SLOTS}) % {SLOTS} AS si,
    intDiv(h1, 1000000) % 10000 AS u,
    u < {edge} AS rejected,
    NOT rejected AND u >= {edge + UNANSWERED} AS answered,
    sqrt(-2 * log((h3 % 1000000 + 1) / 1000001)) AS radius,
    2 * pi() * (intDiv(h3, 1000000) % 1000000) / 1000000 AS angle,
    radius * cos(angle) AS z1,
    radius * sin(angle) AS z2,
    fromUnixTimestamp64Milli(toInt64(hour_start + h2 % 3600000), 'UTC') AS t_req,
    least(exp(log(900) + 0.9 * z1), 900000) AS req_bytes,
    least(exp(log(2500) + 1.1 * z2), 4000000) AS resp_bytes,
    t_req + toIntervalMillisecond(toInt64(4 + least(exp(log(150) + 0.8 * z2), 30000))) AS t_resp
  FROM (SELECT cell.1 AS hour_start, arrayJoin(range(cell.2)) AS i
        FROM (SELECT arrayJoin({cell_literal}) AS cell))
)
ARRAY JOIN if(answered, [0, 1], [0]) AS part
"""


def synthesize(
    store: LedgerStore,
    registry: Registry,
    scale: float,
    first: tuple[int, int],
    last: tuple[int, int],
    out: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Insert the months from ``first`` to ``last`` at ``scale``; progress goes to ``out``."""
    write = out or _to_stderr
    clients, services = client_mix(registry), service_mix(registry)
    plan = [(y, m, round(MONTHLY_REQUESTS[(y, m)] * scale)) for y, m in months(first, last)]
    grand = sum(n for *_, n in plan)
    done = 0
    t0 = time.perf_counter()
    for y, m, n in plan:
        t = time.perf_counter()
        store.command(month_sql(y, m, n, clients, services))
        done += n
        rate = n / max(time.perf_counter() - t, 1e-9)
        width = 30
        bar = "#" * round(width * done / grand)
        write(
            f"\r\033[K[{bar:<{width}}] {y}-{m:02d}: {n:>11,} requests  "
            f"{done:>13,}/{grand:,}  ({rate:,.0f} req/s)"
        )
    elapsed = time.perf_counter() - t0
    write(f"\nsynthesized {done:,} requests (+ responses) in {elapsed:.1f}s\n")
    return {"requests": done, "seconds": elapsed}


def _to_stderr(text: str) -> None:
    print(text, end="", file=sys.stderr, flush=True)


def parse_month(text: str) -> tuple[int, int]:
    y, m = text.split("-")
    return int(y), int(m)
