"""The router through the real broker: routing, rejections, byte-for-byte forwarding, poison."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import pytest

from .conftest import Broker
from .kafka_tools import (
    CAPPED_PARTITIONS,
    RouterProcess,
    Tap,
    capped_registry,
    hdr,
    partition_count,
    producer,
    request,
    send,
)

pytestmark = pytest.mark.integration

IN_H41 = "ndxp.in.000.00.00.H41"
OUT_H41 = "ndxp.out.000.00.00.H41"
MOTCUA = "VN:GOV:000.00.00.H41:motcua"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


@pytest.mark.parametrize(
    ("service", "topic", "level"),
    [
        ("VN:GOV:000.00.00.H42:lgsp:tiep-nhan-ho-so:v1", "ndxp.out.000.00.00.H42", 1),
        (POP, "ndxp.out.000.00.01.G01", 2),  # connected level-2 national database
        ("VN:GOV:000.00.01.H41:hotich:xac-nhan-tinh-trang-hon-nhan:v1", OUT_H41, 2),
        ("VN:GOV:000.41.18.G12:tms:to-khai-le-phi-truoc-ba:v1", "ndxp.out.000.00.18.G12", 3),
        ("VN:GOV:000.01.01.H41:motcua:chung-thuc:v1", OUT_H41, 3),
        ("VN:GOV:001.01.01.H41:motcua:xac-nhan-cu-tru:v1", OUT_H41, 4),
    ],
)
def test_request_reaches_the_nearest_connected_ancestor(
    kafka: Broker, router: RouterProcess, service: str, topic: str, level: int
) -> None:
    tap = Tap(kafka.bootstrap, [topic])
    mid = uid(f"route-l{level}")
    p = producer(kafka.bootstrap)
    send(p, IN_H41, request(mid, "VN:GOV:001.01.01.H41:motcua", service))
    p.flush(10)
    got = tap.collect(lambda ms: any(hdr(m, "ndxp-id") == mid for m in ms))
    tap.close()
    [m] = [m for m in got if hdr(m, "ndxp-id") == mid]
    assert hdr(m, "ndxp-route") == topic.removeprefix("ndxp.out.")
    assert int(hdr(m, "ndxp-routed-at") or 0) >= m.timestamp()[1] - 1000


def test_response_goes_back_to_the_clients_platform(kafka: Broker, router: RouterProcess) -> None:
    """A request's copy carries its ticket; the provider's answer echoing it goes back to the
    client's platform. The same answer without it, with another request's or to an id no
    request carried is refused UNSOLICITED, told to the provider, never delivered
    (ndxp.core.ticket: answers nobody asked for)."""
    client = "VN:GOV:000.01.01.H41:motcua"
    calls = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01"])
    answers = Tap(kafka.bootstrap, [OUT_H41])
    mid, other = uid("asked"), uid("asked")
    p = producer(kafka.bootstrap)
    for m in (mid, other):
        send(p, IN_H41, request(m, client, POP))
    p.flush(10)
    got = calls.collect(lambda ms: {mid, other} <= {hdr(m, "ndxp-id") for m in ms})
    calls.close()
    tickets = {hdr(m, "ndxp-id"): hdr(m, "ndxp-ticket") for m in got}
    assert tickets[mid] and tickets[mid] != tickets[other]

    def answer(rid: str, corr: str, ticket: str | None) -> list[tuple[str, bytes]]:
        h = [
            ("ndxp-id", rid),
            ("ndxp-kind", "response"),
            ("ndxp-client", client),
            ("ndxp-service", POP),
            ("ndxp-correlation-id", corr),
        ]
        if ticket is not None:
            h.append(("ndxp-ticket", ticket))
        return [(k, v.encode()) for k, v in h]

    good, bad = uid("resp"), [uid("unasked") for _ in range(3)]
    notices = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01"])
    send(p, "ndxp.in.000.00.01.G01", answer(bad[0], mid, None))  # no ticket
    send(p, "ndxp.in.000.00.01.G01", answer(bad[1], mid, tickets[other]))  # another's
    send(p, "ndxp.in.000.00.01.G01", answer(bad[2], uid("never"), tickets[mid]))  # no request
    send(p, "ndxp.in.000.00.01.G01", answer(good, mid, tickets[mid]))
    p.flush(10)
    got = answers.collect(lambda ms: any(hdr(m, "ndxp-id") == good for m in ms))
    answers.close()
    [m] = [m for m in got if hdr(m, "ndxp-id") in {good, *bad}]  # the refused never arrive
    assert hdr(m, "ndxp-id") == good and hdr(m, "ndxp-correlation-id") == mid
    assert hdr(m, "ndxp-route") == "000.00.00.H41"
    told = notices.collect(
        lambda ms: {hdr(m, "ndxp-correlation-id") for m in ms} >= set(bad), timeout=30
    )
    notices.close()
    codes = {hdr(m, "ndxp-correlation-id"): hdr(m, "ndxp-error") for m in told}
    assert [codes.get(b) for b in bad] == ["UNSOLICITED"] * 3


def test_headers_key_and_value_forwarded_byte_for_byte(
    kafka: Broker, router: RouterProcess
) -> None:
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01"])
    mid = uid("bytes")
    claimed_ms = 1_700_000_000_123  # the sender's clock says 2023: a claim, kept as one
    headers = [
        *request(mid, MOTCUA, POP),
        ("ndxp-sent-at", str(claimed_ms).encode()),
        ("x-trace", b"\x00\xff\xfe binary"),
        ("x-trace", b"second"),
        ("x-empty", b""),
        ("Tiêu-đề", "giá trị".encode()),
    ]
    key = bytes(range(256))
    value = bytes(reversed(range(256))) * 40 + "dữ liệu".encode()
    p = producer(kafka.bootstrap)
    before = int(time.time() * 1000)
    send(p, IN_H41, headers, value=value, key=key, timestamp_ms=claimed_ms)
    p.flush(10)
    got = tap.collect(lambda ms: any(hdr(m, "ndxp-id") == mid for m in ms))
    tap.close()
    [m] = [m for m in got if hdr(m, "ndxp-id") == mid]
    assert m.key() == key
    assert m.value() == value
    # the copy's time is the platform's: the broker's, when the ingress topic took the request
    assert before - 1000 <= m.timestamp()[1] <= int(time.time() * 1000)
    out = m.headers() or []
    assert out[: len(headers)] == headers
    added = dict(out[len(headers) :])
    assert [k for k, _ in out[len(headers) :]] == [
        "ndxp-ticket",  # a request's: what its provider's answer echoes (ndxp.core.ticket)
        "ndxp-routed-at",
        "ndxp-route",
        "ndxp-source-topic",
        "ndxp-source-partition",
        "ndxp-source-offset",
    ]
    assert added["ndxp-ticket"].startswith(b"t1.")
    assert added["ndxp-source-topic"] == IN_H41.encode()
    assert int(added["ndxp-source-offset"]) >= 0


CASES = {
    "MALFORMED": ([("ndxp-id", b"@ID@"), ("ndxp-kind", b"request")], 10),
    "TOO_LARGE": (request("@ID@", MOTCUA, POP), 1024 * 1024 + 1),
    "UNKNOWN_CLIENT": (request("@ID@", "VN:GOV:000.00.00.H41:khong-co", POP), 10),
    "UNKNOWN_SERVICE": (request("@ID@", MOTCUA, "VN:GOV:000.00.01.G01:dancu:khong-co:v1"), 10),
    "NO_ROUTE": (request("@ID@", MOTCUA, "VN:GOV:000.00.00.K01:hethong:tra-cuu:v1"), 10),
    "NOT_SENDER": (request("@ID@", "VN:GOV:000.00.00.H42:motcua", POP), 10),
    # one province may not read another province's land data
    "FORBIDDEN": (
        request("@ID@", MOTCUA, "VN:GOV:000.00.00.H42:datdai:thong-tin-thua-dat:v1"),
        10,
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_every_rejection_is_kept_and_notified(
    kafka: Broker, router: RouterProcess, code: str
) -> None:
    template, size = CASES[code]
    mid = uid(code.lower())
    headers = [(k, v.replace(b"@ID@", mid.encode())) for k, v in template]
    value = b"v" * size
    tap = Tap(kafka.bootstrap, ["ndxp.rejected", OUT_H41])
    p = producer(kafka.bootstrap)
    last = partition_count(kafka.bootstrap, IN_H41) - 1  # the first is not the only one kept
    send(p, IN_H41, headers, value=value, key=b"key-" + code.encode(), partition=last)
    p.flush(10)

    def done(ms: list) -> bool:  # type: ignore[type-arg]
        return any(m.topic() == "ndxp.rejected" and hdr(m, "ndxp-id") == mid for m in ms) and any(
            m.topic() == OUT_H41 and hdr(m, "ndxp-correlation-id") == mid for m in ms
        )

    got = tap.collect(done)
    tap.close()
    [dead] = [m for m in got if m.topic() == "ndxp.rejected" and hdr(m, "ndxp-id") == mid]
    assert hdr(dead, "ndxp-error") == code
    assert hdr(dead, "ndxp-error-detail")
    assert hdr(dead, "ndxp-source-topic") == IN_H41
    assert hdr(dead, "ndxp-source-partition") == str(last)
    assert (hdr(dead, "ndxp-source-offset") or "").isdigit()
    assert dead.value() == value and dead.key() == b"key-" + code.encode()
    assert (dead.headers() or [])[: len(headers)] == headers
    [notice] = [m for m in got if m.topic() == OUT_H41 and hdr(m, "ndxp-correlation-id") == mid]
    assert hdr(notice, "ndxp-kind") == "error"
    assert hdr(notice, "ndxp-error") == code
    assert orjson.loads(notice.value())["error"] == code
    # nothing of it was routed anywhere else
    assert not [m for m in got if m.topic() == OUT_H41 and hdr(m, "ndxp-id") == mid]


def test_poison_messages_do_not_stall_their_partition(kafka: Broker, router: RouterProcess) -> None:
    tap = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01", "ndxp.rejected"])
    run = uid("poison")
    p = producer(kafka.bootstrap)
    poison: list[list[tuple[str, bytes | None]]] = [
        [],
        [("ndxp-id", b"\xff\xfe"), ("ndxp-kind", b"request")],
        [("ndxp-id", None), ("ndxp-kind", None)],
        [(f"h{i}", b"x") for i in range(2000)],
        [("ndxp-id", f"{run}-dup".encode()), ("ndxp-id", b"again"), ("ndxp-kind", b"request")],
        [*request(f"{run}-forged", MOTCUA, POP), ("ndxp-route", b"000.00.00.H42")],
        [("ndxp-id", f"{run}-kind".encode()), ("ndxp-kind", b"\x00" * 10000)],
    ]
    for headers in poison:
        send(p, IN_H41, headers, value=None, key=None, partition=0)
        for i in range(10):
            send(p, IN_H41, request(f"{run}-good-{len(headers)}-{i}", MOTCUA, POP), partition=0)
    p.flush(10)
    want = {f"{run}-good-{len(h)}-{i}" for h in poison for i in range(10)}
    got = tap.collect(lambda ms: want <= {hdr(m, "ndxp-id") for m in ms}, timeout=60)
    tap.close()
    assert want <= {hdr(m, "ndxp-id") for m in got if m.topic() != "ndxp.rejected"}
    rejected = [m for m in got if m.topic() == "ndxp.rejected"]
    assert len([m for m in rejected if hdr(m, "ndxp-source-topic") == IN_H41]) >= len(poison)
    health = router.health()
    assert health and health["rejected"].get("MALFORMED", 0) >= len(poison)


def test_an_ingress_topic_made_before_is_set_to_the_brokers_clock(
    kafka: Broker, tmp_path: Path
) -> None:
    """An ingress topic created with the sender's clock (CreateTime: by hand, or by an ndxp
    before this one) is set to LogAppendTime when a router starts, so no record on it takes
    the sender's time; its other configs are ndxp's."""
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    sender = "H77"  # used by this test only (not in the sample registry, nor other tests)
    topic = f"ndxp.in.000.00.00.{sender}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics(
        [NewTopic(topic, CAPPED_PARTITIONS, 1, config={"message.timestamp.type": "CreateTime"})]
    )[topic].result(30)
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(capped_registry(sender, 10)))
    r = RouterProcess(
        kafka.bootstrap,
        tmp_path / "router.log",
        env={"NDXP_VAR": str(tmp_path), "NDXP_PARTITIONS": str(CAPPED_PARTITIONS)},
        registry=path,
        group=f"clock-{uuid.uuid4().hex[:8]}",
    )
    r.start()
    try:
        r.wait_ready()
    finally:
        r.stop()
    [future] = admin.describe_configs([ConfigResource("topic", topic)]).values()
    configs = {k: v.value for k, v in future.result(30).items()}
    assert configs["message.timestamp.type"] == "LogAppendTime"
    assert configs["max.message.bytes"] == str(4 * 1024 * 1024)


def test_a_router_given_another_partition_count_than_its_topics_refuses_to_start(
    kafka: Broker, tmp_path: Path
) -> None:
    """Topics keep the count they were created with: a router given another (NDXP_PARTITIONS)
    would place clients' requests on the wrong home partitions. It says so and exits."""
    from confluent_kafka.admin import AdminClient, NewTopic

    member = "VN:GOV:000.00.00.H78"  # used by this test only (no other test names H78)
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    topics = ["ndxp.in.000.00.00.H78", "ndxp.out.000.00.00.H78"]
    for future in admin.create_topics([NewTopic(t, 3, 1) for t in topics]).values():
        future.result(30)
    registry = {
        "version": "partitions-test",
        "members": [
            {
                "id": member,
                "name": "a member (test)",
                "kind": "province_platform",
                "connected": True,
                "synthetic": True,
                "subsystems": [{"code": "motcua"}],
            }
        ],
        "access": [],
        "limits": [],
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(registry))
    r = RouterProcess(
        kafka.bootstrap,
        tmp_path / "router.log",
        env={"NDXP_VAR": str(tmp_path), "NDXP_PARTITIONS": "2"},
        registry=path,
        group=f"partitions-{uuid.uuid4().hex[:8]}",
    )
    r.start()
    try:
        assert r.proc is not None
        assert r.proc.wait(90) != 0
    finally:
        r.stop()
    log = (tmp_path / "router.log").read_text()
    assert "NDXP_PARTITIONS does not match the topics on the broker" in log
    assert "ndxp.in.000.00.00.H78 has 3 partitions, not 2" in log


