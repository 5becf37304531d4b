"""Quotas through the real broker: exact daily caps, also across kill -9 and a worker dying,
with both quota stages (``home``: a request off its client's home partition written again
there by the router; ``inline``:
requests keyed by their client id, decided where they arrive); and a member's allowance of
refusals (core/refusal_allowance.py) across a worker dying while it holds the member."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest

from ndxp.core.budget import headers_size
from ndxp.core.topology import client_partition

from .conftest import Broker
from .kafka_tools import (
    CAPPED_PARTITIONS,
    SERVICE,
    LedgerProcess,
    RouterProcess,
    Tap,
    document,
    hdr,
    producer,
    request,
    send,
    stream,
)
from .kafka_tools import capped_registry as registry

pytestmark = pytest.mark.integration

# Each test and stage sends as its own member: a router with a new group reads its ingress
# topics from the start, so members must not share ingress topics across tests.
SENDERS = {
    ("cap", "home"): "H91",
    ("cap", "inline"): "H81",
    ("kill", "home"): "H93",
    ("kill", "inline"): "H83",
    ("pair", "home"): "H95",
    ("pair", "inline"): "H85",
}
STAGES = pytest.mark.parametrize("stage", ["home", "inline"])


def start_router(
    kafka: Broker,
    tmp_path: Path,
    doc: dict[str, object],
    group: str,
    stage: str,
    name: str = "router",
    env: dict[str, str] | None = None,
) -> RouterProcess:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(doc))
    r = RouterProcess(
        kafka.bootstrap,
        tmp_path / f"{name}.log",
        env={
            "NDXP_VAR": str(tmp_path),
            "NDXP_QUOTAS": "on",
            "NDXP_QUOTA_STAGE": stage,
            "NDXP_PARTITIONS": str(CAPPED_PARTITIONS),
            **(env or {}),
        },
        registry=path,
        group=group,
    )
    return r.start()


def send_as(
    bootstrap: str, sender: str, ids: list[str], per_second: int, stage: str
) -> threading.Thread:
    """Requests from the sender's one-stop-shop system, keyed by the client id for the
    inline stage (as it requires), spread over the partitions for the home stage (two in
    three arrive off the client's home partition and are written there again)."""
    topic, client = f"ndxp.in.000.00.00.{sender}", f"VN:GOV:000.00.00.{sender}:motcua"
    return stream(bootstrap, topic, client, SERVICE, ids, per_second, keyed=stage == "inline")


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


@STAGES
def test_daily_cap_routes_exactly_n_of_one_and_a_half_n(
    kafka: Broker, tmp_path: Path, stage: str
) -> None:
    cap, run, sender = 200, uuid.uuid4().hex[:8], SENDERS["cap", stage]
    router = start_router(kafka, tmp_path, registry(sender, cap), f"quota-{run}", stage)
    router.wait_ready()
    notices_topic = f"ndxp.out.000.00.00.{sender}"
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected", notices_topic])
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    try:
        send_as(kafka.bootstrap, sender, ids, 2000, stage).join()
        routed, refused = outcome(tap, ids)

        def notices_in(ms: list) -> list:  # type: ignore[type-arg]
            return [
                m
                for m in ms
                if m.topic() == notices_topic and hdr(m, "ndxp-error") == "QUOTA_EXCEEDED"
            ]

        # A notice is a record of its own on the sender's egress topic: it may reach the tap
        # after the dead-letter copy that completed ``outcome``.
        tap.collect(lambda ms: len(notices_in(ms)) >= cap // 2, timeout=30)
        notices = notices_in(tap.messages)
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


def test_notices_count_under_the_same_cap_as_requests(kafka: Broker, tmp_path: Path) -> None:
    """A one-way notice (ndxp-kind: notice) is counted as a request is: requests and notices
    from one client, interleaved, 1.5x a daily cap of their service: exactly the cap is routed,
    notices among them, each still a notice on the egress topic."""
    cap, run, sender = 100, uuid.uuid4().hex[:8], "H89"
    router = start_router(kafka, tmp_path, registry(sender, cap), f"quota-{run}", "home")
    router.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    client = f"VN:GOV:000.00.00.{sender}:motcua"
    try:
        p = producer(kafka.bootstrap)
        for n, mid in enumerate(ids):  # spread over the partitions: most are re-homed
            headers = request(mid, client, SERVICE)
            if n % 2:
                headers = [(k, b"notice" if k == "ndxp-kind" else v) for k, v in headers]
            send(p, f"ndxp.in.000.00.00.{sender}", headers, key=str(n).encode())
        p.flush(30)
        routed, refused = outcome(tap, ids)
        kinds = {
            hdr(m, "ndxp-id"): hdr(m, "ndxp-kind")
            for m in tap.messages
            if m.topic() == "ndxp.out.000.00.00.H92"
        }
    finally:
        tap.close()
        router.stop()
    assert (len(routed), len(refused)) == (cap, cap // 2)
    notices = {mid for mid in routed if int(mid.rsplit("-", 1)[1]) % 2}
    assert notices and all(kinds[mid] == "notice" for mid in notices)


@STAGES
def test_exact_when_the_router_is_killed_mid_run(
    kafka: Broker, tmp_path: Path, ledger: LedgerProcess, stage: str
) -> None:
    cap, run, sender = 3000, uuid.uuid4().hex[:8], SENDERS["kill", stage]
    router = start_router(kafka, tmp_path, registry(sender, cap), f"quota-kill-{run}", stage)
    router.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    try:
        writer = send_as(kafka.bootstrap, sender, ids, 600, stage)
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


@STAGES
def test_exact_when_one_of_two_workers_dies(kafka: Broker, tmp_path: Path, stage: str) -> None:
    cap, run, sender = 3000, uuid.uuid4().hex[:8], SENDERS["pair", stage]
    doc = registry(sender, cap)
    group = f"quota-pair-{run}"
    first = start_router(kafka, tmp_path, doc, group, stage, "worker-1")
    second = start_router(kafka, tmp_path, doc, group, stage, "worker-2")
    first.wait_ready()
    second.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    try:
        writer = send_as(kafka.bootstrap, sender, ids, 600, stage)
        tap.collect(lambda ms: len(ms) >= cap // 6, timeout=60)
        victim = max((first, second), key=lambda w: (w.health() or {}).get("routed", 0))
        victim.kill9()
        survivor = second if victim is first else first
        assert writer.is_alive(), "the kill must land mid-run"
        writer.join()
        routed, refused = outcome(tap, ids, timeout=150)
    finally:
        tap.close()
        first.stop()
        second.stop()
    assert (len(routed), len(refused)) == (cap, cap // 2), survivor.complaints()
    assert not routed & refused
    # the router's recovery watch heals a stalled takeover in place (router/recovery_watch.py):
    # the stall itself must not happen, or the fix of its cause (faust_fixes.fetch_as_asked)
    # would regress unseen
    assert "table recovery read nothing" not in survivor.log.read_text(), survivor.complaints()


def test_inline_stage_refuses_a_request_off_its_clients_partition(
    kafka: Broker, tmp_path: Path
) -> None:
    """With the inline stage, a request under a limit must arrive on its client's partition:
    elsewhere it could be counted in two places. Refused MISPARTITIONED, with the partition
    to use; the others are routed."""
    run, sender = uuid.uuid4().hex[:8], "H87"
    router = start_router(kafka, tmp_path, registry(sender, 10_000), f"quota-mis-{run}", "inline")
    router.wait_ready()
    client = f"VN:GOV:000.00.00.{sender}:motcua"
    home = client_partition(client, CAPPED_PARTITIONS)
    ids = [f"{run}-{i}" for i in range(60)]
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    try:
        send_as(kafka.bootstrap, sender, ids, 2000, "home").join()  # keys spread: not by client
        got = tap.collect(lambda ms: len(ms) >= len(ids), timeout=60)
    finally:
        tap.close()
        router.stop()
    misplaced = {
        str(i) for i in range(len(ids)) if client_partition(str(i), CAPPED_PARTITIONS) != home
    }
    assert 0 < len(misplaced) < len(ids)
    refused = {hdr(m, "ndxp-id") for m in got if hdr(m, "ndxp-error") == "MISPARTITIONED"}
    routed = {hdr(m, "ndxp-id") for m in got if m.topic() == "ndxp.out.000.00.00.H92"}
    assert refused == {f"{run}-{n}" for n in misplaced}
    assert routed == set(ids) - refused
    detail = next(hdr(m, "ndxp-error-detail") for m in got if m.topic() == "ndxp.rejected")
    assert f"partition {home} of ndxp.in.000.00.00.{sender}" in (detail or "")


def test_the_senders_clock_does_not_decide_quotas(kafka: Broker, tmp_path: Path) -> None:
    """Finding 3: the token bucket and the daily cap took time from the sender's CreateTime,
    so requests back-dated (yesterday, 2001, 1970) or future-dated (next year) escaped today's
    cap. Ingress topics are stamped by the broker now (LogAppendTime): all of them count on
    today's cap, exactly, and each claim is kept as claimed."""
    cap, run, sender = 60, uuid.uuid4().hex[:8], "H61"
    router = start_router(kafka, tmp_path, registry(sender, cap), f"quota-clock-{run}", "home")
    router.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    now = int(time.time() * 1000)
    claims = [now - 86_400_000, 978_307_200_000, 1, now + 50 * 60_000, now + 86_400_000 * 365]
    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    p = producer(kafka.bootstrap)
    topic, client = f"ndxp.in.000.00.00.{sender}", f"VN:GOV:000.00.00.{sender}:motcua"
    try:
        for i, mid in enumerate(ids):
            claim = claims[i % len(claims)]  # as the Kafka timestamp and as ndxp-sent-at
            headers = request(mid, client, SERVICE, **{"ndxp-sent-at": str(claim)})
            send(p, topic, headers, timestamp_ms=claim)
        p.flush(30)
        routed, refused = outcome(tap, ids)
        claimed = {hdr(m, "ndxp-sent-at") for m in tap.messages if hdr(m, "ndxp-id") in routed}
        times = [m.timestamp()[1] for m in tap.messages if hdr(m, "ndxp-id") in routed]
    finally:
        tap.close()
        router.stop()
    assert (len(routed), len(refused)) == (cap, cap // 2)
    assert claimed == {str(c) for c in claims}  # each claim kept as claimed
    assert all(now - 60_000 <= t <= time.time() * 1000 for t in times)  # the platform's time


@pytest.mark.parametrize(
    ("sender", "second", "cost", "limit"),
    # a code nobody has; a connected province (each case its own sender: a router of a new
    # group reads its ingress topic from the start; and none of the sample registry's 63
    # provinces, H01-H63, whose ingress topics the session's sample-registry routers read)
    [
        ("H76", "000.00.00.H98", 1, "daily"),
        ("H70", "000.00.00.H93", 2, "daily"),  # H77: test_router
        ("H68", "000.00.00.H93", 2, "bytes"),
        ("H66", "000.00.00.H93", 2, "documents"),
    ],
)
def test_a_document_counts_once_per_receiver_it_is_delivered_to(
    kafka: Broker, tmp_path: Path, sender: str, second: str, cost: int, limit: str
) -> None:
    """A daily cap on the sender's overall limit, 1.5x as many documents, each to a province
    and to a second receiver, spread over the partitions (most re-homed): a document costs a
    unit per receiver that gets a copy, so exactly cap / cost are fanned out and the rest are
    refused QUOTA_EXCEEDED whole. An unknown receiver's refusal costs nothing (the document
    counts 1); a second province makes it 2 (it counted 1 whatever its receivers, so a
    sender's limits bounded its documents, not the copies the router writes). With a byte
    limit instead (``bytes``: a burst of cap - 0.5 documents' bytes that all but never
    refills), a document's bytes count once per receiver the same way. With the cap on a
    limit on documents instead (``documents``), the same, each refusal naming it, and the
    sender's requests, which it does not count, are still routed."""
    cap, run = 20, uuid.uuid4().hex[:8]
    doc = registry(sender, 10**6)
    value = b"{}" if limit == "daily" else bytes(10_000)
    client = f"VN:GOV:000.00.00.{sender}:motcua"

    def document_headers(n: int) -> list[tuple[str, bytes]]:
        doc_id = f"000.00.00.{sender},2022/03/15,{n + 1}/UBND-VP"
        return document(ids[n], client, doc_id, ["000.00.00.H92", second])

    ids = [f"{run}-{i}" for i in range(cap * 3 // 2)]
    if limit == "daily":
        doc["limits"][1]["daily"] = cap  # type: ignore[index]
    elif limit == "documents":
        doc["limits"].append(  # type: ignore[attr-defined]
            {
                "name": "sender-documents",
                "member": f"VN:GOV:000.00.00.{sender}",
                "descendants": True,
                "documents": True,
                "daily": cap,
            }
        )
    else:  # one document's bytes, as one copy takes them (its key, value and headers)
        one = 1 + len(value) + headers_size(document_headers(0))
        doc["limits"][1] |= {"bytes_rate": 0.001, "bytes_burst": cap * one - one // 2}  # type: ignore[index]
    doc["members"].append(  # type: ignore[attr-defined]
        {
            "id": "VN:GOV:000.00.00.H93",
            "name": "a second receiver (test)",
            "kind": "province_platform",
            "connected": True,
            "synthetic": True,
            "subsystems": [{"code": "vanthu"}],
        }
    )
    router = start_router(kafka, tmp_path, doc, f"quota-doc-{run}", "home")
    router.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    try:
        p = producer(kafka.bootstrap)
        for n in range(len(ids)):
            send(p, f"ndxp.in.000.00.00.{sender}", document_headers(n), value, str(n).encode())
        p.flush(30)

        def ids_of(ms: list, topic: str, error: str | None = None) -> set[str]:  # type: ignore[type-arg]
            return {
                hdr(m, "ndxp-id") or ""
                for m in ms
                if m.topic() == topic and (error is None or hdr(m, "ndxp-error") == error)
            } & set(ids)

        def decided(ms: list) -> bool:  # type: ignore[type-arg]
            delivered = ids_of(ms, "ndxp.out.000.00.00.H92")
            refused = ids_of(ms, "ndxp.rejected", "QUOTA_EXCEEDED")
            unknown = ids_of(ms, "ndxp.rejected", "UNKNOWN_RECEIVER")
            return delivered | refused == set(ids) and (cost > 1 or unknown >= delivered)

        got = tap.collect(decided, timeout=120)
        if limit == "documents":  # after the documents' refusals: a request still goes
            call = f"{run}-request"
            send(p, f"ndxp.in.000.00.00.{sender}", request(call, client, SERVICE), b"{}", b"r")
            p.flush(10)
            answered = tap.collect(
                lambda ms: any(hdr(m, "ndxp-id") == call for m in ms), timeout=60
            )
            assert [m.topic() for m in answered if hdr(m, "ndxp-id") == call] == [
                "ndxp.out.000.00.00.H92"
            ]
            # a request naming the service a limit on documents counts under: not a service
            forged = f"{run}-forged"
            send(p, f"ndxp.in.000.00.00.{sender}", request(forged, client, "documents"), b"{}")
            p.flush(10)
            seen = tap.collect(lambda ms: any(hdr(m, "ndxp-id") == forged for m in ms), 60)
            assert [
                (m.topic(), hdr(m, "ndxp-error")) for m in seen if hdr(m, "ndxp-id") == forged
            ] == [("ndxp.rejected", "MALFORMED")]
    finally:
        tap.close()
        router.stop()
    if limit == "documents":
        named = {
            hdr(m, "ndxp-quota-limit")
            for m in got
            if m.topic() == "ndxp.rejected" and hdr(m, "ndxp-error") == "QUOTA_EXCEEDED"
        }
        assert named == {"sender-documents"}
    copies = [m for m in got if m.topic() == "ndxp.out.000.00.00.H92" and hdr(m, "ndxp-id") in ids]
    quota = ids_of(got, "ndxp.rejected", "QUOTA_EXCEEDED")
    unknown = ids_of(got, "ndxp.rejected", "UNKNOWN_RECEIVER")
    delivered = {hdr(m, "ndxp-id") for m in copies}
    fanned = cap // cost
    assert (len(copies), len(delivered), len(quota)) == (fanned, fanned, len(ids) - fanned)
    assert not delivered & quota and delivered | quota == set(ids)
    assert all(hdr(m, "ndxp-doc-receiver") == "000.00.00.H92" for m in copies)
    assert unknown == (delivered if cost == 1 else set())


def test_a_byte_limit_routes_what_its_bytes_allow_and_says_so(
    kafka: Broker, tmp_path: Path
) -> None:
    """A byte bucket on the sender's overall limit that holds nine and a half requests of
    10 KB and all but never refills (0.001 byte a second): ten are routed (the tenth is
    admitted while a byte is left, and takes the bucket below zero), the other ten refused
    QUOTA_EXCEEDED, each saying the byte limit it met."""
    sender, run, value = "H69", uuid.uuid4().hex[:8], bytes(10_000)
    client = f"VN:GOV:000.00.00.{sender}:motcua"
    ids = [f"{run}-{i}" for i in range(20)]
    one = len(client) + len(value) + headers_size(request(ids[0], client, SERVICE))
    doc = registry(sender, 10**6)
    doc["limits"][1] |= {"bytes_rate": 0.001, "bytes_burst": one * 19 // 2}  # type: ignore[index]
    router = start_router(kafka, tmp_path, doc, f"quota-bytes-{run}", "home")
    router.wait_ready()
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H92", "ndxp.rejected"])
    try:
        p = producer(kafka.bootstrap)
        for mid in ids:
            send(
                p,
                f"ndxp.in.000.00.00.{sender}",
                request(mid, client, SERVICE),
                value,
                client.encode(),
            )
        p.flush(30)
        routed, refused = outcome(tap, ids)
        got = tap.messages
    finally:
        tap.close()
        router.stop()
    assert (len(routed), len(refused)) == (10, 10)
    assert routed == set(ids[:10])  # in the order they were sent: one partition, the home one
    policies = {hdr(m, "ndxp-quota-policy") for m in got if hdr(m, "ndxp-id") in refused}
    assert policies == {f"rate=100000/s;burst=100000;bytes=0.001/s;bytes_burst={one * 19 // 2}"}


def test_a_member_held_for_its_refusals_loses_nothing_when_a_worker_dies(
    kafka: Broker, tmp_path: Path
) -> None:
    """Two workers, each with an allowance of 200 refusals, then 100 a second (lowered from
    the defaults for the test); a member writes 4,000 requests naming a service nobody
    provides, over every partition. Both workers refuse their first poll's share and hold the
    member, its records waiting on the broker; one is killed with SIGKILL mid-hold. The other
    takes its partitions over and, at its own allowance's pace, every one of the 4,000 is
    refused with a dead letter (a record decided twice across the kill is written twice, the
    ledger's identity dedupes it); none is lost."""
    n, run, sender = 4_000, uuid.uuid4().hex[:8], "H84"  # H84: no other test sends as it
    doc = registry(sender, 10**6)
    allowance = {"NDXP_ROUTER_REFUSALS_BURST": "200", "NDXP_ROUTER_REFUSALS_RATE": "100"}
    group = f"held-pair-{run}"
    first = start_router(kafka, tmp_path, doc, group, "home", "worker-1", allowance)
    second = start_router(kafka, tmp_path, doc, group, "home", "worker-2", allowance)
    first.wait_ready()
    second.wait_ready()
    member = f"000.00.00.{sender}"
    tap = Tap(kafka.bootstrap, ["ndxp.rejected"])
    ids = [f"{run}-{i}" for i in range(n)]
    unknown = "VN:GOV:000.00.00.H92:dv:khong-co:v1"
    try:
        client = f"VN:GOV:{member}:motcua"
        stream(kafka.bootstrap, f"ndxp.in.{member}", client, unknown, ids, 20_000).join()
        held: dict[str, dict[str, float]] = {}
        deadline = time.time() + 60
        while not any(member in h for h in held.values()) and time.time() < deadline:
            for w in (first, second):
                held[w.log.name] = (w.health() or {}).get("held", {})
            time.sleep(0.1)
        assert any(member in h for h in held.values()), held
        victim = next(w for w in (first, second) if member in held[w.log.name])
        victim.kill9()
        survivor = second if victim is first else first
        want = set(ids)

        def all_refused(ms: list) -> bool:  # type: ignore[type-arg]
            return want <= {hdr(m, "ndxp-id") for m in ms}

        got = [m for m in tap.collect(all_refused, timeout=180) if hdr(m, "ndxp-id") in want]
    finally:
        tap.close()
        first.stop()
        second.stop()
    coordinates = {(hdr(m, "ndxp-source-partition"), hdr(m, "ndxp-source-offset")) for m in got}
    assert len(coordinates) == n, survivor.complaints()  # each record refused, none lost
    assert {hdr(m, "ndxp-error") for m in got} == {"UNKNOWN_SERVICE"}
    routed_ms = sorted(int(hdr(m, "ndxp-routed-at") or 0) for m in got)
    # at the allowances' pace, not the routers' (4,000 refusals in well under a second)
    assert routed_ms[-1] - routed_ms[0] >= 5_000, routed_ms[-1] - routed_ms[0]
