"""Poison messages through the real broker: records as large as the ingress topic accepts,
made of headers, of value or of key, thousands of headers, and binary junk in every header.
Each is refused with its code and kept in ``ndxp.rejected`` (whole, but for a record over
256 headers: its first 256), and the partition goes on: the ordinary request behind them on the
same partition is routed. (A ~4 MiB key used to make
the router exit on its routed copy, and again after every restart.)"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from collections.abc import Callable

import pytest

from ndxp.core.wire import MAX_HEADERS

from .conftest import Broker
from .kafka_tools import (
    LedgerProcess,
    RouterProcess,
    Tap,
    hdr,
    high_watermark,
    producer,
    request,
    send,
)
from .test_kafka_records import produce_raw, raw_batch, zstd_bomb

pytestmark = pytest.mark.integration

SENDER = "000.00.00.H36"  # used by this test only
CLIENT = f"VN:GOV:{SENDER}:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
MiB = 1024 * 1024


def test_poison_messages_are_kept_with_their_code_and_the_partition_goes_on(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    bulky = [(f"x-bulk-{i}", b"h" * (60 * 1024)) for i in range(60)]  # 3.5 MiB of headers
    many = [(f"x-{i}", b"v") for i in range(5000)]  # thousands of small headers: 45 KB
    most = [("x", b"")] * 21_000  # as many as 64 KiB holds: 61 records/s and 2.7 GB before
    at_bound = [(f"x-{i}", b"v") for i in range(MAX_HEADERS - 4)]  # with the 4 of a request
    junk = [
        ("ndxp-id", b"\xff\xfe"),
        ("ndxp-kind", b"\x00"),
        ("ndxp-client", b"\xc3\x28"),
        ("ndxp-service", bytes(range(256))),
    ]
    huge_key = b"K" * (4 * MiB - 4096)  # finding 1: the router exited on its routed copy
    cases: list[tuple[str, list[tuple[str, bytes]], bytes, str | None, bytes]] = [
        ("headers", request(f"{run}-headers", CLIENT, POP) + bulky, b"{}", "TOO_LARGE", b"k"),
        ("value", request(f"{run}-value", CLIENT, POP), b"v" * (4 * MiB - 4096), "TOO_LARGE", b"k"),
        ("key", request(f"{run}-key", CLIENT, POP), b"{}", "TOO_LARGE", huge_key),
        ("key-at-limit", request(f"{run}-key-at-limit", CLIENT, POP), b"{}", None, b"k" * 4096),
        ("many", request(f"{run}-many", CLIENT, POP) + many, b"{}", "TOO_LARGE", b"k"),
        ("most", request(f"{run}-most", CLIENT, POP) + most, b"{}", "TOO_LARGE", b"k"),
        ("at-bound", request(f"{run}-at-bound", CLIENT, POP) + at_bound, b"{}", None, b"k"),
        ("junk", [*junk, ("x-tag", f"{run}-junk".encode())], b"{}", "MALFORMED", b"k"),
        ("after", request(f"{run}-after", CLIENT, POP), b"{}", None, b"k"),  # routed
    ]
    tap = Tap(kafka.bootstrap, ["ndxp.rejected", "ndxp.out.000.00.01.G01"])
    p = producer(kafka.bootstrap)
    try:
        for _, headers, value, _, key in cases:  # one partition, in this order
            send(p, f"ndxp.in.{SENDER}", headers, value=value, key=key, partition=0)
            p.flush(30)

        def tag(m: object) -> str | None:
            return hdr(m, "x-tag") or hdr(m, "ndxp-id")  # type: ignore[arg-type]

        want = {f"{run}-{name}" for name, *_ in cases}
        got = tap.collect(lambda ms: want <= {tag(m) for m in ms}, timeout=60)
    finally:
        tap.close()
    by_tag = {tag(m): m for m in got if tag(m) in want}
    assert set(by_tag) == want, f"missing: {want - set(by_tag)}"
    for name, headers, value, code, key in cases:
        m = by_tag[f"{run}-{name}"]
        if code is None:
            assert m.topic() == "ndxp.out.000.00.01.G01", name
        else:
            assert (m.topic(), hdr(m, "ndxp-error")) == ("ndxp.rejected", code), name
        # kept: the same key and value, and the sender's headers first, in order (over the
        # bound on their number, the first 256 of them, then the router's)
        assert (m.key(), m.value()) == (key, value), name
        kept = headers[:MAX_HEADERS]
        got_headers = m.headers() or []
        assert got_headers[: len(kept)] == kept, name
        if len(headers) > MAX_HEADERS:
            assert got_headers[len(kept)][0] == "ndxp-error", name  # the router's, after them
            assert hdr(m, "ndxp-error-detail") == (
                f"{len(headers):,} headers, the limit is {MAX_HEADERS}"
            ), name
    assert hdr(by_tag[f"{run}-key"], "ndxp-error-detail") == (
        f"key is {len(huge_key)} bytes, the limit is 4096"
    )
    assert router.proc is not None and router.proc.poll() is None  # alive all along
    # and in the ledger, with their code and detail
    rows = ledger_rows(
        ledger,
        "SELECT message_id, outcome, error, error_detail FROM ndxp.ledger "
        f"WHERE message_id IN ('{run}-most', '{run}-at-bound') ORDER BY message_id",
        lambda rows: len(rows) == 2,
    )
    assert rows == [
        [f"{run}-at-bound", "routed", "", ""],
        [f"{run}-most", "rejected", "TOO_LARGE", f"21,004 headers, the limit is {MAX_HEADERS}"],
    ]


def test_unreadable_batches_and_raw_header_names_are_refused_and_the_partition_goes_on(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """What only a raw Kafka client can send: a zstd "zip bomb" (64 records of 1 MiB of
    zeros in a few KB: past the 32 MiB the consumer inflates), a header name that is not
    UTF-8, and requests compressed with lz4 and zstd (aiokafka alone cannot read those here).
    Every offset gets a decision and a ledger row; the ordinary request after them is routed."""
    sender, topic = "000.00.00.H33", "ndxp.in.000.00.00.H33"  # used by this test only
    client, run = f"VN:GOV:{sender}:motcua", uuid.uuid4().hex[:8]
    tap = Tap(kafka.bootstrap, ["ndxp.rejected", "ndxp.out.000.00.01.G01"])
    start = high_watermark(kafka.bootstrap, topic, 0)
    asyncio.run(produce_raw(kafka.bootstrap, topic, zstd_bomb(64, 1 << 20)))
    raw_name = [(n.encode(), v) for n, v in request(f"{run}-raw", client, POP)]
    raw_name.append((b"\xff\xfex-raw", b"v"))
    asyncio.run(produce_raw(kafka.bootstrap, topic, raw_batch([(b"{}", raw_name)])))
    for codec in ("lz4", "zstd"):
        p = producer(kafka.bootstrap, {"compression.type": codec})
        send(p, topic, request(f"{run}-{codec}", client, POP), partition=0)
        p.flush(30)
    p = producer(kafka.bootstrap)
    send(p, topic, request(f"{run}-after", client, POP), partition=0)
    p.flush(30)
    offsets = range(start, start + 64 + 1 + 2 + 1)
    try:

        def source(m: object) -> int | None:
            if hdr(m, "ndxp-source-topic") != topic:  # type: ignore[arg-type]
                return None
            return int(hdr(m, "ndxp-source-offset") or -1)  # type: ignore[arg-type]

        got = tap.collect(lambda ms: set(offsets) <= {source(m) for m in ms}, timeout=90)
    finally:
        tap.close()
    by_offset = {source(m): m for m in got if source(m) in offsets}
    bomb = [by_offset[o] for o in offsets[:64]]
    assert {(m.topic(), hdr(m, "ndxp-error")) for m in bomb} == {("ndxp.rejected", "TOO_LARGE")}
    assert "zstd batch inflates past 32 MiB" in (hdr(bomb[0], "ndxp-error-detail") or "")
    raw = by_offset[offsets[64]]
    assert (raw.topic(), hdr(raw, "ndxp-error")) == ("ndxp.rejected", "MALFORMED")
    assert "header name is not UTF-8 (ff fe" in (hdr(raw, "ndxp-error-detail") or "")
    assert ("??x-raw", b"v") in (raw.headers() or [])  # kept, each bad byte written as ?
    for o in offsets[65:]:
        assert by_offset[o].topic() == "ndxp.out.000.00.01.G01", o
    assert router.proc is not None and router.proc.poll() is None
    # every offset is a ledger row, by its ingress coordinates
    rows = ledger_rows(
        ledger,
        "SELECT count(), countIf(error = 'TOO_LARGE'), countIf(outcome = 'routed') "
        f"FROM ndxp.ledger WHERE source_topic = '{topic}' AND source_partition = 0 "
        f"AND source_offset >= {start}",  # partition 0: the load test's calls land on all
        lambda rows: rows[0][0] == len(offsets),
    )
    assert rows == [[len(offsets), 64, 3]]


def ledger_rows(
    ledger: LedgerProcess, sql: str, done: Callable[[list[list[object]]], bool]
) -> list[list[object]]:
    """``sql``'s rows once ``done(rows)``, or as they are after 60 s."""
    deadline = time.monotonic() + 60
    rows = ledger.sql(sql)
    while not done(rows) and time.monotonic() < deadline:
        time.sleep(0.3)
        rows = ledger.sql(sql)
    return rows


