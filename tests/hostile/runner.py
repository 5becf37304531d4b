"""Send a plan of hostile records to the live platform and account for every one of them.

Each record's ingress coordinates come from the broker (the producer's delivery report, or the
base offset of a raw batch); a record the broker refused is counted as such, never as sent.
After the last send the run waits until the router's group has committed every ingress
partition to its end and the ledger holds a row for every ingress record (recovery time: from
the last send to that moment); a partition still behind at the deadline is stalled. Then, from
the ledger: every record sent is accounted for exactly once by its source identity (or its
copy is quarantined), and each case got the outcome it must get — read per record, and in full
(detail, ``received_at``, ``produced_at``) for a bounded sample of each case."""

from __future__ import annotations

import dataclasses
import functools
import time
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from ndxp.core import wire
from ndxp.settings import RouterSettings

from . import raw
from .catalog import REFUSED, ROUTED, Expect, Hostile, Path
from .platform import (
    LEDGER_GROUP,
    PROBE_TOPIC,
    ROUTER_GROUP,
    Platform,
    Watch,
    committed,
    end_offsets,
    partitions,
)

MiB = 1024 * 1024
FULL_PER_CASE = 50  # records of each case checked in full (detail, times)
EXAMPLES = 3  # unexpected outcomes kept per case, with their coordinates
RAW_FLUSH = 200  # raw records buffered before they are sent
# the raw path picks a partition itself, among those the platform's router made its topics with
PARTITIONS = RouterSettings.from_env().partitions
Coords = tuple[str, int, int]


@dataclass
class CaseRow:
    case: str
    expected: str
    sent: int = 0  # written to an ingress topic
    refused_by_broker: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # routed / code, from the ledger
    in_ledger: int = 0
    unexpected: int = 0
    examples: list[str] = field(default_factory=list)
    broker_errors: dict[str, int] = field(default_factory=dict)  # why the broker refused
    sample: str = ""  # what the ledger holds of the first record checked in full

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcomes"] = dict(self.outcomes)
        return d


@dataclass
class PhaseResult:
    phase: str
    planned: int = 0
    sent: int = 0
    refused_by_broker: int = 0
    routed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    in_ledger: int = 0
    quarantined: int = 0
    not_accounted: int = 0
    deleted_unread: int = 0  # of which deleted by the broker's retention before being read
    duplicated: int = 0
    other_rows: int = 0  # ingress records not sent by the suite: the simulator's answers
    restarts: int = 0
    crashes: list[str] = field(default_factory=list)
    stalled_router: list[str] = field(default_factory=list)
    stalled_ledger: list[str] = field(default_factory=list)
    max_router_lag: int = 0
    max_ledger_lag: int = 0
    recovery_s: float | None = None  # None: not recovered by the deadline
    send_s: float = 0.0
    sent_mib: float = 0.0
    router_peak_rss_mb: float = 0.0
    ledger_peak_rss_mb: float = 0.0
    router_log_mib: float = 0.0
    cases: list[CaseRow] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rejected"] = dict(self.rejected)
        d["cases"] = [c.as_dict() for c in self.cases]
        return d


@dataclass
class Full:
    case: str
    expect: Expect
    sent_ts: int | None  # the timestamp it was sent with, when the suite chose it


