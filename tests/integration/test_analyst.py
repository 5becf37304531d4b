"""Analysts' SQL on the real embedded engine: every way out of the ledger is refused (and
nothing happened), the limits stop runaway queries, ordinary analyst queries still work."""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ndxp.core.errors import NdxpError
from ndxp.core.ledger import ledger_row
from ndxp.ledger import report
from ndxp.ledger.store import LedgerStore
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.registry_file import load_registry
from ndxp.settings import LedgerSettings

pytestmark = pytest.mark.integration

# chdb's python() table function reads objects of the calling Python process by name
leak = {"secret": ["hunter2"]}


class Hits(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_GET(self) -> None:
        Hits.count += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"a\n1\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A local HTTP server that counts requests: what url()/s3() would fetch."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def refused(store: LedgerStore, sql: str) -> str:
    with pytest.raises(NdxpError) as info:
        store.read(sql)
    return str(info.value)


def ledger_tables(store: LedgerStore) -> int:
    [(n,)] = store.read(
        "SELECT count() FROM information_schema.tables WHERE table_schema = 'ndxp'"
    )[1]
    return int(n)


SECRET_FILE_TEXT = "analysts must never read this"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "secret.csv"
    path.write_text(f"a\n{SECRET_FILE_TEXT}\n")
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM file('{f}')",
        "SELECT file('{f}')",
        "SELECT * FROM file('{f}', 'CSV', 'a String') AS f JOIN numbers(1) n ON 1",
        "SELECT * FROM `{f}`",  # clickhouse-local's default database maps paths to files
        "SELECT * FROM default.`{f}`",
        "DESCRIBE TABLE `{f}`",
        "EXISTS TABLE `{f}`",
        "SELECT 1 WHERE 'x' IN (SELECT * FROM file('{f}'))",
        "SELECT * FROM view(SELECT * FROM file('{f}'))",
        "SELECT * FROM input('a String')",
        "SELECT * FROM python(leak)",
        "SELECT * FROM Python(leak)",
        "SELECT * FROM executable('cat {f}', 'TSV', 'a String')",
        "SELECT * FROM filesystem('{d}')",
        "SELECT * FROM merge('system', '^users$')",
        "SELECT * FROM cluster('default', system.one)",
        "SELECT * FROM dictionary('nope')",
        "SELECT dictGet('nope', 'a', toUInt64(1))",
        "SELECT dictGetString('nope', 'a', toUInt64(1))",
        "SELECT dictHas('nope', toUInt64(1))",
        "SELECT joinGet('ndxp.nope', 'a', 1)",
        "SELECT hasColumnInTable('system', 'one', 'dummy')",
    ],
)
def test_reading_outside_the_ledger_is_refused(
    store: LedgerStore, secret_file: Path, sql: str
) -> None:
    sql = sql.format(f=secret_file, d=secret_file.parent)
    reason = refused(store, sql)
    assert SECRET_FILE_TEXT not in reason and "hunter2" not in reason
    assert reason.startswith("refused (")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT query FROM system.processes",
        "SELECT * FROM system.user_query_log",
        "SELECT * FROM system.query_cache",
        "SELECT path FROM system.disks",
        "SELECT * FROM `system`.`disks` AS d",
        "SELECT data_paths, metadata_path FROM system.tables",
        "SELECT path FROM system.parts",
        "SELECT data_path FROM system.databases",
        "SELECT * FROM system.server_settings",
        "SELECT * FROM system.users",
        "SELECT * FROM system.one JOIN system.disks ON 1",
        "SELECT 'x' IN system.processes",
        "SELECT (SELECT any(query) FROM system.processes)",
        "SELECT * FROM view(SELECT path FROM system.disks)",
        "WITH d AS (SELECT path FROM system.disks) SELECT * FROM d",
        "SELECT * FROM (SELECT 1) UNION ALL SELECT count() FROM system.processes",
        "DESCRIBE (SELECT * FROM system.disks)",
        "EXPLAIN SELECT * FROM system.disks",
    ],
)
def test_system_tables_that_show_the_server_or_other_sessions_are_refused(
    store: LedgerStore, sql: str
) -> None:
    """system.processes shows every running query (another analyst's included),
    system.disks / tables / parts the server's paths: off the allow-list, refused."""
    reason = refused(store, sql)
    assert reason.startswith("refused (SYSTEM_TABLE)"), reason
    assert "/tmp" not in reason and "/var" not in reason


