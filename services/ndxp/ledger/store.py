"""The ledger's ClickHouse side, through clickhouse-connect: the embedded engine (chdb) by
default, a ClickHouse server with an ``http://`` DSN — same code, same DDL."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from ndxp.core.errors import NdxpError
from ndxp.core.ledger import (
    COLUMNS,
    QUARANTINE_COLUMNS,
    Identity,
    Row,
    identity,
    quarantine_row,
    row_problem,
    unique_rows,
)
from ndxp.core.seen import CHUNK_BITS, PRESENT, UNKNOWN, Chunk, Held, Seen, chunk_of
from ndxp.paths import REPO
from ndxp.settings import LedgerSettings

if TYPE_CHECKING:
    from ndxp.ledger.analyst import Analyst

log = logging.getLogger("ndxp.ledger")
MIGRATIONS = REPO / "schemas" / "clickhouse"
# A batch holds the rows of a few minutes, but records not written by the router may carry any
# time: no limit on the months (partitions) one insert touches.
INSERT_SETTINGS = {"max_partitions_per_insert_block": 0}


@dataclass(frozen=True, slots=True)
class Inserted:
    """What one insert did with its rows."""

    rows: int  # new rows in the ledger
    duplicates: int  # already there (a replay)
    quarantined: int  # refused, kept in ndxp.ledger_quarantine with the reason
    # the duplicate check's part of the insert: its time, and the rows it read from the table
    dedup_seconds: float = field(default=0.0, compare=False)
    dedup_rows_read: int = field(default=0, compare=False)


class LedgerStore:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.seen: Seen | None = None  # what the ledger holds, read at the first insert
        self.rows_read = 0  # rows the duplicate checks have read from the table
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
    def insert(self, rows: Sequence[Row], unreadable: Sequence[Row] = ()) -> Inserted:
        """Insert the rows whose identity (ingress coordinates) is not in the ledger yet.

        A row the engine cannot take is quarantined (``ndxp.ledger_quarantine``, with the
        reason; ``unreadable`` are quarantine rows of records no row could be made of) and the
        rest of its batch goes in: rows failing :func:`row_problem` first,
        then, if an insert is refused for its data, the batch is split in halves until the
        refused rows are found. A failure of the engine itself (connection, server down) is
        raised: the service exits without committing and a restart re-reads."""
        batch = unique_rows(rows)
        good: list[Row] = []
        bad: list[tuple[Row, str]] = []
        for row in batch:
            problem = row_problem(row)
            if problem is None:
                good.append(row)
            else:
                bad.append((row, problem))
        t0 = time.perf_counter()
        read_before = self.rows_read
        present = self.existing(good)
        dedup_seconds = time.perf_counter() - t0
        fresh = [r for r in good if identity(r) not in present] if present else good
        refused = self._insert_or_split(fresh) if fresh else []
        if fresh:
            refused_keys = {identity(r) for r, _ in refused}
            self._seen().add(k for k in map(identity, fresh) if k not in refused_keys)
        quarantined = [quarantine_row(row, reason) for row, reason in bad + refused]
        quarantined.extend(unreadable)
        if quarantined:
            self.client.insert(
                "ndxp.ledger_quarantine", quarantined, column_names=list(QUARANTINE_COLUMNS)
            )
        duplicates = len(rows) - len(batch) + len(good) - len(fresh)
        return Inserted(
            len(fresh) - len(refused),
            duplicates,
            len(quarantined),
            dedup_seconds,
            self.rows_read - read_before,
        )

    def _insert_or_split(self, rows: list[Row]) -> list[tuple[Row, str]]:
        """Insert ``rows``; return those refused for their data, with the reason."""
        try:
            columns = [list(c) for c in zip(*rows, strict=True)]
            self.client.insert(
                "ndxp.ledger",
                columns,
                column_names=list(COLUMNS),
                column_oriented=True,
                settings=INSERT_SETTINGS,
            )
            return []
        except (DatabaseError, ValueError, TypeError, OverflowError) as exc:
            if isinstance(exc, OperationalError):
                raise
            if len(rows) == 1:
                log.error("ledger row quarantined: %s", _first_line(exc))
                return [(rows[0], f"refused by the engine: {_first_line(exc)}")]
        half = len(rows) // 2
        return self._insert_or_split(rows[:half]) + self._insert_or_split(rows[half:])

    def existing(self, rows: Sequence[Row]) -> set[Identity]:
        """Identities of ``rows`` already in the ledger, from memory
        (:class:`ndxp.core.seen.Seen`). The table is read only where memory cannot say (at
        or below what it held when this process started: a replay after a restart), each
        stretch of offsets once, by the table's sort key: the cost follows the rows replayed,
        not the table, and not the number of batches they come in."""
        seen = self._seen()
        found: set[Identity] = set()
        doubtful: dict[Chunk, list[Identity]] = {}
        for key in map(identity, rows):
            state = seen.state(key)
            if state == PRESENT:
                found.add(key)
            elif state == UNKNOWN:
                doubtful.setdefault(chunk_of(key), []).append(key)
        if not doubtful:
            return found
        gaps = [
            (chunk, seen.gap(chunk, min(k[2] for k in keys))) for chunk, keys in doubtful.items()
        ]
        for chunk, first, held in self._read(gaps):
            seen.load(chunk, first, held)
            # answered now, before a later chunk's load could push this one out of memory
            found.update(k for k in doubtful[chunk] if seen.state(k) == PRESENT)
        return found

    def _read(
        self, gaps: list[tuple[Chunk, tuple[int, int]]]
    ) -> Iterator[tuple[Chunk, int, list[Held]]]:
        """What the table holds in each gap: (chunk, first offset of the gap, the offset and
        receiver of each row); a few hundred gaps a query, so that its text stays small."""
        for i in range(0, len(gaps), 200):
            part = gaps[i : i + 200]
            conditions, parameters = [], {}
            for j, ((topic, partition, _), (first, last)) in enumerate(part):
                conditions.append(
                    f"(source_topic = {{t{j}:String}} AND source_partition = {int(partition)} "
                    f"AND source_offset BETWEEN {int(first)} AND {int(last)})"
                )
                parameters[f"t{j}"] = topic
            result = self.client.query(
                "SELECT source_topic, source_partition, source_offset, receiver "
                "FROM ndxp.ledger WHERE " + " OR ".join(conditions),
                parameters=parameters,
            )
            topics, partitions, offsets, receivers = result.result_columns or ([], [], [], [])
            self.rows_read += len(offsets)
            held: dict[Chunk, list[Held]] = {chunk: [] for chunk, _ in part}
            for t, p, o, r in zip(topics, partitions, offsets, receivers, strict=True):
                held[(t, int(p), int(o) >> CHUNK_BITS)].append((int(o), r))
            for chunk, (first, _) in part:
                yield chunk, first, held[chunk]

    def recall(self) -> int:
        """Read what the ledger holds, per ingress partition (the highest offset of each), now
        rather than at the first insert: the service calls it at start, so that the first
        batch does not carry a read of the whole table's sort key (0.45 s at 30 M rows).
        Returns the number of ingress partitions."""
        return len(self._seen().floors)

    def _seen(self) -> Seen:
        """What the ledger holds, per ingress partition, as of now (read once)."""
        if self.seen is None:
            result = self.client.query(
                "SELECT source_topic, source_partition, max(source_offset) "
                "FROM ndxp.ledger GROUP BY source_topic, source_partition"
            )
            self.seen = Seen({(t, int(p)): int(o) for t, p, o in result.result_rows})
        return self.seen

    # -- reads --------------------------------------------------------------------------
    def read(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one analyst statement (refused unless it is a read of the ledger) on an
        engine client of its own, read-only and limited: :mod:`ndxp.ledger.analyst`."""
        return self.analyst.read(sql)

    @functools.cached_property
    def analyst(self) -> Analyst:
        from ndxp.ledger.analyst import Analyst

        return Analyst(LedgerSettings(dsn=self.dsn))

    def command(self, sql: str) -> Any:
        return self.client.command(sql)

    def close(self) -> None:
        if "analyst" in self.__dict__:
            self.analyst.close()
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
