"""The ledger store on the real embedded ClickHouse engine: migrations, idempotent inserts,
read-only SQL."""

from __future__ import annotations

import hashlib

import pytest

from ndxp.core.ledger import COLUMNS, ledger_row
from ndxp.ledger.store import LedgerStore, ReadOnlyError

pytestmark = pytest.mark.integration
T0 = 1_560_000_000_000  # June 2019: no other test writes there


def rows(n: int, prefix: str, start: int = 0) -> list[tuple]:  # type: ignore[type-arg]
    out = []
    for i in range(start, start + n):
        headers = [
            ("ndxp-id", f"{prefix}-{i}".encode()),
            ("ndxp-kind", b"request"),
            ("ndxp-client", b"VN:GOV:000.01.01.H41:motcua"),
            ("ndxp-service", b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
            ("ndxp-routed-at", str(T0 + i + 5).encode()),
            ("ndxp-route", b"000.00.01.G01"),
        ]
        row = ledger_row("ndxp.out.000.00.01.G01", 1, i, T0 + i * 1000, b"x" * i, headers)
        assert row is not None
        out.append(row)
    return out


def count(store: LedgerStore, prefix: str) -> tuple[int, int]:
    [(n, distinct)] = store.read(
        f"SELECT count(), uniqExact(message_id) FROM ndxp.ledger "
        f"WHERE startsWith(message_id, '{prefix}-')"
    )[1]
    return n, distinct


def test_migrations_are_recorded_and_rerunning_is_a_no_op(store: LedgerStore) -> None:
    assert store.migrate() == []
    versions = store.read("SELECT version, name FROM ndxp.schema_migrations ORDER BY version")[1]
    assert versions == [(1, "001_ledger.sql"), (2, "002_daily.sql")]


def test_replayed_batches_do_not_duplicate(store: LedgerStore) -> None:
    first = rows(500, "replay")
    assert store.insert(first) == 500
    # a replay after a crash: overlapping, differently cut batches, and a copy inside a batch
    assert store.insert(first[250:] + rows(250, "replay", 500) + first[-3:]) == 250
    assert store.insert(first) == 0
    assert count(store, "replay") == (750, 750)
    [(daily,)] = store.read(
        "SELECT sum(messages) FROM ndxp.ledger_daily WHERE day >= toDate('2019-06-01') "
        "AND day < toDate('2019-07-01')"
    )[1]
    assert daily == 750


def test_row_columns_round_trip(store: LedgerStore) -> None:
    [row] = rows(1, "cols", start=7)
    store.insert([row])
    _, [got] = store.read(
        "SELECT message_id, kind, outcome, client_member, client_level1, client_subsystem, "
        "service_member, service_level1, service_code, service_version, route, payload_size, "
        "hex(payload_sha256), toUnixTimestamp64Milli(produced_at), "
        "toUnixTimestamp64Milli(routed_at), topic, partition, offset FROM ndxp.ledger "
        "WHERE message_id = 'cols-7'"
    )
    assert got == (
        "cols-7",
        "request",
        "routed",
        "000.01.01.H41",
        "H41",
        "motcua",
        "000.00.01.G01",
        "G01",
        "tra-cuu-cong-dan",
        "v1",
        "000.00.01.G01",
        7,
        hashlib.sha256(b"x" * 7).hexdigest().upper(),
        T0 + 7000,
        T0 + 12,
        "ndxp.out.000.00.01.G01",
        1,
        7,
    )
    assert len(COLUMNS) == 25


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP TABLE ndxp.ledger", "DropQuery"),
        ("INSERT INTO ndxp.ledger (message_id) VALUES ('x')", "InsertQuery"),
        ("ALTER TABLE ndxp.ledger DELETE WHERE 1", "AlterQuery"),
        ("TRUNCATE TABLE ndxp.ledger", "TruncateQuery"),
        ("CREATE TABLE ndxp.x (a UInt8) ENGINE = Memory", "CreateQuery"),
        ("OPTIMIZE TABLE ndxp.ledger FINAL", "OptimizeQuery"),
        ("SYSTEM STOP MERGES", "parse"),  # EXPLAIN AST cannot parse SYSTEM: refused
        ("SELECT 1 INTO OUTFILE '/tmp/ndxp-leak'", "INTO OUTFILE"),
        ("SELEC 1", "parse"),
        ("", "empty"),
    ],
)
def test_only_reads_pass(store: LedgerStore, sql: str, reason: str) -> None:
    with pytest.raises(ReadOnlyError) as info:
        store.read(sql)
    assert reason.lower() in str(info.value).lower()
    [(tables,)] = store.read("SELECT count() FROM system.tables WHERE database = 'ndxp'")[1]
    assert tables >= 4  # ledger, ledger_daily, its view, schema_migrations — all still there


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count() FROM ndxp.ledger",
        "WITH 1 AS x SELECT x",
        "SHOW TABLES FROM ndxp",
        "DESCRIBE TABLE ndxp.ledger",
        "EXPLAIN SELECT 1",
        "SELECT 1;",
    ],
)
def test_reads_pass(store: LedgerStore, sql: str) -> None:
    columns, _ = store.read(sql)
    assert columns
