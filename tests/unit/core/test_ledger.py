import hashlib
from datetime import UTC, date, datetime

from ndxp.core.days import local_day
from ndxp.core.ledger import (
    COLUMNS,
    MAX_TEXT,
    MAX_TIME_MS,
    identity,
    ledger_row,
    quarantine_row,
    row_problem,
    unique_rows,
    unreadable,
)

IN_H41 = "ndxp.in.001.01.01.H41"
REQ = [
    ("ndxp-id", b"m-1"),
    ("ndxp-kind", b"request"),
    ("ndxp-client", b"VN:GOV:001.01.01.H41:motcua"),
    ("ndxp-service", b"VN:COM:0100109106-001:xacthuc:thong-bao"),
    ("ndxp-routed-at", b"1647000000456"),
    ("ndxp-route", b"0100109106"),
    ("x-other", b"\xff"),
    ("ndxp-source-topic", IN_H41.encode()),
    ("ndxp-source-partition", b"2"),
    ("ndxp-source-offset", b"41"),
    ("ndxp-sent-at", b"1500000000000"),
]


def as_dict(row: tuple) -> dict:  # type: ignore[type-arg]
    return dict(zip(COLUMNS, row, strict=True))


def test_routed_request_row() -> None:
    row = ledger_row("ndxp.out.0100109106", 2, 99, 1647000000123, b"payload", REQ)
    assert row is not None
    r = as_dict(row)
    assert r["message_id"] == "m-1" and r["kind"] == "request" and r["outcome"] == "routed"
    assert (r["client_member"], r["client_level1"], r["client_subsystem"]) == (
        "001.01.01.H41",
        "H41",
        "motcua",
    )
    assert (r["service_member"], r["service_level1"], r["service_code"], r["service_version"]) == (
        "0100109106-001",
        "0100109106",
        "thong-bao",
        "",
    )
    assert r["route"] == "0100109106"
    assert r["payload_size"] == 7
    assert r["payload_sha256"] == hashlib.sha256(b"payload").digest()
    # the platform's time of receipt (the copy's Kafka timestamp), the sender's claim apart
    assert (r["received_at"], r["produced_at"], r["routed_at"]) == (
        1647000000123,
        1500000000000,
        1647000000456,
    )
    assert (r["topic"], r["partition"], r["offset"]) == ("ndxp.out.0100109106", 2, 99)
    assert identity(row) == (IN_H41, 2, 41, "")
    assert b"payload" not in repr(row).encode()  # only its hash and size


def test_rejected_rows_keep_code_and_fall_back_to_ingress_coordinates() -> None:
    dead = [
        ("ndxp-kind", b"bogus"),
        ("ndxp-error", b"MALFORMED"),
        ("ndxp-error-detail", b"missing header ndxp-id"),
        ("ndxp-source-topic", b"ndxp.in.000.00.00.H41"),
        ("ndxp-source-partition", b"1"),
        ("ndxp-source-offset", b"77"),
        ("ndxp-routed-at", b"5"),
    ]
    r = as_dict(ledger_row("ndxp.rejected", 0, 3, 4, None, dead) or ())
    assert r["message_id"] == "ndxp.in.000.00.00.H41:1:77"
    assert (r["kind"], r["outcome"], r["error"]) == ("unknown", "rejected", "MALFORMED")
    assert (r["source_topic"], r["source_partition"], r["source_offset"]) == (
        "ndxp.in.000.00.00.H41",
        1,
        77,
    )
    assert r["client_member"] == "" and r["payload_size"] == 0
    assert r["produced_at"] is None  # no claim


def test_the_router_s_coordinates_are_the_identity_not_the_sender_s_id() -> None:
    """Two members sending the same ndxp-id make two ingress records: two identities. A copy
    of the same ingress record (a router redelivery) read from another egress offset has the
    same identity."""
    other = [(n, v) for n, v in REQ if not n.startswith("ndxp-source-")]
    other += [
        ("ndxp-source-topic", b"ndxp.in.000.00.00.H36"),
        ("ndxp-source-partition", b"2"),
        ("ndxp-source-offset", b"41"),
    ]
    a = ledger_row("ndxp.out.0100109106", 0, 1, 1000, b"a", REQ)
    b = ledger_row("ndxp.out.0100109106", 0, 2, 1000, b"b", other)  # same id, another member
    c = ledger_row("ndxp.out.0100109106", 1, 7, 1000, b"a", REQ)  # a redelivered copy of a
    assert a is not None and b is not None and c is not None
    assert a[0] == b[0] == c[0] == "m-1"
    assert identity(a) != identity(b) and identity(a) == identity(c)
    assert unique_rows([a, b, c]) == [a, b]


