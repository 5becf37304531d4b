"""The ledger's ClickHouse side, through clickhouse-connect: the embedded engine (chdb) by
default, a ClickHouse server with an ``http://`` DSN — same code, same DDL."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import clickhouse_connect

from ndxp.core.errors import NdxpError
from ndxp.core.ledger import COLUMNS, MESSAGE_ID, PRODUCED_AT, Row, local_day, unique_rows
from ndxp.settings import REPO

log = logging.getLogger("ndxp.ledger")
MIGRATIONS = REPO / "schemas" / "clickhouse"
EPOCH = date(1970, 1, 1)
# Roots of the statements `ndxp sql` lets through (as EXPLAIN AST names them).
READ_ROOTS = (
    "SelectWithUnionQuery",
    "SelectQuery",
    "ShowTables",
    "DescribeQuery",
    "Explain",
    "ShowCreate",
    "ExistsTableQuery",
    "ShowColumns",
)


class ReadOnlyError(NdxpError):
    """A statement other than a read, refused by ``ndxp sql``."""


class LedgerStore:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.embedded = dsn.startswith("chdb:")
        if self.embedded:
            Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        try:
            self.client = clickhouse_connect.get_client(dsn=dsn)
        except Exception as exc:
            if "Cannot lock file" in str(exc) or "lock" in str(exc).lower():
                raise NdxpError(
                    f"the ledger at {dsn} is owned by another process (the ledger service?)"
                ) from None
            raise

    # -- schema -----------------------------------------------------------------------
    def migrate(self, folder: Path = MIGRATIONS) -> list[str]:
        """Apply the numbered ``*.sql`` files not applied yet; return the names applied."""
        self.client.command("CREATE DATABASE IF NOT EXISTS ndxp")
        self.client.command(
            "CREATE TABLE IF NOT EXISTS ndxp.schema_migrations (version UInt32, name String, "
            "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
        )
        done = {
            r[0]
            for r in self.client.query("SELECT version FROM ndxp.schema_migrations").result_rows
        }
        applied = []
        for path in sorted(folder.glob("[0-9][0-9][0-9]_*.sql")):
            version = int(path.name[:3])
            if version in done:
                continue
            for statement in split_statements(path.read_text(encoding="utf-8")):
                self.client.command(statement)
            self.client.insert(
                "ndxp.schema_migrations", [[version, path.name]], column_names=["version", "name"]
            )
            applied.append(path.name)
            log.info("applied migration %s", path.name)
        return applied

    # -- writes -------------------------------------------------------------------------
    def insert(self, rows: Sequence[Row]) -> int:
        """Insert rows whose (day, message id) is not in the ledger yet; return how many."""
        batch = unique_rows(rows)
        if not batch:
            return 0
        present = self.existing(batch)
        if present:
            batch = [r for r in batch if (local_day(r[PRODUCED_AT]), r[MESSAGE_ID]) not in present]
        if batch:
            columns = [list(c) for c in zip(*batch, strict=True)]
            self.client.insert(
                "ndxp.ledger", columns, column_names=list(COLUMNS), column_oriented=True
            )
        return len(batch)

    def existing(self, rows: Sequence[Row]) -> set[tuple[int, str]]:
        days = sorted({local_day(r[PRODUCED_AT]) for r in rows})
        ids = list({r[MESSAGE_ID] for r in rows})
        result = self.client.query(
            "SELECT toDate(produced_at, 'Asia/Ho_Chi_Minh') AS d, message_id FROM ndxp.ledger "
            "WHERE d IN {days:Array(Date)} AND message_id IN {ids:Array(String)}",
            parameters={"days": [EPOCH + timedelta(days=d) for d in days], "ids": ids},
        )
        return {((d - EPOCH).days, m) for d, m in result.result_rows}

    # -- reads --------------------------------------------------------------------------
    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only statement; anything else raises :class:`ReadOnlyError`."""
        sql = sql.strip().rstrip(";").strip()
        self.check_read_only(sql)
        settings = {} if self.embedded else {"readonly": 1}
        result = self.client.query(sql, settings=settings)
        return list(result.column_names), [tuple(r) for r in result.result_rows]

    def check_read_only(self, sql: str) -> None:
        if not sql:
            raise ReadOnlyError("empty statement")
        if re.search(r"\bINTO\s+OUTFILE\b", sql, re.IGNORECASE):
            raise ReadOnlyError("INTO OUTFILE writes a file: refused")
        try:
            ast = self.client.query(f"EXPLAIN AST {sql}").result_rows
        except Exception as exc:
            raise ReadOnlyError(
                f"not a statement ClickHouse can parse: {_first_line(exc)}"
            ) from None
        root = str(ast[0][0]).strip() if ast else ""
        if not root.startswith(READ_ROOTS):
            raise ReadOnlyError(
                f"only reads are allowed (SELECT, WITH, SHOW, DESCRIBE, "
                f"EXPLAIN); this is {root.split(' ')[0] or 'unknown'}"
            )

    def command(self, sql: str) -> Any:
        return self.client.command(sql)

    def close(self) -> None:
        self.client.close()


def split_statements(text: str) -> list[str]:
    """Statements of a migration file: ``;`` at the end of a line ends one; ``--`` comments go."""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [p.strip() for p in parts if p.strip()]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    for line in text:
        if "DB::Exception" in line or "Code:" in line:
            return line.strip()[:300]
    return (text[0] if text else type(exc).__name__)[:300]
