"""The ledger store on the real embedded ClickHouse engine: migrations, idempotent inserts
(analysts' read-only SQL: test_analyst.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from ndxp.core.ledger import COLUMNS, ledger_row
from ndxp.ledger.store import Inserted, LedgerStore

pytestmark = pytest.mark.integration
T0 = 1_560_000_000_000  # June 2019: no other test writes there


def rows(
    n: int, prefix: str, start: int = 0, source: str = "ndxp.in.000.01.01.H41", at: int = T0
) -> list[tuple]:  # type: ignore[type-arg]
    out = []
    for i in range(start, start + n):
        headers = [
            ("ndxp-id", f"{prefix}-{i}".encode()),
            ("ndxp-kind", b"request"),
            ("ndxp-client", b"VN:GOV:000.01.01.H41:motcua"),
            ("ndxp-service", b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
            ("ndxp-routed-at", str(at + i + 5).encode()),
            ("ndxp-route", b"000.00.01.G01"),
            ("ndxp-source-topic", source.encode()),
            ("ndxp-source-partition", b"0"),
            ("ndxp-source-offset", str(i).encode()),
            ("ndxp-sent-at", str(at - 3_600_000).encode()),
        ]
        row = ledger_row("ndxp.out.000.00.01.G01", 1, i, at + i * 1000, b"x" * i, headers)
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
    assert versions == [
        (1, "001_ledger.sql"),
        (2, "002_daily.sql"),
        (3, "003_identity.sql"),
        (4, "004_receiver.sql"),
        (5, "005_document.sql"),
    ]


def test_replayed_batches_do_not_duplicate(store: LedgerStore) -> None:
    first = rows(500, "replay", source="ndxp.in.000.02.01.H41")
    assert store.insert(first) == Inserted(500, 0, 0)
    # a replay after a crash: overlapping, differently cut batches, and a copy inside a batch
    assert store.insert(
        first[250:] + rows(250, "replay", 500, "ndxp.in.000.02.01.H41") + first[-3:]
    ) == Inserted(250, 253, 0)
    assert store.insert(first).rows == 0
    assert count(store, "replay") == (750, 750)
    [(daily,)] = store.read(
        "SELECT sum(messages) FROM ndxp.ledger_daily WHERE day >= toDate('2019-06-01') "
        "AND day < toDate('2019-07-01') AND client_member = '000.01.01.H41'"
    )[1]
    assert daily >= 750


def test_a_restarted_ledger_asks_the_table_about_what_it_may_hold(store: LedgerStore) -> None:
    """What it inserted before a restart is below its new floor: asked of the table, never
    inserted twice; what is new goes in without a question. (A second store object on the
    same engine starts with no memory, as a restarted service does.)"""
    batch = rows(300, "restart", source="ndxp.in.000.03.01.H41")
    assert store.insert(batch[:200]).rows == 200
    restarted = LedgerStore(store.dsn)
    assert restarted.recall() >= 1  # the service reads it at start, not at the first insert
    assert restarted.seen is not None
    assert restarted.seen.floors[("ndxp.in.000.03.01.H41", 0)] == 199
    assert restarted.insert(batch).rows == 100  # 0..199 found in the table, 200..299 new
    assert restarted.insert(batch) == Inserted(0, 300, 0)
    assert count(restarted, "restart") == (300, 300)


def test_a_replayed_day_is_read_from_the_table_once_not_once_a_batch(store: LedgerStore) -> None:
    """Issue 12: replaying a day, each batch's duplicate check read the batch's whole offset
    range of each ingress partition — most of the day, since a batch holds offsets from all
    over it — so the day was read again for every batch (60,000 rows for these 6,000). Each
    stretch of the table is read once now."""
    day = rows(6000, "wide", source="ndxp.in.000.10.01.H41")
    for i in range(0, 6000, 1000):
        assert store.insert(day[i : i + 1000]).rows == 1000
    restarted = LedgerStore(store.dsn)  # knows nothing of it: all at or below its floor
    # in ten batches, each with offsets from all over the day (as a ledger reads a replay)
    order = [day[i] for k in range(10) for i in range(k, 6000, 10)]
    read = 0
    for i in range(0, 6000, 600):
        done = restarted.insert(order[i : i + 600])
        assert done == Inserted(0, 600, 0)
        read += done.dedup_rows_read
    assert read <= 6000
    assert count(restarted, "wide") == (6000, 6000)


def test_a_fresh_day_in_any_order_is_checked_from_memory(store: LedgerStore) -> None:
    """What this ledger inserted since it started is known without asking the table, however
    scattered its offsets (every other one first: the 256 intervals a partition kept before
    overflowed, and the next batch was asked of the table)."""
    day = rows(3000, "scattered", source="ndxp.in.000.11.01.H41")
    read = 0
    for batch in (day[0::2], day[1::2], day):
        done = store.insert(batch)
        read += done.dedup_rows_read
    assert read == 0
    assert count(store, "scattered") == (3000, 3000)


def test_a_reused_id_is_a_row_of_its_own(store: LedgerStore) -> None:
    """Finding 4: a member re-sending another member's ndxp-id with its own request made its
    transaction vanish from the ledger. Identity is the ingress record now."""
    ours = rows(3, "reused", source="ndxp.in.000.04.01.H41")
    theirs = rows(3, "reused", source="ndxp.in.000.00.00.H36")  # same ids, other member
    assert store.insert(ours).rows == 3
    assert store.insert(theirs).rows == 3
    assert count(store, "reused") == (6, 3)


def test_any_timestamps_go_in_and_what_cannot_is_quarantined(store: LedgerStore) -> None:
    """Finding 2: 200 requests spread over 200 past months made the ledger die on
    TOO_MANY_PARTS at every restart. Now they go in (the ledger's time is the platform's;
    here records not written by the router carry them), and a time the engine cannot hold is
    quarantined with its reason while the rest of the batch goes in."""
    month = 31 * 24 * 3600 * 1000
    spread = [
        r
        for k in range(200)
        for r in rows(1, f"months{k}", start=k, source="ndxp.in.000.05.01.H41", at=T0 - k * month)
    ]
    assert store.insert(spread).rows == 200
    [(parts,)] = store.read(
        "SELECT uniqExact(toYYYYMM(received_at)) FROM ndxp.ledger "
        "WHERE source_topic = 'ndxp.in.000.05.01.H41'"
    )[1]
    assert parts == 200
    wild = rows(3, "wild", source="ndxp.in.000.06.01.H41")
    at = COLUMNS.index("received_at")
    wild[1] = (*wild[1][:at], 2**62, *wild[1][at + 1 :])
    assert store.insert(wild) == Inserted(2, 0, 1)
    [(reason, offset)] = store.read(
        "SELECT reason, offset FROM ndxp.ledger_quarantine WHERE message_id = 'wild-1'"
    )[1]
    assert "outside" in reason and offset == 1


def test_a_row_the_engine_refuses_is_found_by_splitting_and_quarantined(
    store: LedgerStore,
) -> None:
    batch = rows(64, "split", source="ndxp.in.000.07.01.H41")
    bad = COLUMNS.index("partition")
    batch[37] = (*batch[37][:bad], 2**40, *batch[37][bad + 1 :])  # no UInt32 holds it
    assert store.insert(batch) == Inserted(63, 0, 1)
    [(reason,)] = store.read(
        "SELECT reason FROM ndxp.ledger_quarantine WHERE message_id = 'split-37'"
    )[1]
    assert "refused by the engine" in reason
    assert count(store, "split") == (63, 63)


UPGRADE = """
import sys
from pathlib import Path
from ndxp.ledger.store import MIGRATIONS, LedgerStore
folder, old_schema = Path(sys.argv[1]), Path(sys.argv[2])
for name in ("001_ledger.sql", "002_daily.sql"):
    (old_schema / name).write_text((MIGRATIONS / name).read_text())
