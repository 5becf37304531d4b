"""The router's ingress stage on records as aiokafka hands them over (no broker): what it
stamps on the copies it writes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import orjson

from ndxp.core import wire
from ndxp.core.refusal_allowance import RefusalAllowance
from ndxp.core.routing import Router
from ndxp.core.ticket import Tickets, ticket_key
from ndxp.kafka import fair_drain
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry
from ndxp.router.delivery_table import DeliveryTable
from ndxp.router.forwarding import Outgoing
from ndxp.router.quota_changelog import QuotaChangelog
from ndxp.router.refusal import Output
from ndxp.router.route_stage import LOG_APPEND_TIME, Ingress, route
from ndxp.router.stats import RouterStats
from ndxp.router.status_stage import StatusStage

REGISTRY = load_registry(DEFAULT_REGISTRY)
IN_H41 = "ndxp.in.000.00.00.H41"


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_type: int = LOG_APPEND_TIME


def ingress(out: list[Outgoing]) -> Ingress:
    async def emit(o: Outgoing) -> None:
        out.append(o)

    return Ingress(
        Router(REGISTRY), Output(emit, RouterStats()), None, statuses(), False, 3, b"k" * 32
    )


def statuses() -> StatusStage:
    """The status stage with its table holding every partition, read empty."""
    table = DeliveryTable(3, empty)
    table.parts = {0: {}, 1: {}, 2: {}}
    return StatusStage(
        "ndxp-router-doc-events",
        3,
        b"k" * 32,
        table,
        QuotaChangelog(None, table, "c", lambda: None, raw=True),
    )


async def empty(_partition: int) -> dict[bytes, bytes]:
    return {}


def request(received_ms: int) -> Record:
    headers = [
        (wire.H_ID, b"rt-1"),
        (wire.H_KIND, b"request"),
        (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
        (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
    ]
    return Record(IN_H41, 0, 7, received_ms, b"VN:GOV:000.00.00.H41:motcua", b"{}", headers)


def test_a_routed_copy_says_when_it_was_routed_and_keeps_its_receipt() -> None:
    # a record the broker stamped a minute ago (a backlog): routed now, received then
    received = int(time.time() * 1000) - 60_000
    out: list[Outgoing] = []
    before = int(time.time() * 1000)
    asyncio.run(route(ingress(out), request(received)))
    [copy] = out
    headers = dict(copy.headers)
    assert int(headers[wire.H_ROUTED_AT] or b"0") >= before
    assert copy.timestamp_ms == received
    assert headers[wire.H_SOURCE_OFFSET] == b"7"


def feed(stage: Ingress, out: list[Outgoing], first: int) -> list[Outgoing]:
    """Read back what the router wrote on its events topic (as its consumer would, at offsets
    from ``first``) and return the rest of ``out``; what deciding them writes is in ``out``."""
    events = [o for o in out if o.topic == stage.statuses.topic]
    rest = [o for o in out if o.topic != stage.statuses.topic]
    out.clear()
    for offset, o in enumerate(events, start=first):
        record = Record(o.topic, o.partition or 0, offset, 0, o.key, o.value, list(o.headers))
        asyncio.run(route(stage, record))
    return rest


def test_a_document_then_its_statuses_through_the_status_stage() -> None:
    """G22 sends a document to H42; H42 reports 01 and 03, then 03 again, and H40 (not a
    receiver) reports 01: each status is decided on the events topic, against the delivery's
    record, and routed to G22 or refused to its giver."""
    doc_id = "000.00.00.G22,2022/03/15,123/VPCP-KSTT"
    out: list[Outgoing] = []
    stage = ingress(out)
    now = int(time.time() * 1000)
    headers = [
        (wire.H_ID, b"d-1"),
        (wire.H_KIND, b"document"),
        (wire.H_CLIENT, b"VN:GOV:000.00.00.G22:lgsp"),
        ("ndxp-doc-id", doc_id.encode()),
        ("ndxp-doc-to", b"000.00.00.H42"),
        ("ndxp-doc-type", b"CV"),
    ]
    asyncio.run(route(stage, Record("ndxp.in.000.00.00.G22", 1, 4, now, None, b"pkg", headers)))
    [event, copy] = out  # the delivery's event first, then the copy
    assert event.key == f"{doc_id}|000.00.00.H42".encode()
    assert copy.topic == "ndxp.out.000.00.00.H42"
    assert feed(stage, out, 0) == [copy] and out == []
    key = f"{doc_id}|000.00.00.H42".encode()
    assert stage.statuses.changelog.state(key)["d"] == 1  # type: ignore[index]

    def status(code: str, member: str, offset: int) -> None:
        h = [
            (wire.H_ID, f"s-{offset}".encode()),
            (wire.H_KIND, b"status"),
            (wire.H_CLIENT, f"VN:GOV:{member}:motcua".encode()),
            ("ndxp-doc-id", doc_id.encode()),
            ("ndxp-doc-receiver", member.encode()),
            ("ndxp-doc-status", code.encode()),
        ]
        asyncio.run(route(stage, Record(f"ndxp.in.{member}", 0, offset, now, None, None, h)))

    for offset, code in enumerate(["01", "03", "03"]):
        status(code, "000.00.00.H42", offset)
    status("01", "000.00.00.H40", 3)
    assert [o.topic for o in out] == [stage.statuses.topic] * 4
    assert feed(stage, out, 1) == []
    written = list(out)
    routed = [
        (o.topic, dict(o.headers)[wire.H_ID])
        for o in written
        if wire.H_ERROR not in dict(o.headers)
    ]
    assert routed == [("ndxp.out.000.00.00.G22", b"s-0"), ("ndxp.out.000.00.00.G22", b"s-1")]
    refused = [
        (o.topic, dict(o.headers)[wire.H_ERROR]) for o in written if wire.H_ERROR in dict(o.headers)
    ]
    assert refused == [
        ("ndxp.rejected", b"STATUS_REPEATED"),
        ("ndxp.out.000.00.00.H42", b"STATUS_REPEATED"),
        ("ndxp.rejected", b"STATUS_NO_DOCUMENT"),
        ("ndxp.out.000.00.00.H40", b"STATUS_NO_DOCUMENT"),
    ]
    assert stage.statuses.changelog.state(key)["s"] == "03"  # type: ignore[index]
    # the routed status keeps its ingress coordinates (the ledger's identity), not the event's
    assert dict(written[0].headers)[wire.H_SOURCE_TOPIC] == b"ndxp.in.000.00.00.H42"


def test_an_event_the_router_did_not_seal_is_kept_not_decided() -> None:
    out: list[Outgoing] = []
    stage = ingress(out)
    forged = [(wire.H_X_EVENT, b"delivered"), (wire.H_X_SEAL, b"00")]
    key = b"000.00.00.G22,2022/03/15,1/A|000.00.00.H42"
    asyncio.run(route(stage, Record(stage.statuses.topic, 0, 0, 0, key, None, forged)))
    [dead] = out
    assert dead.topic == "ndxp.rejected" and dict(dead.headers)[wire.H_ERROR] == b"MALFORMED"
    assert len(stage.statuses.table.data) == 0


def test_deliveries_finished_long_ago_leave_the_state_and_their_partitions_only() -> None:
    from ndxp.core.topology import client_partition
    from ndxp.router.status_stage import sweep

    stage = ingress([]).statuses
    finished = {"d": 1, "s": "06", "r": None, "t": 5, "h": [], "at": 1_000}
    keys = [f"000.00.00.G22,2022/03/15,{n}/A|000.00.00.H42".encode() for n in range(30)]
    for key in keys:
        stage.table.data[key] = orjson.dumps(finished)
    stage.table.data[b"open|000.00.00.H41"] = orjson.dumps({**finished, "s": "03"})
    stage.table.data[b"recent|000.00.00.H41"] = orjson.dumps({**finished, "at": 9_000})
    idle = [f"idle-{n}|000.00.00.H41".encode() for n in range(6)]  # open, quiet since 500
    for key in idle:
        stage.table.data[key] = orjson.dumps({**finished, "s": "03", "at": 500})
    mine = {0, 1}
    dropped = asyncio.run(sweep(stage, mine, cutoff_ms=5_000, open_cutoff_ms=800, chunk=7))
    ours = [k for k in keys + idle if client_partition(k.decode(), 3) in mine]
    assert any(k in ours for k in idle) and not all(k in ours for k in idle)
    assert 0 < dropped == len(ours) < len(keys)
    assert all(k not in stage.table.data for k in ours)
    assert set(stage.changelog.dirty) == set(ours)  # a tombstone each, with the next commit
    assert b"open|000.00.00.H41" in stage.table.data and b"recent|000.00.00.H41" in stage.table.data


def test_a_documents_event_written_to_an_ingress_topic_is_refused_not_decided() -> None:
    """An event the router sealed for its events topic, put on an ingress topic (copied by
    someone who could read the internal topic): its seal is right, but it is not a home copy;
    refused as a sender setting the router's headers."""
    from ndxp.router import status_stage
    from ndxp.router.forwarding import Source

    out: list[Outgoing] = []
    enforced: list[object] = []

    async def enforce(*args: object) -> None:
        enforced.append(args)

    async def emit(o: Outgoing) -> None:
        out.append(o)

    quota: Any = SimpleNamespace(enforce=enforce)  # quotas on: home copies are looked for
    stage = Ingress(
        Router(REGISTRY), Output(emit, RouterStats()), quota, statuses(), False, 3, b"k" * 32
    )
    event = status_stage.delivered(
        stage.statuses,
        "000.00.00.G22,2022/03/15,1/A",
        "000.00.00.H41",
        "000.00.00.H41",
        Source("ndxp.in.000.00.00.G22", 0, 1, 0),
    )
    record = Record(IN_H41, 0, 9, int(time.time() * 1000), event.key, None, list(event.headers))
    asyncio.run(route(stage, record))
    assert enforced == []  # not taken for a home copy: neither counted nor written again
    assert [o.topic for o in out] == ["ndxp.rejected", "ndxp.out.000.00.00.H41"]
    assert dict(out[0].headers)[wire.H_ERROR] == b"MALFORMED"


