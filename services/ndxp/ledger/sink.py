"""The ledger service: egress topics and ``ndxp.rejected`` → ClickHouse, exactly once.

A plain aiokafka consumer group (pattern subscription, so members added later are
included). Rows are batched by count and age and inserted column-oriented, one insert at a
time while the next batch is read; the offsets a batch covers are committed only after its
insert succeeded. A replay after a crash re-reads
rows already inserted: the store skips ids already present (and the table is a
ReplacingMergeTree keyed by day and id as a backstop), so the ledger holds each message once.
All ClickHouse calls run on one worker thread (the embedded engine is not thread-safe).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError

from ndxp.core.ledger import Row, ledger_row, unreadable
from ndxp.kafka.placeholders import Unreadable
from ndxp.ledger.sink_metrics import LedgerMetrics
from ndxp.ledger.store import LedgerStore
from ndxp.settings import LedgerSettings

log = logging.getLogger("ndxp.ledger")
PATTERN = r"^ndxp\.(out\..+|rejected)$"


class LedgerSink:
    def __init__(self, settings: LedgerSettings, store: LedgerStore, db: ThreadPoolExecutor):
        self.settings = settings
        self.store = store
        self.db = db
        self.rows: list[Row] = []
        self.unreadable: list[Row] = []  # quarantine rows of records no row could be made of
        self.offsets: dict[TopicPartition, int] = {}
        self.oldest: float | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.positions: dict[TopicPartition, int] = {}  # next offset to read, per partition
        self.inflight: asyncio.Task[None] | None = None  # the insert under way, if any
        self.metrics = LedgerMetrics(self.lag)
        self.stats: dict[str, Any] = {
            "records_read": 0,
            "rows_inserted": 0,
            "rows_skipped_as_duplicates": 0,
            "rows_quarantined": 0,
            "batches": 0,
            "last_batch_rows": 0,
            "last_insert_ms": None,
            "last_dedup_ms": None,  # the duplicate check's part of it
            "dedup_rows_read": 0,  # rows the duplicate checks read from the table
            "last_insert_at": None,
        }

    async def run(self) -> None:
        consumer = self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap,
            group_id=self.settings.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.max_poll_records,
            metadata_max_age_ms=self.settings.metadata_max_age_ms,
            fetch_max_wait_ms=self.settings.fetch_max_wait_ms,
            session_timeout_ms=self.settings.session_timeout_ms,
            heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
            **self.settings.auth.aiokafka(),
        )
        consumer.subscribe(pattern=PATTERN, listener=_FlushOnRevoke(self))
        await consumer.start()
        try:
            while True:
                if self.inflight is not None and self.inflight.done():
                    self.inflight.result()  # an insert or a commit failed: stop, as before
                batch = await consumer.getmany(timeout_ms=100)
                for tp, records in batch.items():
                    for r in records:
                        self.read(r)
                        self.offsets[tp] = self.positions[tp] = r.offset + 1
                        self.stats["records_read"] += 1
                    if self.oldest is None and records:
                        self.oldest = time.monotonic()
                await self._maybe_flush()
        finally:
            if self.inflight is not None and not self.inflight.done():
                await asyncio.wait([self.inflight])
            await consumer.stop()

    def read(self, record: Any) -> None:
        """One record: its ledger row, or — if making one raised (a bug some input found), or
        it stands for an offset of a compressed batch that could not be read — a quarantine
        row saying why; never an exception that would stop the ledger."""
        value = record.value
        if type(value) is Unreadable:
            why = f"unreadable batch ({value.cause}): {value.reason}"
            self.unreadable.append(
                unreadable(
                    record.topic, record.partition, record.offset, record.timestamp, b"", why
                )
            )
            return
        try:
            row = ledger_row(
                record.topic,
                record.partition,
                record.offset,
                record.timestamp,
                record.value,
                list(record.headers),
            )
        except Exception as exc:
            log.exception(
                "no ledger row for %s:%s:%s", record.topic, record.partition, record.offset
            )
            why = f"no ledger row could be made of it ({type(exc).__name__}: {exc})"
            self.unreadable.append(
                unreadable(
                    record.topic,
                    record.partition,
                    record.offset,
                    record.timestamp,
                    record.value,
                    why,
                )
            )
            return
        if row is not None:
            self.rows.append(row)

    async def _maybe_flush(self) -> None:
        """Start an insert when a batch is due. One insert at a time, in order (so commits
        are in order), while reading goes on; reading waits only when a second batch is full
        before the first insert is done."""
        if not self._due():
            return
        if self.inflight is not None:
            if not self.inflight.done() and len(self.rows) < 2 * self.settings.batch_rows:
                return
            await self.inflight
        self.inflight = asyncio.create_task(self.flush())

    async def drain(self) -> None:
        """Finish the insert under way, then insert and commit what is pending."""
        if self.inflight is not None:
            inflight, self.inflight = self.inflight, None
            await inflight
        await self.flush()

    def _due(self) -> bool:
        if not self.offsets:
            return False
        if len(self.rows) >= self.settings.batch_rows:
            return True
        return self.oldest is not None and (
            time.monotonic() - self.oldest >= self.settings.batch_seconds
        )

    async def flush(self) -> None:
        """Insert the pending rows, then commit the offsets they cover (never before)."""
        if not self.offsets:
            return
        rows, unread, offsets = self.rows, self.unreadable, self.offsets
        self.rows, self.unreadable, self.offsets, self.oldest = [], [], {}, None
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(self.db, self.store.insert, rows, unread)
        elapsed = (time.perf_counter() - t0) * 1000
        assert self.consumer is not None
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as exc:
            # A rebalance is under way (new egress topics, a member joining or leaving): the
            # rows are in the ledger, and whoever reads these partitions next re-reads them
            # from the last commit and skips them as present. Nothing is lost.
            log.warning("commit after an insert refused (%s); rows are kept", exc)
        self.metrics.on_batch(
            rows,
            done.rows,
            done.duplicates,
            done.quarantined,
            elapsed / 1000,
            time.time() * 1000,
            done.dedup_seconds,
            done.dedup_rows_read,
        )
        self.stats["batches"] += 1
        self.stats["rows_inserted"] += done.rows
        self.stats["rows_skipped_as_duplicates"] += done.duplicates
        self.stats["rows_quarantined"] += done.quarantined
        self.stats["last_batch_rows"] = len(rows)
        self.stats["last_insert_ms"] = round(elapsed, 1)
        self.stats["last_dedup_ms"] = round(done.dedup_seconds * 1000, 1)
        self.stats["dedup_rows_read"] += done.dedup_rows_read
        self.stats["last_insert_at"] = time.time()
        log.debug("inserted %d of %d rows in %.1f ms", done.rows, len(rows), elapsed)

    def lag(self) -> list[tuple[tuple[str, ...], float]]:
        out: list[tuple[tuple[str, ...], float]] = []
        if self.consumer is None:
            return out
        for tp, position in self.positions.items():
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                out.append(((tp.topic, str(tp.partition)), float(max(0, highwater - position))))
        return out


class _FlushOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move to another member, write and commit what was read from them."""

    def __init__(self, sink: LedgerSink) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.sink.drain()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        pass
