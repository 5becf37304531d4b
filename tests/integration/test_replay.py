"""A sender replaying the same ``ndxp-id`` (schemas/WIRE.md, "Replays"): every copy is
decided and routed as a message of its own, receivers get each copy with the same id, quotas
count each, and the ledger keeps the id once — the first copy's row."""

from __future__ import annotations

import time
import uuid

import pytest

from .conftest import Broker
from .kafka_tools import LedgerProcess, RouterProcess, Tap, hdr, producer, request, send

pytestmark = pytest.mark.integration

SENDER = "000.00.00.H35"  # used by this test only
CLIENT = f"VN:GOV:{SENDER}:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def test_a_replayed_id_is_routed_each_time_and_kept_once_in_the_ledger(
    kafka: Broker, router: RouterProcess, ledger: LedgerProcess
) -> None:
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01", "ndxp.rejected"])
    mid = f"replay-{uuid.uuid4().hex[:12]}"
    p = producer(kafka.bootstrap)
    try:
        for copy in range(3):  # on different partitions (keys), as a retrying sender might
            send(
                p,
                f"ndxp.in.{SENDER}",
                request(mid, CLIENT, POP),
                value=f"{{}}{copy}".encode(),
                key=f"k{copy}".encode(),
            )
            p.flush(10)
            time.sleep(0.3)  # in order: the ledger's first row is the first copy's
        got = tap.collect(lambda ms: sum(hdr(m, "ndxp-id") == mid for m in ms) >= 3, timeout=60)
    finally:
        tap.close()
    copies = [m for m in got if hdr(m, "ndxp-id") == mid]
    assert [m.topic() for m in copies] == ["ndxp.out.000.00.01.G01"] * 3
    assert sorted(m.value() for m in copies) == [b"{}0", b"{}1", b"{}2"]
    where = f"WHERE message_id = '{mid}'"
    deadline = time.monotonic() + 60
    rows: list[list[object]] = []
    while time.monotonic() < deadline:
        rows = ledger.sql(
            f"SELECT count(), any(outcome), any(payload_size) FROM ndxp.ledger {where}"
        )
        if rows and rows[0][0]:
            break
        time.sleep(0.3)
    time.sleep(1.5)  # the later copies were routed too: give the ledger time to (not) add them
    rows = ledger.sql(f"SELECT count(), any(outcome) FROM ndxp.ledger {where}")
    assert rows == [[1, "routed"]]