def test_a_member_whose_refusals_spent_their_allowance_is_held_and_counted() -> None:
    """Each refusal of a member's record spends its ingress topic's allowance; the one past it
    holds the topic in the fair drain (its records wait on the broker) and counts a hold. A
    refusal of a record of the router's own topics (a forged event) holds nothing."""
    out: list[Outgoing] = []

    async def emit(o: Outgoing) -> None:
        out.append(o)

    stats = RouterStats()
    output = Output(emit, stats, allowance=RefusalAllowance(rate=10, burst=2))
    stage = Ingress(Router(REGISTRY), output, None, statuses(), False, 3, b"k" * 32)
    unknown = [
        (k, b"VN:GOV:000.00.00.H42:none:none:v1" if k == wire.H_SERVICE else v)
        for k, v in request(0).headers
    ]
    fair_drain.release_all()
    try:
        for offset in range(2):
            asyncio.run(route(stage, Record(IN_H41, 0, offset, 0, None, b"{}", unknown)))
        assert fair_drain.holds(time.monotonic()) == {}  # the burst: 2
        asyncio.run(route(stage, Record(IN_H41, 0, 2, 0, None, b"{}", unknown)))
        [(topic, until)] = fair_drain.holds(time.monotonic()).items()
        assert topic == IN_H41 and 0 < until - time.monotonic() <= 0.1
        assert stats.refusal_holds.labels("000.00.00.H41")._value.get() == 1
        assert {o.topic for o in out} == {"ndxp.rejected", "ndxp.out.000.00.00.H41"}
        fair_drain.release_all()
        forged = [(wire.H_X_EVENT, b"delivered"), (wire.H_X_SEAL, b"00")]
        for offset in range(5):
            asyncio.run(
                route(stage, Record(stage.statuses.topic, 0, offset, 0, b"k", None, forged))
            )
        assert fair_drain.holds(time.monotonic()) == {}
    finally:
        fair_drain.release_all()


