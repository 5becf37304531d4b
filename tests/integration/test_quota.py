"""Quotas through the real broker: exact daily caps, also across kill -9 and a worker dying.

The crash variants are marked ``quota_crash`` and left out of ``make test``: they fail about
one run in six. After a restart under load, faust-streaming 0.15.3 was seen to deliver a
partition's messages from a position below one it had already delivered (its read-offset
bookkeeping then *dropped* them — lost messages — until :mod:`ndxp.router.faust_fixes`
turned the dropping off). The quota stage's replay record assumes a client's requests arrive
in offset order, so such a re-delivery is taken for an already-routed replay: a few hundred
requests over the cap get through (3,188 routed of a 3,000 cap in one run). Quotas are off by
default (``NDXP_QUOTAS=on`` turns them on) so the router's no-loss guarantee is not at stake;
``make test-quota-crash`` runs these.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest

from .conftest import Broker
from .kafka_tools import LedgerProcess, RouterProcess, Tap, hdr, stream

pytestmark = pytest.mark.integration

PROVIDER = "VN:GOV:000.00.00.H92"
SERVICE = f"{PROVIDER}:dv:tra-cuu:v1"


def registry(sender: str, daily: int) -> dict[str, object]:
    """A sender whose one-stop-shop system may call the provider ``daily`` times a day."""
    return {
        "version": f"quota-{sender}",
        "members": [
            {
                "id": f"VN:GOV:000.00.00.{sender}",
                "name": "sender (test)",
                "kind": "province_platform",
                "connected": True,
                "synthetic": True,
                "subsystems": [{"code": "motcua"}],
            },
            {
                "id": PROVIDER,
                "name": "provider (test)",
                "kind": "province_platform",
                "connected": True,
                "synthetic": True,
                "subsystems": [{"code": "dv", "services": [{"code": "tra-cuu", "version": "v1"}]}],
            },
        ],
        "access": [
            {"service": SERVICE, "member": f"VN:GOV:000.00.00.{sender}", "descendants": True}
        ],
        "limits": [
            {
                "name": "sender-daily",
                "member": f"VN:GOV:000.00.00.{sender}",
                "descendants": True,
                "service": SERVICE,
                "daily": daily,
            },
            {
                "name": "sender-overall",
                "member": f"VN:GOV:000.00.00.{sender}",
                "descendants": True,
                "rate": 100000,
                "burst": 100000,
            },
        ],
    }


def start_router(
    kafka: Broker, tmp_path: Path, doc: dict[str, object], group: str, name: str = "router"
) -> RouterProcess:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(doc))
    r = RouterProcess(
        kafka.bootstrap,
        tmp_path / f"{name}.log",
        env={"NDXP_VAR": str(tmp_path), "NDXP_QUOTAS": "on"},
        registry=path,
        group=group,
    )
    return r.start()


def send_as(bootstrap: str, sender: str, ids: list[str], per_second: int) -> threading.Thread:
    topic, client = f"ndxp.in.000.00.00.{sender}", f"VN:GOV:000.00.00.{sender}:motcua"
    return stream(bootstrap, topic, client, SERVICE, ids, per_second)


def outcome(tap: Tap, ids: list[str], timeout: float = 120) -> tuple[set[str], set[str]]:
    """Ids routed and ids refused QUOTA_EXCEEDED, once every id has one or the other."""
    want = set(ids)

    def decided(ms: list) -> bool:  # type: ignore[type-arg]
        return want <= {hdr(m, "ndxp-id") for m in ms}

    got = tap.collect(decided, timeout=timeout)
    routed = {hdr(m, "ndxp-id") for m in got if m.topic() != "ndxp.rejected"} & want
    refused = {
        hdr(m, "ndxp-id")
        for m in got
        if m.topic() == "ndxp.rejected" and hdr(m, "ndxp-error") == "QUOTA_EXCEEDED"
    } & want
    return routed, refused  # type: ignore[return-value]


def test_daily_cap_routes_exactly_n_of_one_and_a_half_n(kafka: Broker, tmp_path: Path) -> None:
    cap, run = 200, uuid.uuid4().hex[:8]
    router = start_router(kafka, tmp_path, registry("H91", cap), f"quota-{run}")
    router.wait_ready()
    tap = Tap(
        kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected", "ndxp.out.000.00.00.H91"]
    )
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    try:
        send_as(kafka.bootstrap, "H91", ids, per_second=2000).join()
        routed, refused = outcome(tap, ids)
        notices = [
            m
            for m in tap.messages
            if m.topic() == "ndxp.out.000.00.00.H91" and hdr(m, "ndxp-error") == "QUOTA_EXCEEDED"
        ]
    finally:
        tap.close()
        router.stop()
    assert (len(routed), len(refused)) == (cap, cap // 2)
    assert not routed & refused
    # the refusals say which limit, what it allows, and when to retry
    notice = notices[0]
    assert hdr(notice, "ndxp-quota-limit") == "sender-daily"
    assert hdr(notice, "ndxp-quota-policy") == f"daily={cap}"
    assert hdr(notice, "ndxp-quota-remaining") == "0"
    assert 0 < float(hdr(notice, "ndxp-retry-after") or 0) <= 86400
    assert len(notices) == cap // 2


QUOTA_CRASH = pytest.mark.quota_crash  # known to fail intermittently: see the issue 4 notes


@QUOTA_CRASH
def test_exact_when_the_router_is_killed_mid_run(
    kafka: Broker, tmp_path: Path, ledger: LedgerProcess
) -> None:
    cap, run = 3000, uuid.uuid4().hex[:8]
    router = start_router(kafka, tmp_path, registry("H93", cap), f"quota-kill-{run}")
    router.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    try:
        writer = send_as(kafka.bootstrap, "H93", ids, per_second=600)
        tap.collect(lambda ms: len(ms) >= cap // 6, timeout=60)
        router.kill9()
        assert writer.is_alive(), "the kill must land mid-run"
        router.start().wait_ready()
        writer.join()
        routed, refused = outcome(tap, ids)
        copies = len([m for m in tap.messages if hdr(m, "ndxp-id") in routed])
    finally:
        tap.close()
        router.stop()
    assert (len(routed), len(refused)) == (cap, cap // 2), f"{copies} routed copies on the wire"
    assert not routed & refused, "an id was both routed and refused"
    # the ledger counts the same
    where = f"startsWith(message_id, '{run}-')"
    deadline = time.monotonic() + 60
    rows: list[list[object]] = []
    while time.monotonic() < deadline:
        rows = ledger.sql(
            f"SELECT outcome, error, count(), uniqExact(message_id) FROM ndxp.ledger "
            f"WHERE {where} GROUP BY outcome, error ORDER BY outcome"
        )
        if sum(int(r[3]) for r in rows) >= len(ids):  # type: ignore[call-overload]
            break
        time.sleep(0.5)
    assert rows == [["rejected", "QUOTA_EXCEEDED", cap // 2, cap // 2], ["routed", "", cap, cap]]


@QUOTA_CRASH
def test_exact_when_one_of_two_workers_dies(kafka: Broker, tmp_path: Path) -> None:
    cap, run = 3000, uuid.uuid4().hex[:8]
    doc = registry("H95", cap)
    group = f"quota-pair-{run}"
    first = start_router(kafka, tmp_path, doc, group, "worker-1")
    second = start_router(kafka, tmp_path, doc, group, "worker-2")
    first.wait_ready()
    second.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    try:
        writer = send_as(kafka.bootstrap, "H95", ids, per_second=600)
        tap.collect(lambda ms: len(ms) >= cap // 6, timeout=60)
        victim = max((first, second), key=lambda w: (w.health() or {}).get("routed", 0))
        victim.kill9()
        assert writer.is_alive(), "the kill must land mid-run"
        writer.join()
        routed, refused = outcome(tap, ids, timeout=150)
    finally:
        tap.close()
        first.stop()
        second.stop()
    assert (len(routed), len(refused)) == (cap, cap // 2)
    assert not routed & refused