def test_the_server_configuration_is_refused(store: LedgerStore) -> None:
    assert refused(store, "SELECT getServerSetting('path')").startswith(
        "refused (OUTSIDE_FUNCTION)"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM url('{web}/health', 'CSV', 'a String')",
        "SELECT * FROM url('{web}/health')",
        "SELECT 1 IN url('{web}/x', 'CSV', 'a String')",
        "SELECT * FROM s3('{web}/bucket/x.csv', 'CSV', 'a String')",
        "SELECT * FROM urlCluster('default', '{web}/x', 'CSV', 'a String')",
        "SELECT * FROM remote('127.0.0.1:1', system.one)",
        "SELECT * FROM remoteSecure('127.0.0.1:1', system.one)",
        "SELECT * FROM hdfs('hdfs://127.0.0.1:1/x', 'CSV', 'a String')",
        "SELECT * FROM mysql('127.0.0.1:1', 'db', 't', 'u', 'p')",
        "SELECT * FROM postgresql('127.0.0.1:1', 'db', 't', 'u', 'p')",
        "SELECT * FROM azureBlobStorage('{web}', 'c', 'x.csv')",
        "SELECT * FROM iceberg('{web}/x')",
        "SELECT * FROM deltaLake('{web}/x')",
        "SELECT * FROM gcs('{web}/x.csv')",
    ],
)
def test_fetching_from_the_network_is_refused_and_nothing_is_fetched(
    store: LedgerStore, web: str, sql: str
) -> None:
    before = Hits.count
    reason = refused(store, sql.format(web=web))
    assert reason.startswith("refused (TABLE_FUNCTION)")
    time.sleep(0.05)
    assert Hits.count == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'x' INTO OUTFILE '{p}'",
        "SELECT 'x' INTO/**/OUTFILE '{p}'",
        "select 'x' into\n  outfile '{p}'",
        "SELECT 'x' -- a comment\nINTO /* another */ OUTFILE '{p}' TRUNCATE",
        "SELECT 'x' INTO OUTFILE '{p}' AND STDOUT",
        "SELECT 'x' INTO OUTFILE '{p}' COMPRESSION 'gzip'",
        "(SELECT 'x') INTO OUTFILE '{p}'",
        "SELECT 1 UNION ALL SELECT 2 INTO OUTFILE '{p}'",
        "EXPLAIN SELECT 1 INTO OUTFILE '{p}'",
        "SHOW TABLES FROM ndxp INTO OUTFILE '{p}'",
        "DESCRIBE TABLE ndxp.ledger INTO OUTFILE '{p}'",
        "INSERT INTO FUNCTION file('{p}', 'CSV', 'a String') SELECT 'x'",
    ],
)
def test_writing_a_file_is_refused_in_every_spelling(
    store: LedgerStore, tmp_path: Path, sql: str
) -> None:
    path = tmp_path / "written.csv"
    reason = refused(store, sql.format(p=path))
    assert reason.startswith(("refused (OUTFILE)", "refused (NOT_A_READ)"))
    assert not path.exists()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT 1; DROP TABLE ndxp.schema_migrations", "UNPARSABLE"),
        ("SELECT 1;SELECT 2", "UNPARSABLE"),
        ("SELECT 1; -- x\n DROP TABLE ndxp.schema_migrations", "UNPARSABLE"),
        ("INSERT INTO ndxp.ledger (message_id) VALUES ('x')", "NOT_A_READ"),
        ("INSERT INTO ndxp.ledger (message_id) SELECT 'x'", "NOT_A_READ"),
        ("CREATE TABLE ndxp.x (a UInt8) ENGINE = Memory", "NOT_A_READ"),
        ("CREATE DICTIONARY ndxp.d (a UInt64) PRIMARY KEY a LAYOUT(FLAT())", "NOT_A_READ"),
        ("CREATE FUNCTION f AS x -> x", "NOT_A_READ"),
        ("DROP TABLE ndxp.schema_migrations", "NOT_A_READ"),
        ("ALTER TABLE ndxp.ledger DELETE WHERE 1", "NOT_A_READ"),
        ("DELETE FROM ndxp.ledger WHERE 1", "NOT_A_READ"),
        ("TRUNCATE TABLE ndxp.ledger", "NOT_A_READ"),
        ("RENAME TABLE ndxp.ledger TO ndxp.gone", "NOT_A_READ"),
        ("DETACH TABLE ndxp.ledger", "NOT_A_READ"),
        ("OPTIMIZE TABLE ndxp.ledger FINAL", "NOT_A_READ"),
        ("SYSTEM STOP MERGES", "NOT_A_READ"),
        ("SYSTEM SHUTDOWN", "NOT_A_READ"),
        ("KILL QUERY WHERE 1", "NOT_A_READ"),
        ("SET max_result_rows = 0", "NOT_A_READ"),
        ("SET readonly = 0", "NOT_A_READ"),
        ("USE system", "NOT_A_READ"),
        ("GRANT ALL ON *.* TO default", "NOT_A_READ"),
        ("SHOW CREATE USER default", "NOT_A_READ"),
        ("BACKUP TABLE ndxp.ledger TO File('/tmp/ndxp-backup')", "NOT_A_READ"),
        ("EXPLAIN AST DROP TABLE ndxp.ledger", "NOT_A_READ"),
        ("SELECT number FROM numbers(200000) SETTINGS max_result_rows = 0", "SETTINGS"),
        ("SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
        ("SELECT * FROM (SELECT 1 SETTINGS max_execution_time = 0)", "SETTINGS"),
        ("SELECT 1 FORMAT JSON", "FORMAT"),
        ("SELEC 1", "UNPARSABLE"),
        ("", "EMPTY"),
        (" -- nothing\n", "UNPARSABLE"),
    ],
)
def test_only_reads_run(store: LedgerStore, sql: str, code: str) -> None:
    tables = ledger_tables(store)
    assert tables >= 4  # ledger, ledger_daily, its view, schema_migrations …
    assert refused(store, sql).startswith(f"refused ({code})")
    assert ledger_tables(store) == tables