def test_a_members_flood_waits_in_its_own_backlog(kafka: Broker, router: RouterProcess) -> None:
    """Fair scheduling (kafka/fair_drain.py, router/runs.py) and the refusal allowance
    (core/refusal_allowance.py), at the defaults: one member floods its ingress partition with
    small zstd requests it has no grant for (~4 B each on the wire, refused); another member's
    request sent right after is routed long before the flood is worked off, and the flood is
    refused at the allowance's pace (10,000, then 1,000 a second), not the router's.
    First come, first served (``NDXP_FETCH_FAIR=off NDXP_ROUTER_QUEUED_RECORDS=0``) the router
    routed ~30,000 of a 100,000-record flood's before it; fair, a few hundred. Without the
    allowance the router refused the whole flood at its full speed (7,000-10,000 a second
    here), every other member's calls waiting behind its work."""
    flood, run = 30_000, uid("flood")
    forbidden = "VN:GOV:000.00.00.H42:datdai:thong-tin-thua-dat:v1"
    notices = Tap(kafka.bootstrap, [OUT_H41])
    answers = Tap(kafka.bootstrap, ["ndxp.out.000.00.01.G01"])
    p = producer(kafka.bootstrap, {"compression.type": "zstd", "linger.ms": 20})
    for n in range(flood):
        send(p, IN_H41, request(f"{run}-{n}", MOTCUA, forbidden), value=b"", key=MOTCUA.encode())
        if n % 10_000 == 0:
            p.poll(0)
    p.flush(60)
    other = f"{run}-other"
    h40 = "VN:GOV:000.00.00.H40:motcua"
    send(p, "ndxp.in.000.00.00.H40", request(other, h40, POP), key=h40.encode())
    p.flush(10)
    collected = answers.collect(lambda ms: any(hdr(m, "ndxp-id") == other for m in ms), 120)
    answers.close()
    [answer] = [m for m in collected if hdr(m, "ndxp-id") == other]
    routed_at = int(hdr(answer, "ndxp-routed-at") or 0)
    received_at = answer.timestamp()[1]  # the broker's time of receipt, which the copy keeps
    held: dict[str, float] = {}
    deadline = time.time() + 30
    while "000.00.00.H41" not in held and time.time() < deadline:  # health names it, a while
        with urllib.request.urlopen(f"http://127.0.0.1:{router.web_port}/health") as r:
            held = json.loads(r.read())["held"]
        time.sleep(0.2)
    assert 0 < held.get("000.00.00.H41", 0) <= 5, held

    def refused(ms: list) -> list:  # type: ignore[type-arg]
        prefix = f"{run}-"
        return [m for m in ms if (hdr(m, "ndxp-correlation-id") or "").startswith(prefix)]

    got = refused(notices.collect(lambda ms: len(refused(ms)) >= flood, timeout=300))
    notices.close()
    assert len(got) == flood  # all of the flood refused, in the end: held, never dropped
    assert {hdr(m, "ndxp-error") for m in got} == {"FORBIDDEN"}
    # the flood's records routed while the other request waited (its receipt to its routing):
    # what was queued for the agent (500) and a poll or two; first come, first served, the
    # flood's fetch and a stream buffer of its runs (~30,000 here)
    times = sorted(int(hdr(m, "ndxp-routed-at") or 0) for m in got)
    went_first = sum(1 for t in times if received_at <= t < routed_at)
    assert went_first < 5_000, f"{went_first:,} of the flood's records went first"
    # the allowance: 10,000 at first, then 1,000 a second, with what a hold lets past it (a
    # poll's share and the queued records, ~1,500 each time); the router alone refuses the
    # flood in a few seconds
    span_s = (times[-1] - times[0]) / 1000
    assert span_s >= (flood - 10_000 - 3_000) / 1_000, f"refused in {span_s:.1f} s"
    for seconds in (2, 5, 10):
        by_then = sum(1 for t in times if t <= times[0] + seconds * 1000)
        assert by_then <= 10_000 + 1_000 * seconds + 3_000, (seconds, by_then)
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{router.web_port}/metrics").read()
    holds = [
        line
        for line in metrics.decode().splitlines()
        if line.startswith('ndxp_router_refusal_holds_total{member="000.00.00.H41"}')
    ]
    assert holds and float(holds[0].rpartition(" ")[2]) >= 1


