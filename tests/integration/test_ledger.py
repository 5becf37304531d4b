"""The ledger service against the real broker and the real engine: rows, analysts' SQL
(token, content type, refusals, beside the ingest), health without secrets, kill -9."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from ndxp.core.errors import NdxpError

from .conftest import Broker
from .kafka_tools import NDXP, LedgerProcess, RouterProcess, producer, request, send, stream

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
    claim = {"ndxp-sent-at": str(produced)}  # the sender's claim, kept as produced_at
    send(p, IN_H41, request(f"{run}-ok", MOTCUA, POP, **claim), value=value, timestamp_ms=produced)
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
        f"AND startsWith(message_id, '{IN_H41}:0:') AND received_at > now() - INTERVAL 5 MINUTE",
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
    days, its partitions) is the platform's now (the ingress topic's LogAppendTime): all 200
    are rows of now, each keeping its claim (ndxp-sent-at), and the ledger goes on."""
    run = uuid.uuid4().hex[:8]
    month_ms = 30 * 24 * 3600 * 1000
    now = int(time.time() * 1000)
    claims = {f"{run}-{k}": now - (k + 1) * month_ms for k in range(200)}
    p = producer(kafka.bootstrap)
    for mid, claim in claims.items():
        headers = request(mid, MOTCUA, POP, **{"ndxp-sent-at": str(claim)})
        send(p, IN_H41, headers, timestamp_ms=claim)
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


def token_of(ledger: LedgerProcess) -> str:
    return ledger.reader().token_file.read_text(encoding="utf-8").strip()


def post_sql(
    ledger: LedgerProcess, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{ledger.web_port}/sql", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, {"text": text.decode(errors="replace")}


def test_sql_endpoint_needs_the_token_and_json(ledger: LedgerProcess) -> None:
    token = token_of(ledger)
    assert len(token) >= 32
    path = ledger.reader().token_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    body = json.dumps({"sql": "SELECT 1"}).encode()
    as_json = {"Content-Type": "application/json"}
    assert post_sql(ledger, body, as_json)[0] == 401
    for wrong in ("Bearer " + token[:-1] + "x", "Bearer", "Basic " + token, token):
        status, reply = post_sql(ledger, body, {**as_json, "Authorization": wrong})
        assert status == 401 and "token" in reply["error"]
    auth = {"Authorization": f"Bearer {token}"}
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        assert post_sql(ledger, body, {**auth, "Content-Type": content_type})[0] == 415
    assert post_sql(ledger, body, auth)[0] == 415  # no content type at all
    big = json.dumps({"sql": "SELECT '" + "x" * 70_000 + "'"}).encode()
    assert post_sql(ledger, big, {**auth, **as_json})[0] == 413
    assert post_sql(ledger, b"SELECT 1", {**auth, **as_json})[0] == 400
    assert post_sql(ledger, b'{"query": "SELECT 1"}', {**auth, **as_json})[0] == 400
    assert post_sql(ledger, body, {**auth, **as_json}) == (200, {"columns": ["1"], "rows": [[1]]})
    leak = json.dumps({"sql": "SELECT file('/etc/passwd')"}).encode()
    status, reply = post_sql(ledger, leak, {**auth, **as_json})
    assert (status, reply["refused"]) == (400, "OUTSIDE_FUNCTION")
    assert "root:" not in json.dumps(reply)
    fetch = {"sql": f"SELECT * FROM url('http://127.0.0.1:{ledger.web_port}/health')"}
    status, reply = post_sql(ledger, json.dumps(fetch).encode(), {**auth, **as_json})
    assert (status, reply["refused"]) == (400, "TABLE_FUNCTION")


def test_ndxp_sql_reads_through_the_service_with_the_token_file(
    kafka: Broker, ledger: LedgerProcess
) -> None:
    env = {
        **os.environ,
        "NDXP_VAR": str(kafka.var),
        "NDXP_LEDGER_WEB_PORT": str(ledger.web_port),
        "NDXP_LEDGER_DSN": ledger.dsn,
    }
    ndxp = [str(NDXP), "sql"]
    out = subprocess.run(
        [*ndxp, "SELECT 41 + 1 AS answer", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (out.returncode, json.loads(out.stdout)) == (0, [{"answer": 42}]), out.stderr
    bad = subprocess.run(
        [*ndxp, "SELECT 'x' INTO/**/OUTFILE '/tmp/ndxp-analyst-leak'"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "refused (OUTFILE)" in bad.stderr
    assert not Path("/tmp/ndxp-analyst-leak").exists()
    # the service is there, but this user's var holds no token: no way in
    other = subprocess.run(
        [*ndxp, "SELECT 1"],
        env={**env, "NDXP_VAR": str(kafka.var / "elsewhere")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 2 and "cannot read the ledger's SQL token" in other.stderr


def test_a_long_analyst_query_does_not_hold_up_ingestion(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    run = uuid.uuid4().hex[:8]
    took: dict[str, float] = {}

    def long_query() -> None:
        t = time.perf_counter()
        ledger.sql("SELECT sum(sleepEachRow(0.00004)) FROM numbers(200000)")  # ~8 s
        took["s"] = time.perf_counter() - t

    analyst = threading.Thread(target=long_query)
    analyst.start()
    time.sleep(0.5)
    p = producer(kafka.bootstrap)
    for i in range(200):
        send(p, IN_H41, request(f"{run}-{i}", MOTCUA, POP))
    p.flush(10)
    wait_for(
        ledger,
        f"SELECT count() FROM ndxp.ledger WHERE startsWith(message_id, '{run}-')",
        [[200]],
        timeout=30,
    )
    assert analyst.is_alive(), "the rows must reach the ledger while the query still runs"
    analyst.join()
    assert took["s"] > 5


def test_health_and_logs_show_no_secret(ledger: LedgerProcess) -> None:
    token = token_of(ledger)
    health = ledger.health()
    assert health is not None and health["dsn"] == ledger.dsn
    with urllib.request.urlopen(f"http://127.0.0.1:{ledger.web_port}/metrics", timeout=5) as r:
        metrics = r.read().decode()
    for text in (json.dumps(health), metrics, ledger.log.read_text(errors="replace")):
        assert token not in text
    assert "secrets/ledger-sql.token" in ledger.log.read_text(errors="replace")
