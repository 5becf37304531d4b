"""The ledger service against the real broker and the real engine: rows, SQL, kill -9."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest

from ndxp.core.errors import NdxpError

from .conftest import Broker
from .kafka_tools import LedgerProcess, RouterProcess, producer, request, send, stream

pytestmark = pytest.mark.integration

IN_H41 = "ndxp.in.000.00.00.H41"
MOTCUA = "VN:GOV:000.01.01.H41:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def wait_for(ledger: LedgerProcess, sql: str, want: object, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    got: object = None
    while time.monotonic() < deadline:
        got = ledger.sql(sql)
        if got == want:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{sql}\n  wanted {want!r}\n  got    {got!r}")


def wait_rows(ledger: LedgerProcess, sql: str, n: int, timeout: float = 60) -> list[list]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    rows: list[list] = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        rows = [list(r) for r in ledger.sql(sql)]
        if len(rows) >= n:
            return rows
        time.sleep(0.3)
    raise AssertionError(f"{sql}: {len(rows)} of {n} rows after {timeout}s")


def test_routed_and_rejected_messages_are_rows(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    value = "dữ liệu công dân: never stored".encode()
    produced = int(time.time() * 1000) - 5000
    p = producer(kafka.bootstrap)
    send(p, IN_H41, request(f"{run}-ok", MOTCUA, POP), value=value, timestamp_ms=produced)
    send(p, IN_H41, request(f"{run}-bad", "VN:GOV:000.00.00.H42:motcua", POP), value=b"x")
    send(
        p, IN_H41, [("ndxp-kind", b"request"), ("x-run", run.encode())], value=b"no id", partition=0
    )
    p.flush(10)
    bad, ok = wait_rows(
        ledger,
        "SELECT message_id, kind, outcome, error, client_member, client_level1, "
        "service_member, service_code, service_version, route, payload_size, "
        "hex(payload_sha256), toUnixTimestamp64Milli(produced_at) FROM ndxp.ledger "
        f"WHERE startsWith(message_id, '{run}') ORDER BY message_id",
        2,
    )
    assert ok == [
        f"{run}-ok",
        "request",
        "routed",
        "",
        "000.01.01.H41",
        "H41",
        "000.00.01.G01",
        "tra-cuu-cong-dan",
        "v1",
        "000.00.01.G01",
        len(value),
        hashlib.sha256(value).hexdigest().upper(),
        produced,
    ]
    assert bad[:6] == [f"{run}-bad", "request", "rejected", "NOT_SENDER", "000.00.00.H42", "H42"]
    assert bad[9:12] == ["", 1, hashlib.sha256(b"x").hexdigest().upper()]
    # a message without an id is a row too, identified by its ingress coordinates
    [[mid, kind, error]] = wait_rows(
        ledger,
        "SELECT message_id, kind, error FROM ndxp.ledger WHERE outcome = 'rejected' "
        f"AND payload_sha256 = unhex('{hashlib.sha256(b'no id').hexdigest()}') "
        f"AND startsWith(message_id, '{IN_H41}:0:') AND produced_at > now() - INTERVAL 5 MINUTE",
        1,
    )[-1:]
    assert (kind, error) == ("request", "MALFORMED") and mid.split(":")[-1].isdigit()
    # no byte of any payload is in the ledger
    [[hits]] = ledger.sql(
        "SELECT count() FROM ndxp.ledger WHERE position(error_detail, 'never stored') > 0"
    )
    assert hits == 0


def test_sql_endpoint_refuses_writes(ledger: LedgerProcess) -> None:
    with pytest.raises(NdxpError, match="only reads"):
        ledger.sql("DROP TABLE ndxp.ledger")
    assert ledger.sql("SELECT 1") == [[1]]


def test_ledger_killed_mid_stream_keeps_every_message_once(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(6000)]
    where = f"WHERE startsWith(message_id, '{run}-')"
    writer = stream(kafka.bootstrap, IN_H41, MOTCUA, POP, ids, per_second=2000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [[n]] = ledger.sql(f"SELECT count() FROM ndxp.ledger {where}")
        if n >= 500:
            break
        time.sleep(0.1)
    ledger.kill9()
    assert writer.is_alive(), "the kill must land mid-stream"
    writer.join()
    ledger.start().wait_ready()
    wait_for(
        ledger,
        f"SELECT count(), uniqExact(message_id) FROM ndxp.ledger {where}",
        [[len(ids), len(ids)]],
        timeout=90,
    )
    time.sleep(1)  # anything still to come would be a duplicate
    assert ledger.sql(f"SELECT count(), uniqExact(message_id) FROM ndxp.ledger {where}") == [
        [len(ids), len(ids)]
    ]


def test_records_dated_over_two_hundred_past_months_are_filed_under_today(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    """Finding 2: 200 requests whose Kafka CreateTimes were spread over 200 past months made
    the ledger die with TOO_MANY_PARTS, and again on every restart. The ledger's time (its
    days, its partitions) is the platform's now: all 200 are rows of today, each keeping its
    claim, and the ledger goes on."""
    run = uuid.uuid4().hex[:8]
    month_ms = 30 * 24 * 3600 * 1000
    now = int(time.time() * 1000)
    claims = {f"{run}-{k}": now - (k + 1) * month_ms for k in range(200)}
    p = producer(kafka.bootstrap)
    for mid, claim in claims.items():
        send(p, IN_H41, request(mid, MOTCUA, POP), timestamp_ms=claim)
    p.flush(30)
    where = f"WHERE startsWith(message_id, '{run}-')"
    wait_for(ledger, f"SELECT count() FROM ndxp.ledger {where}", [[200]])
    rows = ledger.sql(
        "SELECT message_id, toUnixTimestamp64Milli(produced_at), "
        "received_at > now64(3) - INTERVAL 10 MINUTE "
        f"FROM ndxp.ledger {where}"
    )
    assert {r[0]: r[1] for r in rows} == claims  # each claim kept as claimed
    assert all(r[2] for r in rows)  # filed under now: one partition, not 200
    health = ledger.health()
    assert health is not None and health.get("rows_quarantined", 0) == 0
    assert ledger.proc is not None and ledger.proc.poll() is None
