"""Round trips matched from ledger rows: honest keys, first response only, bounded memory and
labels."""

from __future__ import annotations

import gc
import itertools
import tracemalloc

from ndxp.core import wire
from ndxp.core.ledger import COLUMNS, Row, ledger_row
from ndxp.core.round_trips import ENTRY_BYTES, OTHER, RoundTrips

H41 = "VN:GOV:000.00.00.H41:motcua"  # client, member 000.00.00.H41
G05 = "VN:GOV:000.00.00.G05:lgsp"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"  # provider 000.00.01.G01
TAX = "VN:GOV:000.00.00.G12:thue:tra-cuu:v1"
T0 = 1_800_000_000_000
_offsets = itertools.count()


def routed_row(
    kind: str,
    mid: str,
    client: str,
    service: str,
    received_ms: int,
    routed_ms: int | None = None,
    correlation: str | None = None,
    topic: str = "ndxp.out.000.00.01.G01",
) -> Row:
    """The ledger row of a router's routed copy (as the sink makes it from the record)."""
    headers = [
        (wire.H_ID, mid),
        (wire.H_KIND, kind),
        (wire.H_CLIENT, client),
        (wire.H_SERVICE, service),
        *([(wire.H_CORRELATION_ID, correlation)] if correlation is not None else []),
        (wire.H_ROUTED_AT, str(routed_ms if routed_ms is not None else received_ms)),
        (wire.H_ROUTE, topic.removeprefix(wire.EGRESS_PREFIX)),
        (wire.H_SOURCE_TOPIC, "ndxp.in.000.00.00.H41"),
        (wire.H_SOURCE_PARTITION, "0"),
        (wire.H_SOURCE_OFFSET, str(next(_offsets))),
    ]
    encoded = [(k, v.encode()) for k, v in headers]
    row = ledger_row(topic, 0, next(_offsets), received_ms, b"{}", encoded)
    assert row is not None
    return row


def request(mid: str, at: int, client: str = H41, service: str = POP) -> Row:
    return routed_row("request", mid, client, service, at, at + 1)


def response(corr: str, routed: int, client: str = H41, service: str = POP) -> Row:
    return routed_row(
        "response",
        f"resp-{corr}",
        client,
        service,
        routed - 1,
        routed,
        corr,
        "ndxp.out.000.00.00.H41",
    )


def test_a_response_completes_its_request_s_round_trip_once() -> None:
    trips = RoundTrips()
    assert trips.see(request("r1", T0)) is None
    assert trips.see(response("r1", T0 + 250)) == ("000.00.00.H41", 0.25)
    # a duplicate or a replay of the response finds nothing left to complete
    assert trips.see(response("r1", T0 + 900)) is None
    assert trips.matched == 1 and not trips.waiting and len(trips.early) == 1


def test_a_response_read_before_its_request_is_matched_when_the_request_comes() -> None:
    trips = RoundTrips()
    assert trips.see(response("r2", T0 + 40)) is None
    assert trips.see(request("r2", T0)) == ("000.00.00.H41", 0.04)
    assert not trips.early and not trips.waiting


def test_ids_are_matched_only_within_one_client_and_one_service() -> None:
    trips = RoundTrips()
    trips.see(request("same-id", T0, client=H41))
    trips.see(request("same-id", T0 + 5, client=G05))
    # a provider answering another service's request id, or the right id for another client
    assert trips.see(response("same-id", T0 + 10, client=H41, service=TAX)) is None
    done = trips.see(response("same-id", T0 + 30, client=G05))
    assert done == ("000.00.00.G05", 0.025)
    assert trips.see(response("same-id", T0 + 70, client=H41)) == ("000.00.00.H41", 0.07)


def test_a_reused_id_while_the_first_waits_keeps_the_first_time_of_receipt() -> None:
    trips = RoundTrips()
    trips.see(request("retry", T0))
    trips.see(request("retry", T0 + 2000))  # the client's retry with the same id
    assert trips.see(response("retry", T0 + 2500)) == ("000.00.00.H41", 2.5)


def test_only_routed_requests_and_responses_count() -> None:
    trips = RoundTrips()
    rejected = list(request("x", T0))
    rejected[COLUMNS.index("outcome")] = "rejected"
    assert trips.see(tuple(rejected)) is None
    assert trips.see(response("x", T0 + 10)) is None  # waits as an early response
    assert trips.matched == 0 and not trips.waiting


def test_a_response_routed_before_its_request_was_received_counts_as_zero() -> None:
    trips = RoundTrips()
    trips.see(request("skew", T0 + 5))  # two routers' clocks a few ms apart
    assert trips.see(response("skew", T0 + 3)) == ("000.00.00.H41", 0.0)


def test_requests_unanswered_past_the_age_limit_are_given_up_and_counted() -> None:
    trips = RoundTrips(max_age_ms=60_000)
    trips.see(request("old", T0))
    trips.see(request("new", T0 + 60_001))
    trips.expire()
    assert trips.dropped == {"unanswered": 1, "capacity": 0}
    assert trips.see(response("old", T0 + 60_002)) is None
    assert trips.see(response("new", T0 + 60_101)) == ("000.00.00.H41", 0.1)


def test_when_full_the_oldest_requests_go_first_and_are_counted() -> None:
    trips = RoundTrips(max_bytes=120 * ENTRY_BYTES)
    n = trips.max_requests
    assert n == 108  # nine tenths of the bytes; the rest for early responses
    for i in range(n + 50):
        trips.see(request(f"f{i}", T0 + i))
    assert len(trips.waiting) == n
    assert trips.dropped == {"unanswered": 0, "capacity": 50}
    assert trips.see(response("f49", T0 + 500)) is None
    assert trips.see(response("f50", T0 + 500)) == ("000.00.00.H41", 0.45)


def test_client_member_labels_are_capped() -> None:
    trips = RoundTrips(max_members=2)
    assert [trips.member(m) for m in ("A", "B", "C", "A", "")] == ["A", "B", OTHER, "A", OTHER]


def test_a_flood_of_long_ids_stays_within_the_byte_bound() -> None:
    """300,000 requests with 128-character ids and 1,024-character names (the most a ledger
    row keeps), never answered: the tracker holds at most ``max_bytes``."""
    max_bytes = 8 * 1024 * 1024
    trips = RoundTrips(max_bytes=max_bytes, max_age_ms=10**12)
    client, service = "C" * 1024, "S" * 1024
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(300_000):
            trips.see(_bare_request(f"{i:0128d}", client, service, T0 + i))
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(trips.waiting) == trips.max_requests
    assert trips.dropped["capacity"] == 300_000 - trips.max_requests
    assert held - base <= max_bytes
    assert peak - base <= max_bytes


def _bare_request(mid: str, client: str, service: str, at: int) -> Row:
    """A request row with the columns the tracker reads, cheap to make by the hundred
    thousand."""
    row = dict.fromkeys(COLUMNS, "")
    row |= {"message_id": mid, "kind": "request", "outcome": "routed", "client": client}
    row |= {"client_member": "000.00.00.H41", "service": service}
    row |= {"received_at": at, "routed_at": at}
    return tuple(row.values())


def test_the_bare_row_reads_as_a_real_one() -> None:
    trips = RoundTrips()
    trips.see(_bare_request("m", H41, POP, T0))
    assert trips.see(response("m", T0 + 7)) == ("000.00.00.H41", 0.007)