def test_records_without_the_router_s_coordinates_are_their_own_identity() -> None:
    plain = [(n, v) for n, v in REQ if not n.startswith("ndxp-source-")]
    forged = [*plain, ("ndxp-source-topic", b"x"), ("ndxp-source-partition", b"-1")]
    for headers in (plain, forged):
        row = ledger_row("ndxp.out.0100109106", 3, 12, 1000, b"", headers)
        assert row is not None and identity(row) == ("ndxp.out.0100109106", 3, 12, "")


def test_times_the_ledger_cannot_hold_are_quarantined_or_dropped_not_fatal() -> None:
    wild = [(n, v) for n, v in REQ if n not in ("ndxp-sent-at", "ndxp-routed-at")]
    wild += [("ndxp-sent-at", b"9" * 5000), ("ndxp-routed-at", str(2**62).encode())]
    row = ledger_row("ndxp.out.0100109106", 0, 1, 2**62, b"", wild)
    assert row is not None
    r = as_dict(row)
    assert r["produced_at"] is None  # a claim out of range is not kept as a time
    assert r["routed_at"] == 0
    assert row_problem(row) is not None and "outside" in (row_problem(row) or "")
    q = quarantine_row(row, row_problem(row) or "")
    assert q[:3] == ("ndxp.out.0100109106", 0, 1) and q[5] == 2**62
    ok = ledger_row("ndxp.out.0100109106", 0, 1, MAX_TIME_MS, b"", REQ)
    assert ok is not None and row_problem(ok) is None


def test_texts_a_sender_controls_are_clipped() -> None:
    huge = [(n, v) for n, v in REQ if n != "ndxp-client"] + [("ndxp-client", b"C" * 60000)]
    r = as_dict(ledger_row("ndxp.rejected", 0, 1, 1000, b"", huge) or ())
    assert len(r["client"]) == MAX_TEXT


def test_unreadable_records_become_quarantine_rows() -> None:
    q = unreadable("ndxp.out.x", 1, 2, None, b"abc", "why")
    assert q == ("ndxp.out.x", 1, 2, "why", "", 0, 3, hashlib.sha256(b"abc").digest())


def test_error_notices_and_other_topics_are_not_rows() -> None:
    notice = [("ndxp-id", b"n-1"), ("ndxp-kind", b"error"), ("ndxp-correlation-id", b"m-1")]
    assert ledger_row("ndxp.out.000.00.00.H41", 0, 0, 0, b"{}", notice) is None
    assert ledger_row("ndxp.in.000.00.00.H41", 0, 0, 0, b"", REQ) is None


def test_vietnamese_days() -> None:
    def ms(*args: int) -> int:
        return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)

    epoch = date(1970, 1, 1)
    assert local_day(ms(2022, 3, 31, 16, 59, 59)) == (date(2022, 3, 31) - epoch).days
    assert local_day(ms(2022, 3, 31, 17, 0, 0)) == (date(2022, 4, 1) - epoch).days


def test_a_documents_copies_are_a_row_each_keyed_by_receiver_too() -> None:
    """One ingress record of the document axis, a copy per receiver: the receiver (a valid
    agency code) is in the identity; for other kinds it is never taken, whatever the headers."""

    def copy(kind: bytes, receiver: bytes) -> tuple:  # type: ignore[type-arg]
        headers = [h for h in REQ if h[0] != "ndxp-kind"]
        headers += [("ndxp-kind", kind), ("ndxp-doc-receiver", receiver)]
        row = ledger_row("ndxp.out.000.00.00.H40", 0, 5, 1647000000123, b"<edXML/>", headers)
        assert row is not None
        return row

    to_h40, to_h42 = copy(b"document", b"000.00.00.H40"), copy(b"document", b"000.00.00.H42")
    assert as_dict(to_h40)["receiver"] == "000.00.00.H40"
    assert as_dict(to_h40)["kind"] == "document"
    assert identity(to_h40) == (IN_H41, 2, 41, "000.00.00.H40")
    assert identity(to_h40) != identity(to_h42)
    assert unique_rows([to_h40, to_h42, to_h40]) == [to_h40, to_h42]
    assert as_dict(copy(b"status", b"000.00.00.H42"))["receiver"] == "000.00.00.H42"
    # not an agency code, or not a document's kind: no receiver, the coordinates alone
    assert as_dict(copy(b"document", b"H40>x"))["receiver"] == ""
    request = copy(b"request", b"000.00.00.H40")
    assert as_dict(request)["receiver"] == "" and identity(request) == (IN_H41, 2, 41, "")