def test_the_engine_session_is_read_only_too(store: LedgerStore) -> None:
    """Beneath the guard: the analyst's own engine client refuses writes by itself."""
    from clickhouse_connect.driver.exceptions import DatabaseError

    client = store.analyst.client
    with pytest.raises(DatabaseError, match="READONLY"):
        client.command("CREATE TABLE ndxp.x (a UInt8) ENGINE = Memory")
    with pytest.raises(DatabaseError, match="READONLY"):
        client.query("SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')")
    with pytest.raises(DatabaseError, match="READONLY"):
        client.command("SET max_execution_time = 0")
    settings = dict(
        client.query("SELECT name, value FROM system.settings WHERE changed").result_rows
    )
    assert settings["readonly"] == "1" and settings["max_execution_time"] == "30"


def test_limits_stop_runaway_queries(store: LedgerStore) -> None:
    from ndxp.ledger.analyst import Analyst, QueryFailed

    analyst = Analyst(
        LedgerSettings(dsn=store.dsn, sql_max_seconds=1, sql_max_memory_bytes=64 * 2**20)
    )
    try:
        t = time.perf_counter()
        with pytest.raises(QueryFailed, match="TIMEOUT_EXCEEDED"):
            analyst.read("SELECT count() FROM numbers(100000000000)")
        assert time.perf_counter() - t < 5
        with pytest.raises(QueryFailed, match="MEMORY_LIMIT_EXCEEDED"):
            analyst.read("SELECT length(groupArray(number)) FROM numbers(100000000)")
        for _ in range(3):  # and the next query on the same analyst reads its own result
            with pytest.raises(QueryFailed, match="TOO_MANY_ROWS"):
                analyst.read("SELECT number FROM numbers(100001)")
            assert analyst.read("SELECT 7") == (["7"], [(7,)])
        assert len(analyst.read("SELECT number FROM numbers(100000)")[1]) == 100_000
    finally:
        analyst.close()


def test_a_grouping_larger_than_the_memory_limit_goes_on_on_disk(store: LedgerStore) -> None:
    """The report's id collisions group a month's rows by message id: 3 M distinct keys
    here, past a 64 MiB limit (the engine's external aggregation)."""
    from ndxp.ledger.analyst import Analyst

    analyst = Analyst(LedgerSettings(dsn=store.dsn, sql_max_memory_bytes=64 * 2**20))
    try:
        _, [(groups,)] = analyst.read(
            "SELECT count() FROM (SELECT toString(number) AS id, groupUniqArray(number % 7) AS m,"
            " count() AS n FROM numbers(3000000) GROUP BY id HAVING n > 0)"
        )
        assert groups == 3_000_000
    finally:
        analyst.close()