def test_a_requests_copy_carries_the_ticket_its_answer_must_echo() -> None:
    """ndxp.core.ticket through the stage: the request's copy carries its ticket; the
    provider's answer with it is routed to the client, the same answer without it refused
    UNSOLICITED (a dead letter and a notice to the provider); a notice's copy has none."""
    out: list[Outgoing] = []
    tickets = Tickets(ticket_key(b"k" * 32))
    stage = replace(ingress(out), router=Router(REGISTRY, tickets=tickets))
    asyncio.run(route(stage, request(int(time.time() * 1000))))
    [copy] = out
    ticket = dict(copy.headers)[wire.H_TICKET]
    assert ticket == tickets.stamp(
        "VN:GOV:000.00.00.H41:motcua", "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1", "rt-1"
    )
    answer = [
        (wire.H_ID, b"an-1"),
        (wire.H_KIND, b"response"),
        (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
        (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
        (wire.H_CORRELATION_ID, b"rt-1"),
    ]
    provider = "ndxp.in.000.00.01.G01"
    out.clear()
    asyncio.run(route(stage, Record(provider, 0, 3, 1, None, b"{}", [*answer])))
    assert [o.topic for o in out] == ["ndxp.rejected", "ndxp.out.000.00.01.G01"]
    assert dict(out[0].headers)[wire.H_ERROR] == b"UNSOLICITED"
    out.clear()
    echoed = [*answer, (wire.H_TICKET, ticket or b"")]
    asyncio.run(route(stage, Record(provider, 0, 4, 1, None, b"{}", echoed)))
    assert [o.topic for o in out] == ["ndxp.out.000.00.00.H41"]
    out.clear()
    notice = [(k, b"notice" if k == wire.H_KIND else v) for k, v in request(0).headers]
    asyncio.run(route(stage, Record(IN_H41, 0, 8, 1, None, b"{}", notice)))
    assert [o.topic for o in out] == ["ndxp.out.000.00.01.G01"]
    assert wire.H_TICKET not in dict(out[0].headers)
