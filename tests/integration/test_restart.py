"""A router killed with SIGKILL in the middle of a stream loses nothing once restarted."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from .conftest import Broker
from .kafka_tools import RouterProcess, Tap, hdr, producer, request, send

pytestmark = pytest.mark.integration

REGISTRY = {
    "version": "restart-test",
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


def test_kill9_mid_stream_then_restart_every_id_arrives(kafka: Broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(REGISTRY))
    router = RouterProcess(
        kafka.bootstrap,
        path,
        f"ndxp-restart-{uuid.uuid4().hex[:8]}",
        tmp_path / "router.log",
        env={"NDXP_VAR": str(tmp_path)},
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
