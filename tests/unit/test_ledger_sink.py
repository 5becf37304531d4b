"""The ledger sink's flush when the group is rebalancing: the rows stay inserted, the worker
goes on (a refused commit only means the next reader re-reads rows it will skip)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError

from ndxp.core.ledger import COLUMNS, ROUTED_AT
from ndxp.ledger.sink import LedgerSink
from ndxp.ledger.store import Inserted
from ndxp.settings import LedgerSettings


class Store:
    def __init__(self) -> None:
        self.inserted: list[Any] = []

    def insert(self, rows: list[Any], unreadable: list[Any]) -> Inserted:
        self.inserted.extend(rows)
        return Inserted(len(rows), 0, len(unreadable))


class Consumer:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.error is not None:
            raise self.error
        self.commits.append(offsets)


@pytest.mark.parametrize(
    "error",
    [
        None,
        IllegalStateError("No partitions assigned"),
        CommitFailedError(),
        RebalanceInProgressError(),
    ],
)
def test_a_refused_commit_keeps_the_rows_and_the_worker(error: Exception | None) -> None:
    store, consumer = Store(), Consumer(error)
    row = tuple(1_795_000_000_000 if i == ROUTED_AT else None for i in range(len(COLUMNS)))
    with ThreadPoolExecutor(1) as db:
        sink = LedgerSink(LedgerSettings(), store, db)  # type: ignore[arg-type]
        sink.consumer = consumer  # type: ignore[assignment]
        tp = TopicPartition("ndxp.out.000.00.00.G01", 0)
        sink.rows, sink.offsets = [row], {tp: 8}
        asyncio.run(sink.flush())
    assert store.inserted == [row]
    assert consumer.commits == ([] if error else [{tp: 8}])
    assert sink.stats["rows_inserted"] == 1 and not sink.offsets


def test_a_record_no_row_can_be_made_of_is_quarantined_not_fatal() -> None:
    """A record that makes the row builder raise (here: headers that are not pairs) becomes a
    quarantine row; the next record is read as usual."""

    class Record:
        def __init__(self, offset: int, headers: Any) -> None:
            self.topic, self.partition, self.offset = "ndxp.out.000.00.00.G01", 0, offset
            self.timestamp, self.value, self.headers = 1_795_000_000_000, b"v", headers

    with ThreadPoolExecutor(1) as db:
        sink = LedgerSink(LedgerSettings(), Store(), db)  # type: ignore[arg-type]
        sink.read(Record(1, [("ndxp-id", b"a", b"three")]))
        sink.read(Record(2, [("ndxp-id", b"m-2"), ("ndxp-kind", b"request")]))
    assert [q[:3] for q in sink.unreadable] == [("ndxp.out.000.00.00.G01", 0, 1)]
    assert "ValueError" in sink.unreadable[0][3]
    assert [r[0] for r in sink.rows] == ["m-2"]