def test_thousands_of_headers_behind_a_raw_name_are_refused_and_the_partition_goes_on(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """A raw Kafka client's request whose first header name is not UTF-8, then 21,000 tiny
    headers: the router reads it with ndxp's own parser (aiokafka's refuses the name), which
    keeps the first 512 headers and skips the rest by the record's length. It is refused
    TOO_LARGE with the count it had, its dead-letter copy keeps 256 of the sender's headers
    then the router's, it is in the ledger, and the ordinary request behind it is routed."""
    sender, topic = "000.00.00.H37", "ndxp.in.000.00.00.H37"  # used by this test only
    client, run = f"VN:GOV:{sender}:motcua", uuid.uuid4().hex[:8]
    tap = Tap(kafka.bootstrap, ["ndxp.rejected", "ndxp.out.000.00.01.G01"])
    headers = [(b"\xff\xfex-raw", b"v")]
    headers += [(n.encode(), v) for n, v in request(f"{run}-raw", client, POP)]
    headers += [(b"x", b"")] * 21_000
    asyncio.run(produce_raw(kafka.bootstrap, topic, raw_batch([(b"{}", headers)])))
    p = producer(kafka.bootstrap)
    send(p, topic, request(f"{run}-after", client, POP), partition=0)
    p.flush(30)
    try:
        want = {f"{run}-raw", f"{run}-after"}
        got = tap.collect(lambda ms: want <= {hdr(m, "ndxp-id") for m in ms}, timeout=60)
    finally:
        tap.close()
    by_id = {hdr(m, "ndxp-id"): m for m in got}
    raw = by_id[f"{run}-raw"]
    assert (raw.topic(), hdr(raw, "ndxp-error")) == ("ndxp.rejected", "TOO_LARGE")
    assert hdr(raw, "ndxp-error-detail") == f"21,005 headers, the limit is {MAX_HEADERS}"
    kept = raw.headers() or []
    assert kept[0] == ("??x-raw", b"v")  # each bad byte written as ?
    assert kept[MAX_HEADERS - 1] == ("x", b"") and kept[MAX_HEADERS][0] == "ndxp-error"
    assert by_id[f"{run}-after"].topic() == "ndxp.out.000.00.01.G01"
    assert router.proc is not None and router.proc.poll() is None
    rows = ledger_rows(
        ledger,
        f"SELECT outcome, error FROM ndxp.ledger WHERE message_id = '{run}-raw'",
        lambda rows: len(rows) == 1,
    )
    assert rows == [["rejected", "TOO_LARGE"]]


def test_a_transactional_senders_markers_never_stop_its_partition(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """A member sending with a transactional producer: one committed and one aborted
    transaction, one left open, then an ordinary request. The broker writes a marker at the
    end of each transaction, an offset that holds no message. Every request is routed (the
    router reads uncommitted: an aborted or open transaction's records are routed and in the
    ledger, as schemas/WIRE.md says; one left open holds nothing back), and the router's
    commits pass the markers. Before, the first marker stopped the partition for good: the
    in-order guard took its offset for a message Faust had dropped and sought back to it
    again and again, and nothing after it was ever routed."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    sender, topic = "000.00.00.H38", "ndxp.in.000.00.00.H38"  # used by this test only
    client, run = f"VN:GOV:{sender}:motcua", uuid.uuid4().hex[:8]
    start = high_watermark(kafka.bootstrap, topic, 0)
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01"])
    tx = Producer({"bootstrap.servers": kafka.bootstrap, "transactional.id": f"tx-{run}"})
    tx.init_transactions(30)
    ids = []
    for name, n, end_with in (("committed", 3, "commit"), ("aborted", 2, "abort"), ("open", 2, "")):
        tx.begin_transaction()
        for i in range(n):
            ids.append(f"{run}-{name}-{i}")
            send(tx, topic, request(ids[-1], client, POP), partition=0)
        tx.flush(30)
        if end_with == "commit":
            tx.commit_transaction(30)
        elif end_with == "abort":
            tx.abort_transaction(30)
        # the last is left open: a consumer reading committed would wait at its first record
    p = producer(kafka.bootstrap)
    ids.append(f"{run}-after")
    send(p, topic, request(ids[-1], client, POP), partition=0)
    p.flush(30)
    end = high_watermark(kafka.bootstrap, topic, 0)
    assert end - start == len(ids) + 2  # the records and the two markers
    try:
        got = tap.collect(lambda ms: set(ids) <= {hdr(m, "ndxp-id") for m in ms}, timeout=60)
    finally:
        tap.close()
    assert set(ids) <= {hdr(m, "ndxp-id") for m in got}
    rows = ledger_rows(
        ledger,
        f"SELECT outcome, count() FROM ndxp.ledger WHERE message_id LIKE '{run}-%' GROUP BY 1",
        lambda rows: rows == [["routed", len(ids)]],
    )
    assert rows == [["routed", len(ids)]]
    # the router's group commits past the markers (every 0.5 s; at most a few seconds)
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": router.group})
    try:
        deadline = time.monotonic() + 30
        while True:
            [tp] = c.committed([TopicPartition(topic, 0)], timeout=10)
            if tp.offset >= end or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        c.close()
    assert tp.offset >= end, f"the router committed {tp.offset} of {topic}[0], its end is {end}"
    assert router.proc is not None and router.proc.poll() is None
    health = router.health() or {}
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{router.web_port}/metrics").read()
    assert f'ndxp_router_transaction_markers_total{{topic="{topic}"}}'.encode() in metrics
    assert health.get("ready")
    tx.abort_transaction(30)  # the open one, so that the broker's next test starts clean