def test_the_default_result_limit_applies_to_every_reader(store: LedgerStore) -> None:
    with pytest.raises(NdxpError, match="TOO_MANY_ROWS"):
        store.read("SELECT number FROM numbers(200000)")


def test_every_table_function_of_the_engine_is_decided(store: LedgerStore) -> None:
    """An engine upgrade that brings a table function the guard has not decided fails here."""
    from ndxp.core.sql_guard import OTHER_TABLE_FUNCTIONS, TABLE_FUNCTIONS

    _, rows = store.read("SELECT lower(name) FROM system.table_functions")
    known = {str(name) for (name,) in rows}
    assert len(known) > 50
    assert known - (TABLE_FUNCTIONS | OTHER_TABLE_FUNCTIONS) == set()


def readme_queries() -> list[str]:
    text = (REPO / "schemas" / "clickhouse" / "README.md").read_text(encoding="utf-8")
    return [q.replace("'…'", "'x'") for q in re.findall(r"```sql\n(.*?)```", text, re.S)]


@pytest.mark.parametrize("sql", readme_queries())
def test_the_documented_analyst_queries_run(store: LedgerStore, sql: str) -> None:
    _, rows = store.read(sql)  # refused or failed would raise
    assert isinstance(rows, list)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count() FROM ndxp.ledger",
        "WITH 1 AS x SELECT x",
        "WITH t AS (SELECT number AS n FROM numbers(3)) SELECT sum(n) FROM t",
        "SELECT * FROM generate_series(1, 3)",
        "SELECT * FROM (VALUES (1), (2))",
        "SELECT * FROM view(SELECT message_id FROM ndxp.ledger LIMIT 1)",
        "SELECT format('{}-{}', 'a', 'b')",
        "SELECT 'INTO OUTFILE /tmp/x' AS note, 'a; b' AS `semi;colon`",
        "SHOW TABLES FROM ndxp",
        "SHOW COLUMNS FROM ndxp.ledger",
        "DESCRIBE TABLE ndxp.ledger",
        "SHOW CREATE TABLE ndxp.ledger",
        "EXISTS TABLE ndxp.ledger",
        "EXPLAIN SELECT count() FROM ndxp.ledger",
        "EXPLAIN indexes = 1 SELECT count() FROM ndxp.ledger WHERE message_id = 'x'",
        "SELECT table_name, table_rows FROM information_schema.tables WHERE table_schema = 'ndxp'",
        "SELECT table, sum(data_compressed_bytes) FROM system.columns GROUP BY table",
        "SELECT name, value FROM system.settings WHERE changed",
        "SELECT dummy FROM system.one",
        "SHOW TABLES FROM system",
        "SELECT count() FROM system.functions",
        "SELECT 1;",
        "-- a comment\nSELECT 1 /* and another */",
    ],
)
def test_reads_run(store: LedgerStore, sql: str) -> None:
    _, rows = store.read(sql)  # refused or failed would raise
    assert isinstance(rows, list)


def test_the_report_runs_under_the_guard_and_limits(store: LedgerStore) -> None:
    t0 = 1_646_100_000_000  # March 2022
    rows = []
    for i in range(50):
        headers = [
            ("ndxp-id", f"rep-{i}".encode()),
            ("ndxp-kind", b"request"),
            ("ndxp-client", b"VN:GOV:000.01.01.H41:motcua"),
            ("ndxp-service", b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
            ("ndxp-routed-at", str(t0 + i * 1000 + 5).encode()),
            ("ndxp-route", b"000.00.01.G01"),
        ]
        row = ledger_row("ndxp.out.000.00.01.G01", 0, i, t0 + i * 1000, b"x", headers)
        assert row is not None
        rows.append(row)
    store.insert(rows)
    period = report.parse_period("2022-03", None, None, None)
    result = report.build(store, period, load_registry(DEFAULT_REGISTRY))
    assert result["transactions"] == 50
    assert result["top_agencies"][0]["agency"] == "H41"