s = LedgerStore(f"chdb://{folder}")
assert s.migrate(old_schema) == ["001_ledger.sql", "002_daily.sql"]
s.command(
    "INSERT INTO ndxp.ledger (message_id, kind, outcome, payload_sha256, produced_at, routed_at, "
    "topic, partition, offset) SELECT concat('old-', toString(number)), 'request', 'routed', "
    "SHA256(toString(number)), fromUnixTimestamp64Milli(toInt64(1560000000000)), "
    "fromUnixTimestamp64Milli(toInt64(1560000000005)), 'ndxp.out.000.00.01.G01', 0, number "
    "FROM numbers(10)"
)
assert s.migrate() == ["003_identity.sql", "004_receiver.sql", "005_document.sql"]
print(s.read(
    "SELECT count(), uniqExact(message_id), min(toUnixTimestamp64Milli(received_at)), "
    "any(source_topic), uniqExact(source_offset) FROM ndxp.ledger"
)[1][0])
"""


def test_rows_written_before_the_identity_migration_are_kept(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """An existing ledger (001, 002) upgraded: every row kept, its routing time as the time
    of receipt, its own place as its identity. (Its own process: one engine path each.)"""
    folder, old = tmp_path_factory.mktemp("upgrade"), tmp_path_factory.mktemp("old-schema")
    out = subprocess.run(
        [sys.executable, "-c", UPGRADE, str(folder), str(old)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "(10, 10, 1560000000005, 'ndxp.out.000.00.01.G01', 10)"


def test_row_columns_round_trip(store: LedgerStore) -> None:
    [row] = rows(1, "cols", start=7, source="ndxp.in.000.08.01.H41")
    store.insert([row])
    _, [got] = store.read(
        "SELECT message_id, kind, outcome, client_member, client_level1, client_subsystem, "
        "service_member, service_level1, service_code, service_version, route, payload_size, "
        "hex(payload_sha256), toUnixTimestamp64Milli(received_at), "
        "toUnixTimestamp64Milli(produced_at), toUnixTimestamp64Milli(routed_at), topic, "
        "partition, offset, source_topic, source_partition, source_offset, receiver, doc_id, "
        "doc_status FROM ndxp.ledger WHERE message_id = 'cols-7'"
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
        T0 - 3_600_000,
        T0 + 12,
        "ndxp.out.000.00.01.G01",
        1,
        7,
        "ndxp.in.000.08.01.H41",
        0,
        7,
        "",
        "",
        "",
    )
    assert len(COLUMNS) == 31


def deliveries(receivers: list[str], doc: str, offset: int, kind: bytes = b"document") -> list:  # type: ignore[type-arg]
    """The copies of one document (one ingress record) for each of ``receivers``."""
    out = []
    for r in receivers:
        headers = [
            ("ndxp-id", doc.encode()),
            ("ndxp-kind", kind),
            ("ndxp-client", b"VN:GOV:000.00.00.G22:vbdh"),
            ("ndxp-doc-receiver", r.encode()),
            ("ndxp-source-topic", b"ndxp.in.000.00.00.G22"),
            ("ndxp-source-partition", b"1"),
            ("ndxp-source-offset", str(offset).encode()),
        ]
        row = ledger_row(f"ndxp.out.{r}", 0, offset, T0 + 5_000, b"<edXML/>", headers)
        assert row is not None
        out.append(row)
    return out


def test_each_receivers_copy_of_a_document_is_a_row_and_a_replay_is_not(
    store: LedgerStore,
) -> None:
    """One ingress record, three receivers: three rows, kept three after a replay, after a
    restart that asks the table, and after the engine merges (the receiver is in its key)."""
    provinces = ["000.00.00.H41", "000.00.00.H40", "000.00.00.H42"]
    assert store.insert(deliveries(provinces, "doc-1", 7)) == Inserted(3, 0, 0)
    assert store.insert(deliveries(provinces, "doc-1", 7)) == Inserted(0, 3, 0)
    store.seen = None  # as after a restart: what the table holds is read from it again
    again = deliveries([*provinces, "000.00.00.H43"], "doc-1", 7)
    assert store.insert(again) == Inserted(1, 3, 0)
    # a request at the same coordinates (another record kind): its own identity, no receiver
    request = deliveries(["000.00.00.H41"], "doc-1-req", 7, kind=b"request")
    assert request[0][-1] == "" and store.insert(request) == Inserted(1, 0, 0)
    store.client.command("OPTIMIZE TABLE ndxp.ledger FINAL")
    got = store.read(
        "SELECT receiver, kind FROM ndxp.ledger WHERE source_topic = 'ndxp.in.000.00.00.G22' "
        "AND source_offset = 7 ORDER BY receiver"
    )[1]
    assert got == [
        ("", "request"),
        *((r, "document") for r in sorted([*provinces, "000.00.00.H43"])),
    ]


def test_made_up_receivers_cost_entries_never_a_floor_each(store: LedgerStore) -> None:
    """A sender naming a new agency code on every record (rejected rows, each with that
    receiver): the restarted ledger's memory has one floor for the ingress partition, not
    one per code, and still finds every one of those rows in the table on a replay."""
    made_up = [f"999.99.{i:02d}.Z{i:02d}" for i in range(40)]
    batch = [row for i, r in enumerate(made_up) for row in deliveries([r], f"fake-{i}", 100 + i)]
    assert store.insert(batch) == Inserted(40, 0, 0)
    restarted = LedgerStore(store.dsn)
    restarted.recall()
    assert restarted.seen is not None
    g22 = [s for s in restarted.seen.floors if s[0].startswith("ndxp.in.000.00.00.G22")]
    assert g22 == [("ndxp.in.000.00.00.G22", 1)]
    assert restarted.insert(batch) == Inserted(0, 40, 0)
    another = deliveries(["999.99.99.Z99"], "fake-new", 100)  # a new code at a known offset
    assert restarted.insert(another) == Inserted(1, 0, 0)
