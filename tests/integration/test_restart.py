"""A router killed with SIGKILL in the middle of a stream loses nothing once restarted."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest

from .conftest import Broker
from .kafka_tools import LedgerProcess, RouterProcess, Tap, hdr, producer, request, send

pytestmark = pytest.mark.integration

REGISTRY = {
    "version": "restart-test",
    "default_access": "allow",
    "members": [
        {
            "id": "VN:GOV:000.00.00.H97",
            "name": "sender (test)",
            "kind": "province_platform",
            "connected": True,
            "synthetic": True,
            "subsystems": [{"code": "motcua"}],
        },
        {
            "id": "VN:GOV:000.00.00.H98",
            "name": "provider (test)",
            "kind": "province_platform",
            "connected": True,
            "synthetic": True,
            "subsystems": [{"code": "dv", "services": [{"code": "tra-cuu", "version": "v1"}]}],
        },
    ],
}
TOTAL = 6000


def test_kill9_mid_stream_then_restart_every_id_arrives(
    kafka: Broker, ledger: LedgerProcess, tmp_path: Path
) -> None:
    """Every id arrives (at least once); the ledger holds each exactly once."""  # type: ignore[no-untyped-def]
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(REGISTRY))
    router = RouterProcess(
        kafka.bootstrap,
        tmp_path / "router.log",
        env={"NDXP_VAR": str(tmp_path)},
        registry=path,
        group=f"ndxp-restart-{uuid.uuid4().hex[:8]}",
    )
    router.start().wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H98"])
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(TOTAL)]

    def produce() -> None:
        p = producer(kafka.bootstrap)
        for n, mid in enumerate(ids):
            send(
                p,
                "ndxp.in.000.00.00.H97",
                request(mid, "VN:GOV:000.00.00.H97:motcua", "VN:GOV:000.00.00.H98:dv:tra-cuu:v1"),
                key=str(n).encode(),
            )
            if n % 200 == 0:
                p.poll(0)
                time.sleep(0.05)  # a stream over ~1.5 s, not one burst
        p.flush(30)

    writer = threading.Thread(target=produce)
    try:
        writer.start()
        tap.collect(lambda ms: len(ms) >= TOTAL // 4, timeout=60)
        seen_before_kill = len(tap.messages)
        router.kill9()
        assert 0 < seen_before_kill < TOTAL, "the kill must land mid-stream"
        writer.join()
        router.start().wait_ready()
        got = tap.collect(lambda ms: set(ids) <= {hdr(m, "ndxp-id") for m in ms}, timeout=90)
    finally:
        router.stop()
        tap.close()
    arrived = {hdr(m, "ndxp-id") for m in got}
    missing = set(ids) - arrived
    assert not missing, f"{len(missing)} ids lost, e.g. {sorted(missing)[:5]}"
    duplicates = len(got) - len(arrived)
    print(
        f"restart test: {TOTAL} sent, {seen_before_kill} seen before kill -9, "
        f"{len(got)} delivered, {duplicates} redelivered (at-least-once)"
    )
    # The redelivered copies do not double-count in the ledger.
    where = f"WHERE startsWith(message_id, '{run}-')"
    deadline = time.monotonic() + 60
    counts: list[list[int]] = []
    while time.monotonic() < deadline:
        counts = ledger.sql(f"SELECT count(), uniqExact(message_id) FROM ndxp.ledger {where}")
        if counts[0][1] >= TOTAL:
            break
        time.sleep(0.3)
    time.sleep(1)
    counts = ledger.sql(f"SELECT count(), uniqExact(message_id) FROM ndxp.ledger {where}")
    assert counts == [[TOTAL, TOTAL]], f"duplicates on the wire: {duplicates}"
    [[daily]] = ledger.sql(
        "SELECT sum(messages) FROM ndxp.ledger_daily "
        "WHERE day >= toDate(now(), 'Asia/Ho_Chi_Minh') - 1 AND client_member = '000.00.00.H97'"
    )
    assert daily == TOTAL  # the daily rollup is exact too (H97 sends only in this test)
