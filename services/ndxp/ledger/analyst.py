"""Analysts' SQL on the ledger: read-only for real, limited, and beside the ingest.

Each statement is first parsed by the engine and run by neither parse
(:meth:`Analyst.statement`): ``formatQuerySingleLine`` with the text as a *parameter* (one
statement or an error; chdb would otherwise run ``SELECT 1; DROP …`` as two), then
``EXPLAIN AST`` of the formatted text. :mod:`ndxp.core.sql_guard` decides on both. Only then
is the *formatted* text run — comments gone, so nothing can hide a clause from the checks or
swallow the ``SETTINGS``/``FORMAT`` that clickhouse-connect appends.

The engine enforces the rest. An :class:`Analyst` owns a clickhouse-connect client of its
own whose session is ``readonly=1`` with the service's limits (:func:`engine_settings`): for
the embedded engine they are ``SET`` once on its own chdb connection handle, for a server
(``http://`` DSN) they ride with every request. Measured on chdb 4.4 (ClickHouse 26.9):
``readonly=1`` refuses writes, DDL, ``SET``, ``SETTINGS`` clauses (so the limits cannot be
raised) and most table functions (file, url, s3, remote, mysql, executable, python, format,
zeros …) — but not ``cluster``, ``clusterAllReplicas``, ``input``, ``merge``, ``view``,
``generateRandom``, the *scalar* ``file()`` (it returned a file's content), and not
``INTO OUTFILE``, which chdb's client writes itself: those are the guard's.

An :class:`AnalystPool` runs analysts on threads of their own, never on the ingest's
(``db`` executor of :mod:`ndxp.ledger.service`); chdb serialises calls per connection
handle, not per engine, so an insert goes on while an analyst's query runs.
"""

from __future__ import annotations

import asyncio
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from ndxp.core.errors import NdxpError
from ndxp.core.sql_guard import (
    ReadOnlyError,
    Refusal,
    check_ast,
    check_format,
    check_outfile,
    parse_ast,
)
from ndxp.settings import LedgerSettings

Rows = tuple[list[str], list[tuple[Any, ...]]]


class QueryFailed(NdxpError):
    """A statement that passed the guard and that the engine stopped or refused: a limit
    (time, memory, rows), an unknown table, ``readonly`` …; the engine's one-line reason."""


def engine_settings(settings: LedgerSettings) -> dict[str, Any]:
    """The session settings of an analyst's client: the limits, then ``readonly=1`` last
    (once it is set, no setting can change).

    A GROUP BY or ORDER BY that outgrows a quarter of the memory limit goes on on disk (the engine's
    external aggregation and sort) instead of failing: ``ndxp report``'s id collisions group
    a month by message id, 107 M keys in a synthetic history, which stopped at 384 MiB."""
    spill = max(1, settings.sql_max_memory_bytes // 4)  # a half still failed at 64 MiB
    return {
        "max_execution_time": settings.sql_max_seconds,
        "timeout_overflow_mode": "throw",
        "max_memory_usage": settings.sql_max_memory_bytes,
        "max_bytes_before_external_group_by": spill,
        "max_bytes_before_external_sort": spill,
        "max_result_rows": settings.sql_max_result_rows,
        "max_result_bytes": settings.sql_max_result_bytes,
        "result_overflow_mode": "throw",
        "max_rows_to_read": settings.sql_max_rows_to_read,
        "read_overflow_mode": "throw",
        "readonly": 1,
    }


class Analyst:
    """One analyst's connection: checks a statement on the engine's parse, then runs it
    read-only under the limits. One thread at a time (the pool sees to it)."""

    def __init__(self, settings: LedgerSettings) -> None:
        self.settings = settings
        self.client = self._connect()

    def _connect(self) -> Any:
        return clickhouse_connect.get_client(
            dsn=self.settings.ledger_dsn, settings=engine_settings(self.settings)
        )

    def _engine_error(self, exc: ClickHouseError) -> str:
        """The engine's reason, after replacing the client. A query that chdb 4.4 stops
        mid-result (a row or time limit) leaves its partial output on the connection
        handle, and the handle's next query reads it ("unrecognized data found in
        stream": 40 of 40 tries with ``numbers(100001)`` over a 100,000-row limit; 0 of 40
        on a new client, and never on another client)."""
        try:
            self.client.close()
        finally:
            self.client = self._connect()
        return first_line(exc)

    def statement(self, sql: str) -> str:
        """The text to run: ``sql`` as the engine formats it, checked; raises
        :class:`~ndxp.core.sql_guard.ReadOnlyError` with the reason otherwise."""
        if not sql.strip():
            raise ReadOnlyError(Refusal.EMPTY, "empty statement")
        try:
            [(normalized,)] = self.client.query(
                "SELECT formatQuerySingleLine({sql:String})", parameters={"sql": sql}
            ).result_rows
        except ClickHouseError as exc:
            raise ReadOnlyError(Refusal.UNPARSABLE, self._engine_error(exc)) from None
        check_outfile(normalized)
        try:
            ast = self.client.query(f"EXPLAIN AST {normalized}").result_rows
        except ClickHouseError as exc:
            reason = self._engine_error(exc)
            if "(READONLY)" in reason:  # a SETTINGS clause, refused by the read-only session
                raise ReadOnlyError(Refusal.SETTINGS, reason) from None
            # it parsed alone but not followed by FORMAT: SYSTEM, KILL … — not a read
            raise ReadOnlyError(
                Refusal.NOT_A_READ, f"only reads are allowed; {normalized.split(' ')[0]} is not"
            ) from None
        check_ast(parse_ast(str(row[0]) for row in ast))
        check_format(normalized)
        return str(normalized)

    def read(self, sql: str) -> Rows:
        """Column names and rows of one analyst statement."""
        statement = self.statement(sql)
        try:
            result = self.client.query(statement)
        except ClickHouseError as exc:
            raise QueryFailed(self._engine_error(exc)) from None
        return list(result.column_names), [tuple(r) for r in result.result_rows]

    def close(self) -> None:
        self.client.close()


class AnalystPool:
    """``settings.sql_workers`` analysts, each with its own engine client, on as many
    threads of their own: analysts' queries run beside each other and beside the ingest."""

    def __init__(self, settings: LedgerSettings) -> None:
        self.analysts = [Analyst(settings) for _ in range(settings.sql_workers)]
        self.idle: queue.SimpleQueue[Analyst] = queue.SimpleQueue()
        for analyst in self.analysts:
            self.idle.put(analyst)
        self.executor = ThreadPoolExecutor(
            max_workers=settings.sql_workers, thread_name_prefix="analyst"
        )

    def read(self, sql: str) -> Rows:
        """Run on one of the pool's threads: as many threads as analysts, so one is idle."""
        analyst = self.idle.get()
        try:
            return analyst.read(sql)
        finally:
            self.idle.put(analyst)

    async def run(self, sql: str) -> Rows:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.read, sql)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        for analyst in self.analysts:
            analyst.close()


def first_line(exc: Exception) -> str:
    """The engine's reason: the line with ``Code:``/``DB::Exception``, at most 300
    characters (clickhouse-connect adds the query and a stack on other lines)."""
    text = str(exc).strip().splitlines()
    for line in text:
        if "DB::Exception" in line or "Code:" in line:
            return line.strip()[:300]
    return (text[0] if text else type(exc).__name__)[:300]