def _refused_receiver(code: bytes, kind: bytes, extra: list[tuple[str, bytes]]) -> dict:  # type: ignore[type-arg]
    dead = [
        ("ndxp-id", b"doc-1"),
        ("ndxp-kind", kind),
        *extra,
        ("ndxp-doc-receiver", b"000.00.00.H99"),
        ("ndxp-error", code),
        ("ndxp-source-topic", b"ndxp.in.000.00.00.G22"),
        ("ndxp-source-partition", b"0"),
        ("ndxp-source-offset", b"5"),
    ]
    return as_dict(ledger_row("ndxp.rejected", 0, 9, 4, b"", dead) or ())


def test_a_refused_receiver_whose_dead_letter_does_not_carry_the_document_records_its_size() -> (
    None
):
    """A document is kept once on ndxp.rejected: the dead letters of the other refused
    receivers carry its size and SHA-256, and their rows record those."""
    digest = hashlib.sha256(b"x" * 700).hexdigest().encode()
    kept = [("ndxp-payload-size", b"700"), ("ndxp-payload-sha256", digest)]
    for code in (b"UNKNOWN_RECEIVER", b"NO_ROUTE", b"SELF"):
        r = _refused_receiver(code, b"document", kept)
        assert r["payload_size"] == 700 and r["payload_sha256"] == bytes.fromhex(digest.decode())
    # a sender cannot set them (a record that does is refused MALFORMED, kept whole): any other
    # code, kind or a malformed value, and the row records what the record carries
    empty = hashlib.sha256(b"").digest()
    for code, kind, extra in (
        (b"MALFORMED", b"document", kept),
        (b"UNKNOWN_RECEIVER", b"request", kept),
        (b"UNKNOWN_RECEIVER", b"document", [("ndxp-payload-size", b"-1"), kept[1]]),
        (b"UNKNOWN_RECEIVER", b"document", [kept[0], ("ndxp-payload-sha256", b"zz" * 32)]),
        (b"UNKNOWN_RECEIVER", b"document", [("ndxp-payload-size", b"\xd9\xa1"), kept[1]]),
    ):
        r = _refused_receiver(code, kind, extra)
        assert (r["payload_size"], r["payload_sha256"]) == (0, empty), (code, kind, extra)


def test_every_column_made_from_a_header_is_read_and_other_headers_are_not() -> None:
    """A status's dead letter carries every header a row is made of: each reaches its column
    (the ledger decodes only the headers it reads); a header it does not read changes nothing."""
    status = [
        ("ndxp-id", b"st-1"),
        ("ndxp-kind", b"status"),
        ("ndxp-client", b"VN:GOV:000.00.00.H40:vanthu"),
        ("ndxp-correlation-id", b"doc-7"),
        ("ndxp-sent-at", b"1647000000001"),
        ("ndxp-doc-id", b"doc-7"),
        ("ndxp-doc-status", b"03"),
        ("ndxp-doc-receiver", b"000.00.00.H41"),
        ("ndxp-error", b"FORBIDDEN"),
        ("ndxp-error-detail", b"not a receiver of doc-7"),
        ("ndxp-route", b"000.00.00.H41"),
        ("ndxp-routed-at", b"1647000000002"),
        ("ndxp-source-topic", b"ndxp.in.000.00.00.H40"),
        ("ndxp-source-partition", b"1"),
        ("ndxp-source-offset", b"8"),
    ]
    r = as_dict(ledger_row("ndxp.rejected", 0, 3, 1647000000000, b"", status) or ())
    assert (r["message_id"], r["kind"], r["correlation_id"]) == ("st-1", "status", "doc-7")
    assert (r["client_member"], r["error"], r["error_detail"]) == (
        "000.00.00.H40",
        "FORBIDDEN",
        "not a receiver of doc-7",
    )
    assert (r["doc_id"], r["doc_status"], r["receiver"]) == ("doc-7", "03", "000.00.00.H41")
    assert (r["route"], r["produced_at"], r["routed_at"]) == (
        "000.00.00.H41",
        1647000000001,
        1647000000002,
    )
    assert (r["source_topic"], r["source_partition"], r["source_offset"]) == (
        "ndxp.in.000.00.00.H40",
        1,
        8,
    )
    others = [("ndxp-ticket", b"t1." + b"0" * 32), ("content-type", b"\xff"), ("ndxp-x", b"y")]
    again = ledger_row("ndxp.rejected", 0, 3, 1647000000000, b"", [*others, *status])
    assert as_dict(again or ()) == r