class Book:
    """What was sent: each record's case by its ingress coordinates (an array per partition,
    indexed by offset: -1 for records the suite did not send), what the broker refused, and
    the records to check in full."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        self.expect: list[Expect] = []
        self.at: dict[tuple[str, int], array[int]] = {}
        self.sent: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.refusals: Counter[tuple[str, str]] = Counter()
        self.full: dict[Coords, Full] = {}
        self.full_count: Counter[str] = Counter()
        self.sent_bytes = 0

    def case_id(self, h: Hostile) -> int:
        cid = self.ids.get(h.case)
        if cid is None:
            cid = self.ids[h.case] = len(self.names)
            self.names.append(h.case)
            self.expect.append(h.expect)
        return cid

    def wants_full(self, h: Hostile) -> bool:
        if not h.expect.checked_in_full or self.full_count[h.case] >= FULL_PER_CASE:
            return False
        self.full_count[h.case] += 1
        return True

    def place(self, cid: int, topic: str, partition: int, offset: int, full: Full | None) -> None:
        arr = self.at.get((topic, partition))
        if arr is None:
            arr = self.at[(topic, partition)] = array("i")
        if len(arr) <= offset:
            arr.extend(array("i", [-1]) * (offset + 1 - len(arr) + 1024))
        arr[offset] = cid
        self.sent[self.names[cid]] += 1
        if full is not None:
            self.full[(topic, partition, offset)] = full

    def refuse(self, cid: int, error: str) -> None:
        self.refused[self.names[cid]] += 1
        self.refusals[(self.names[cid], error)] += 1

    def delivered(self, cid: int, full: Full | None, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self.refuse(cid, err.name())
        else:
            self.place(cid, msg.topic(), msg.partition(), msg.offset(), full)


def _producer(bootstrap: str, **extra: Any) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "message.max.bytes": 8 * MiB,  # larger than any record: the broker decides
            "partitioner": "murmur2_random",
            "topic.metadata.propagation.max.ms": 2000,
            **extra,
        }
    )


class Sender:
    """Writes each record the way its :class:`Path` says, recording where it landed."""

    def __init__(self, bootstrap: str, book: Book) -> None:
        self.bootstrap = bootstrap
        self.book = book
        self.bulk = _producer(
            bootstrap,
            **{
                "enable.idempotence": True,
                "linger.ms": 20,
                "batch.size": 1_000_000,
                "queue.buffering.max.messages": 1_000_000,
            },
        )
        # a batch of its own, flushed alone, not idempotent: the broker may refuse it
        self.edge = _producer(bootstrap, **{"linger.ms": 0, "retries": 0})
        self.compressing: dict[Path, Producer] = {}
        self.raw: list[tuple[int, Hostile, Full | None]] = []
        self.raw_seq = 0

    def send(self, h: Hostile) -> None:
        cid = self.book.case_id(h)
        now_ms = int(time.time() * 1000)
        ts = now_ms + h.ahead_ms if h.ahead_ms is not None else h.timestamp_ms
        if h.expect.claim_kept is not None and ts is not None:  # a time case: claim it too
            h = dataclasses.replace(h, headers=(*h.headers, (wire.H_SENT_AT, str(ts).encode())))
        full = Full(h.case, h.expect, ts) if self.book.wants_full(h) else None
        self.book.sent_bytes += h.size * h.copies
        if h.path in (Path.RAW, Path.BOMB):
            self.raw.append((cid, h, full))
            if len(self.raw) >= RAW_FLUSH or h.path is Path.BOMB:
                self.flush_raw()
            return
        if h.path is Path.EDGE:
            self._produce(self.edge, h, ts, cid, full)
            self.edge.flush(120)
            return
        p = self.bulk if h.path is Path.BULK else self._compressing(h.path)
        self._produce(p, h, ts, cid, full)

    def _compressing(self, path: Path) -> Producer:
        p = self.compressing.get(path)
        if p is None:
            p = self.compressing[path] = _producer(
                self.bootstrap, **{"compression.type": path.value, "linger.ms": 50}
            )
        return p

    def _produce(
        self, p: Producer, h: Hostile, ts: int | None, cid: int, full: Full | None
    ) -> None:
        kw: dict[str, Any] = {} if ts is None else {"timestamp": ts}
        callback = functools.partial(self.book.delivered, cid, full)
        headers = [(str(n), v) for n, v in h.headers]
        while True:
            try:
                p.produce(
                    h.topic, value=h.value, key=h.key, headers=headers, on_delivery=callback, **kw
                )
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)

    def flush_raw(self) -> None:
        """Raw records go out in batches: plain ones grouped by partition, the ones whose batch
        says something of its own (a timestamp, its type, a bomb) each alone."""
        groups: list[tuple[str, int, list[tuple[int, Hostile, Full | None]]]] = []
        plain: dict[tuple[str, int], list[tuple[int, Hostile, Full | None]]] = {}
        for item in self.raw:
            _, h, _ = item
            self.raw_seq += 1
            partition = self.raw_seq % PARTITIONS
            if h.timestamp_ms is None and not h.log_append_time and h.copies == 1:
                plain.setdefault((h.topic, partition), []).append(item)
            else:
                groups.append((h.topic, partition, [item]))
        groups += [(t, p, items) for (t, p), items in plain.items()]
        self.raw = []
        if not groups:
            return
        written = raw.send(
            self.bootstrap, [(t, p, [h for _, h, _ in items]) for t, p, items in groups]
        )
        for (topic, partition, items), w in zip(groups, written, strict=True):
            offset = w.base_offset
            for cid, h, full in items:
                for _ in range(h.copies):
                    if w.error is not None:
                        self.book.refuse(cid, w.error)
                    else:
                        self.book.place(cid, topic, partition, offset, full)
                        offset += 1

    def flush(self) -> None:
        self.flush_raw()
        for p in (self.bulk, self.edge, *self.compressing.values()):
            assert p.flush(300) == 0, "records still queued after 300 s"


def send_all(platform: Platform, records: Iterable[Hostile], book: Book) -> int:
    sender = Sender(platform.broker.bootstrap, book)
    n = 0
    for h in records:
        sender.send(h)
        n += h.copies
    sender.flush()
    return n


def is_ingress(name: str) -> bool:
    """A member's ingress topic (the retention probe's is not one)."""
    return name.startswith(wire.INGRESS_PREFIX) and name != PROBE_TOPIC


def ledger_counts(platform: Platform) -> dict[tuple[str, int], tuple[int, int, int, int]]:
    """Per ingress partition: the ledger's rows, distinct offsets, lowest and highest."""
    rows = platform.ledger.sql(
        "SELECT source_topic, source_partition, count(), uniqExact(source_offset), "
        "min(source_offset), max(source_offset) FROM ndxp.ledger GROUP BY 1, 2"
    )
    return {(str(t), int(p)): (int(c), int(u), int(lo), int(hi)) for t, p, c, u, lo, hi in rows}