def log_bytes(kafka: Broker, topic: str) -> int:
    """What ``topic``'s partitions take in the broker's log files (``kafka.sh``'s data)."""
    port = kafka.bootstrap.rpartition(":")[2]
    data = kafka.var / f"kafka-{port}" / "data"
    return sum(f.stat().st_size for f in data.glob(f"{topic}-*/*.log"))


def test_a_compressed_record_takes_about_its_sender_s_bytes_on_the_receiver_s_topic(
    kafka: Broker, router: RouterProcess
) -> None:
    """A member's zstd batch of 1 MiB values of zeros takes ~100 bytes a record on its ingress
    topic, as the broker's byte quota counts it. The router reads each value whole and wrote
    it uncompressed: 8 MiB on the receiver's topic for 8 records (10,000 times what the
    sender wrote). Its batches are zstd now (``NDXP_ROUTER_COMPRESSION``)."""
    service, receiver = "VN:GOV:000.00.00.H42:lgsp:tiep-nhan-ho-so:v1", "ndxp.out.000.00.00.H42"
    zeros, n = bytes(1024 * 1024), 8
    tap = Tap(kafka.bootstrap, [receiver])
    sent_before, routed_before = log_bytes(kafka, IN_H41), log_bytes(kafka, receiver)
    p = producer(kafka.bootstrap, {"compression.type": "zstd", "linger.ms": 50})
    ids = [uid("zeros") for _ in range(n)]
    for mid in ids:
        send(p, IN_H41, request(mid, MOTCUA, service), zeros, MOTCUA.encode())
    assert p.flush(30) == 0
    got = tap.collect(lambda ms: {hdr(m, "ndxp-id") for m in ms} >= set(ids))
    tap.close()
    copies = [m for m in got if hdr(m, "ndxp-id") in ids]
    assert len(copies) == n and all(m.value() == zeros for m in copies)  # routed whole
    sent = log_bytes(kafka, IN_H41) - sent_before
    routed_bytes = log_bytes(kafka, receiver) - routed_before
    assert sent < 16 * 1024, sent  # what the sender's byte quota counts
    assert routed_bytes < n * 16 * 1024, routed_bytes  # not n MiB


def test_a_home_copy_written_again_with_other_headers_or_value_is_refused(
    kafka: Broker, router: RouterProcess
) -> None:
    """A hostile run (2026-12-06): whoever could read a home copy (plain mode: anyone) could
    write it again with other sender headers in front of its sealed internal ones: an answer
    nobody asked for, without a ticket, was routed under the copy's sealed route and identity
    (and the ledger, taking it for a duplicate, kept no row). The seal covers the sender's
    headers and the value now: such a copy is refused MALFORMED, on the record, and delivers
    nothing."""
    g01_in, client = "ndxp.in.000.00.01.G01", "VN:GOV:000.00.01.G01:dancu"
    lgsp = "VN:GOV:000.00.00.H41:lgsp:tiep-nhan-ho-so:v1"  # under the government clients' limit
    ingress = Tap(kafka.bootstrap, [g01_in])
    run = uid("home")
    p = producer(kafka.bootstrap)
    for i in range(12):  # keyed by anything but the client id: most land off its home partition
        send(p, g01_in, request(f"{run}-{i}", client, lgsp), key=f"{run}-k{i}".encode())
    p.flush(10)
    got = ingress.collect(lambda ms: any(is_sealed(m) for m in ms), timeout=30)
    ingress.close()
    [copy, *_] = [m for m in got if is_sealed(m)]
    internal = [(k, v) for k, v in copy.headers() or [] if k.startswith("ndxp-x-")]
    forged_answer = [
        (k, v.encode())
        for k, v in [
            ("ndxp-id", f"{run}-answer"),
            ("ndxp-kind", "response"),
            ("ndxp-client", MOTCUA),
            ("ndxp-service", POP),
            ("ndxp-correlation-id", f"{run}-nobody-asked"),
        ]
    ]
    own = [(k, v) for k, v in copy.headers() or [] if not k.startswith("ndxp-x-")]
    other_id = [(k, f"{run}-again".encode() if k == "ndxp-id" else v) for k, v in own]
    forged = {f"{run}-answer": forged_answer + internal, f"{run}-again": other_id + internal}
    taps = Tap(kafka.bootstrap, [OUT_H41, "ndxp.rejected"])
    for headers in forged.values():
        send(p, g01_in, headers, value=copy.value(), key=copy.key(), partition=copy.partition())
    send(
        p,
        g01_in,
        own + internal,
        value=b"another value",
        key=copy.key(),
        partition=copy.partition(),
    )
    p.flush(10)
    seen = taps.collect(
        lambda ms: (
            sum(
                1
                for m in ms
                if m.topic() == "ndxp.rejected" and (hdr(m, "ndxp-id") or "").startswith(run)
            )
            >= 3
        ),
        timeout=30,
    )
    taps.close()
    mine = [m for m in seen if (hdr(m, "ndxp-id") or "") in {*forged, hdr(copy, "ndxp-id")}]
    dead = [m for m in mine if m.topic() == "ndxp.rejected"]
    assert len(dead) == 3 and {hdr(m, "ndxp-error") for m in dead} == {"MALFORMED"}
    assert not [m for m in mine if m.topic() == OUT_H41 and hdr(m, "ndxp-id") in forged]


def is_sealed(m: object) -> bool:
    headers = m.headers() or []  # type: ignore[attr-defined]
    return bool(headers) and headers[-1][0] == "ndxp-x-seal"