def log_starts(platform: Platform, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Each partition's first offset still on the broker."""
    if not tps:
        return {}
    admin = platform.admin()
    futures = admin.list_offsets(
        {TopicPartition(t, p): OffsetSpec.earliest() for t, p in tps}, request_timeout=30
    )
    return {(tp.topic, tp.partition): f.result(30).offset for tp, f in futures.items()}


def quarantined(platform: Platform) -> list[tuple[str, int, int, str]]:
    rows = platform.ledger.sql(
        "SELECT topic, partition, offset, reason FROM ndxp.ledger_quarantine"
    )
    return [(str(t), int(p), int(o), str(r)) for t, p, o, r in rows]


@dataclass
class Recovery:
    recovered_at: float | None
    stalled_router: list[str]
    ledger_behind: dict[tuple[str, int], int]


def wait_recovered(platform: Platform, watch: Watch, deadline_s: float) -> Recovery:
    """Until the router's group has committed every ingress partition to its end (its home
    copies included: a request written again on its client's home partition is an ingress
    record of the router's own) and the ledger's group every egress and dead-letter partition
    — or the deadline. (Whether each record sent is in the ledger is the accounting's.)"""
    admin = platform.admin()
    limit = time.monotonic() + deadline_s
    stalled: list[str] = []
    while True:
        tps = partitions(admin, is_ingress)
        try:
            ends = end_offsets(admin, tps)
            done = committed(admin, ROUTER_GROUP, tps)
        except Exception:
            ends, done = {}, {}
        stalled = [
            f"{t}[{p}] {done.get((t, p), -1)}/{e}"
            for (t, p), e in ends.items()
            if e > 0 and done.get((t, p), -1) < e
        ]
        if ends and not stalled and not _ledger_stalls(platform, wait_s=0.0):
            return Recovery(watch.now(), [], {})
        if time.monotonic() > limit:
            return Recovery(None, stalled, {})
        time.sleep(1.0)


def source_of_copy(platform: Platform, topic: str, partition: int, offset: int) -> Coords | None:
    """The ingress coordinates a copy of the router's carries (for a quarantined row)."""
    c = Consumer(
        {
            "bootstrap.servers": platform.broker.bootstrap,
            "group.id": "hostile-quarantine",
            "enable.auto.commit": False,
        }
    )
    try:
        c.assign([TopicPartition(topic, partition, offset)])
        for _ in range(20):
            m = c.poll(1.0)
            if m is None or m.error() is not None:
                continue
            h = {k: v for k, v in m.headers() or [] if k.startswith("ndxp-source-")}
            try:
                return (
                    h[wire.H_SOURCE_TOPIC].decode(),
                    int(h[wire.H_SOURCE_PARTITION]),
                    int(h[wire.H_SOURCE_OFFSET]),
                )
            except (KeyError, ValueError, AttributeError):
                return None
    finally:
        c.close()
    return None


def _outcome(code: str) -> str:
    return code or ROUTED


def account(platform: Platform, book: Book, started_wall_ms: int, rows_before: int) -> PhaseResult:
    """Every record of ``book`` against the ledger: once by its source identity, with the
    outcome its case must get."""
    r = PhaseResult(phase="")
    rows = {n: CaseRow(n, _expected(book.expect[i])) for i, n in enumerate(book.names)}
    for case, n in book.sent.items():
        rows[case].sent = n
    for (case, error), n in book.refusals.items():
        rows[case].broker_errors[error] = n
    for case, n in book.refused.items():
        rows[case].refused_by_broker = n
        if REFUSED not in (book.expect[book.ids[case]].outcomes or ()):
            rows[case].unexpected += n
            reasons = sorted({e for (c, e) in book.refusals if c == case})
            rows[case].examples.append(f"refused by the broker: {', '.join(reasons)}")
    counts = ledger_counts(platform)
    r.duplicated = sum(c - u for c, u, _, _ in counts.values())
    seen: dict[tuple[str, int], bytearray] = {tp: bytearray(len(a)) for tp, a in book.at.items()}
    for topic in sorted({t for t, _ in book.at}):
        lowest = min(
            next((i for i, c in enumerate(a) if c >= 0), len(a))
            for (t, _), a in book.at.items()
            if t == topic
        )
        result = platform.ledger.sql(
            "SELECT source_partition, source_offset, if(outcome = 'routed', '', error) "
            f"FROM ndxp.ledger WHERE source_topic = '{topic}' AND source_offset >= {lowest}"
        )
        for p, off, code in result:
            arr = book.at.get((topic, int(p)))
            off = int(off)
            if arr is None or off >= len(arr) or arr[off] < 0:
                continue
            cid = arr[off]
            seen[(topic, int(p))][off] = 1
            row = rows[book.names[cid]]
            got = _outcome(str(code))
            row.outcomes[got] += 1
            row.in_ledger += 1
            allowed = book.expect[cid].outcomes
            if allowed is not None and got not in allowed:
                row.unexpected += 1
                if len(row.examples) < EXAMPLES:
                    row.examples.append(f"{topic}[{p}]@{off}: {got}")
    quarantine = quarantined(platform)
    for qt, qp, qo, reason in quarantine:
        src = source_of_copy(platform, qt, qp, qo)
        if src is None:
            continue
        arr = book.at.get(src[:2])
        if arr is not None and src[2] < len(arr) and arr[src[2]] >= 0:
            seen[src[:2]][src[2]] = 2
            r.quarantined += 1
            rows[book.names[arr[src[2]]]].examples.append(f"quarantined: {reason[:120]}")
    missing: Counter[str] = Counter()
    unread: list[tuple[tuple[str, int], int, int]] = []  # partition, offset, case id
    for tp, arr in book.at.items():
        flags = seen[tp]
        unread += [(tp, off, cid) for off, cid in enumerate(arr) if cid >= 0 and not flags[off]]
    starts = log_starts(platform, sorted({tp for tp, _, _ in unread}))
    for tp, off, cid in unread:
        case = book.names[cid]
        if off < starts.get(tp, 0):
            # gone from the ingress topic before the router read it: the broker's time-based
            # retention deleted its segment (a claim older than retention.ms opening a segment)
            r.deleted_unread += 1
            rows[case].examples.append(f"deleted by retention, unread: {tp[0]}[{tp[1]}]@{off}")
            continue
        missing[case] += 1
        if missing[case] <= EXAMPLES:
            rows[case].examples.append(f"not in the ledger: {tp[0]}[{tp[1]}]@{off}")
    r.not_accounted = sum(missing.values()) + r.deleted_unread
    _check_in_full(platform, book, rows, started_wall_ms)
    r.cases = [rows[n] for n in sorted(rows)]
    r.sent = sum(book.sent.values())
    r.refused_by_broker = sum(book.refused.values())
    r.in_ledger = sum(c.in_ledger for c in r.cases)
    r.routed = sum(c.outcomes[ROUTED] for c in r.cases)
    for c in r.cases:
        for code, n in c.outcomes.items():
            if code != ROUTED:
                r.rejected[code] += n
    ours = sum(1 for a in book.at.values() for c in a if c >= 0)
    r.other_rows = sum(c for (t, _), (c, _, _, _) in counts.items() if is_ingress(t)) - rows_before
    r.other_rows -= r.in_ledger + r.duplicated
    r.sent_mib = book.sent_bytes / MiB
    assert ours == r.sent, (ours, r.sent)
    for c in r.cases:
        if c.unexpected:
            r.failures.append(f"{c.case}: {c.unexpected} unexpected ({'; '.join(c.examples)})")
    if missing:
        r.failures.append(f"{sum(missing.values())} records not accounted for: {dict(missing)}")
    if r.deleted_unread:
        r.failures.append(
            f"{r.deleted_unread} records deleted by the broker's retention before the router "
            "read them (not accounted for)"
        )
    if r.duplicated:
        r.failures.append(f"{r.duplicated} duplicated rows in the ledger")
    return r


def _expected(e: Expect) -> str:
    if e.outcomes is None:
        return "any decision"
    return " or ".join(sorted(e.outcomes))


def _check_in_full(
    platform: Platform, book: Book, rows: dict[str, CaseRow], started_wall_ms: int
) -> None:
    """Detail words, ``received_at`` (the run's time) and ``produced_at`` (the claim)."""
    items = list(book.full.items())
    now_ms = int(time.time() * 1000)
    for i in range(0, len(items), 300):
        chunk = items[i : i + 300]
        keys = ", ".join(f"('{t}', {p}, {o})" for (t, p, o), _ in chunk)
        got = {
            (str(t), int(p), int(o)): (str(d), int(rec), None if prod is None else int(prod))
            for t, p, o, d, rec, prod in platform.ledger.sql(
                "SELECT source_topic, source_partition, source_offset, error_detail, "
                "toUnixTimestamp64Milli(received_at), toUnixTimestamp64Milli(produced_at) "
                "FROM ndxp.ledger WHERE (source_topic, source_partition, source_offset) "
                f"IN ({keys})"
            )
        }
        for coords, full in chunk:
            row = rows[full.case]
            found = got.get(coords)
            if found is None:
                continue  # counted as not accounted for
            detail, received, produced = found
            if not row.sample:
                row.sample = f"detail {detail!r}, received_at {received}, produced_at {produced}"
            problems = []
            e = full.expect
            if e.detail is not None and e.detail not in detail:
                problems.append(f"detail {detail[:160]!r} lacks {e.detail!r}")
            if not started_wall_ms - 5000 <= received <= now_ms + 5000:
                problems.append(f"received_at {received} is not the run's time")
            if e.claim_kept is True and full.sent_ts is not None and produced != full.sent_ts:
                problems.append(f"produced_at {produced}, sent with {full.sent_ts}")
            if e.claim_kept is False and produced is not None:
                problems.append(f"produced_at {produced}, expected NULL")
            if problems:
                row.unexpected += 1
                if len(row.examples) < EXAMPLES:
                    row.examples.append(
                        f"{coords[0]}[{coords[1]}]@{coords[2]}: {'; '.join(problems)}"
                    )


def run_phase(
    platform: Platform,
    watch: Watch,
    name: str,
    records: Iterable[Hostile],
    deadline_s: float,
) -> PhaseResult:
    """Send ``records``, wait for the platform to recover, account for every record."""
    book = Book()
    started_wall_ms = int(time.time() * 1000)
    t0 = watch.now()
    crashes_before = len(watch.crashes)
    rows_before = sum(
        c for (t, _), (c, _, _, _) in ledger_counts(platform).items() if is_ingress(t)
    )
    samples_before = len(watch.samples)
    planned = send_all(platform, records, book)
    t_last = watch.now()
    recovery = wait_recovered(platform, watch, deadline_s)
    r = account(platform, book, started_wall_ms, rows_before)
    r.phase = name
    r.planned = planned
    r.send_s = t_last - t0
    r.recovery_s = None if recovery.recovered_at is None else recovery.recovered_at - t_last
    r.stalled_router = recovery.stalled_router
    r.stalled_ledger = _ledger_stalls(platform)
    crashes = watch.crashes[crashes_before:]
    r.restarts = len(crashes)
    r.crashes = [f"{c.service} {c.what} at {c.at_s:.0f} s:\n{c.tail}" for c in crashes]
    samples = watch.samples[samples_before:]
    r.max_router_lag = max((s.router_lag or 0 for s in samples), default=0)
    r.max_ledger_lag = max((s.ledger_lag or 0 for s in samples), default=0)
    r.router_peak_rss_mb = max((s.router_rss_mb or 0 for s in samples), default=0)
    r.ledger_peak_rss_mb = max((s.ledger_rss_mb or 0 for s in samples), default=0)
    r.router_log_mib = platform.router.log.stat().st_size / MiB
    if r.restarts:
        r.failures.append(
            f"{r.restarts} service restart(s): " + "; ".join(c.split(":\n")[0] for c in r.crashes)
        )
    if r.stalled_router:
        r.failures.append(f"{len(r.stalled_router)} stalled partition(s): {r.stalled_router[:10]}")
    if r.stalled_ledger:
        r.failures.append(f"ledger stalled on {r.stalled_ledger[:10]}")
    if r.recovery_s is None:
        r.failures.append(f"not recovered within {deadline_s:.0f} s of the last send")
    return r


def _ledger_stalls(platform: Platform, wait_s: float = 15.0) -> list[str]:
    """Egress and dead-letter partitions the ledger's group has not committed to their end
    (it commits after each insert: given ``wait_s`` to get there)."""
    admin = platform.admin()
    tps = partitions(admin, lambda n: n.startswith(wire.EGRESS_PREFIX) or n == wire.REJECTED_TOPIC)
    limit = time.monotonic() + wait_s
    while True:
        try:
            ends = end_offsets(admin, tps)
            done = committed(admin, LEDGER_GROUP, tps)
            behind = [
                f"{t}[{p}] {done.get((t, p), -1)}/{e}"
                for (t, p), e in ends.items()
                if e > 0 and done.get((t, p), -1) < e
            ]
        except Exception as exc:
            behind = [f"offsets unavailable: {exc}"]
        if not behind or time.monotonic() > limit:
            return behind
        time.sleep(1.0)
