import orjson

from ndxp.core import wire
from ndxp.core.errors import RejectionCode
from ndxp.core.identifiers import MemberId
from ndxp.core.routing import Rejected
from ndxp.router.forwarding import (
    Source,
    from_home,
    is_home_copy,
    producible,
    rejection_records,
    routed,
    to_home,
    writable_names,
)

SRC = Source("ndxp.in.000.00.00.H41", 2, 41, 1700000000123)

H41 = MemberId.parse("VN:GOV:000.00.00.H41")
ORIGINAL = [("ndxp-id", b"m-1"), ("x-trace", b"\x00\xff"), ("x-trace", b"2")]
COORDINATES = [
    (wire.H_SOURCE_TOPIC, b"ndxp.in.000.00.00.H41"),
    (wire.H_SOURCE_PARTITION, b"2"),
    (wire.H_SOURCE_OFFSET, b"41"),
]


def test_the_routed_copy_keeps_the_originals_and_adds_the_platform_s_identity_and_time() -> None:
    out = routed("ndxp.out.000.00.01.G01", b"k", b"v", ORIGINAL, "000.00.01.G01", SRC, 1234)
    assert (out.topic, out.key, out.value) == ("ndxp.out.000.00.01.G01", b"k", b"v")
    assert out.headers[:3] == ORIGINAL
    assert out.headers[3:] == [
        (wire.H_ROUTED_AT, b"1234"),
        (wire.H_ROUTE, b"000.00.01.G01"),
        *COORDINATES,
    ]
    assert out.timestamp_ms == 1700000000123  # the platform's time of receipt


def test_rejection_gives_a_dead_letter_copy_and_a_notice() -> None:
    d = Rejected(RejectionCode.NO_ROUTE, "no connected member", "m-1", H41)
    dead, notice = rejection_records(d, SRC, b"k", b"payload", ORIGINAL, 99)
    assert dead.topic == wire.REJECTED_TOPIC
    assert (dead.key, dead.value) == (b"k", b"payload")
    assert dead.headers[:3] == ORIGINAL
    assert dict(dead.headers[3:]) == {
        wire.H_ERROR: b"NO_ROUTE",
        wire.H_ERROR_DETAIL: b"no connected member",
        **dict(COORDINATES),
        wire.H_ROUTED_AT: b"99",
    }
    assert dead.timestamp_ms == notice.timestamp_ms == 1700000000123
    assert notice.topic == "ndxp.out.000.00.00.H41"
    h = dict(notice.headers)
    assert h[wire.H_KIND] == b"error"
    assert h[wire.H_CORRELATION_ID] == b"m-1"
    assert h[wire.H_ERROR] == b"NO_ROUTE"
    assert h[wire.H_ID] != b"m-1"
    assert all(h[n] == v for n, v in COORDINATES)  # the notice names the record it refuses
    assert b"payload" not in (notice.value or b"")  # the notice never echoes the payload
    assert orjson.loads(notice.value or b"") == {
        "error": "NO_ROUTE",
        "detail": "no connected member",
        "id": "m-1",
    }


def test_a_notice_s_id_is_its_refusal_s_the_same_when_decided_again() -> None:
    """Derived from the refused record's coordinates, its code and a document's receiver: a
    redelivery refused again has the same id, and each receiver's refusal its own."""

    def notice_id(
        source: Source, code: RejectionCode = RejectionCode.NO_ROUTE, receiver: bytes = b""
    ) -> bytes | None:
        d = Rejected(code, "refused", "m-1", H41)
        extra = [(wire.H_DOC_RECEIVER, receiver)] if receiver else []
        _, notice = rejection_records(d, source, b"k", b"v", ORIGINAL, 99, extra)
        return dict(notice.headers)[wire.H_ID]

    first = notice_id(SRC)
    assert first is not None and len(first) == 32 and int(first, 16) >= 0
    assert notice_id(SRC) == first  # decided again, at another time: the same notice
    others = [
        notice_id(Source(SRC.topic, SRC.partition, SRC.offset + 1, SRC.received_ms)),
        notice_id(Source(SRC.topic, SRC.partition + 1, SRC.offset, SRC.received_ms)),
        notice_id(Source("ndxp.in.000.00.00.H42", SRC.partition, SRC.offset, SRC.received_ms)),
        notice_id(SRC, RejectionCode.FORBIDDEN),
        notice_id(SRC, receiver=b"000.00.00.H42"),
        notice_id(SRC, receiver=b"000.00.00.H43"),
    ]
    assert len({first, *others}) == 1 + len(others)


def test_no_notice_without_a_connected_sender_and_no_correlation_without_an_id() -> None:
    d = Rejected(RejectionCode.NOT_SENDER, "x", None, None)
    assert len(rejection_records(d, SRC, None, None, [], 1)) == 1
    d = Rejected(RejectionCode.MALFORMED, "x", None, H41)
    _, notice = rejection_records(d, SRC, None, None, [], 1)
    assert wire.H_CORRELATION_ID not in dict(notice.headers)


def test_a_key_over_its_limit_is_kept_in_the_dead_letter_copy_not_in_the_notice() -> None:
    d = Rejected(RejectionCode.TOO_LARGE, "key is 4097 bytes, the limit is 4096", "m-1", H41)
    big = b"k" * (wire.MAX_KEY_BYTES + 1)
    dead, notice = rejection_records(d, SRC, big, b"{}", ORIGINAL, 1)
    assert dead.key == big and notice.key is None
    _, notice = rejection_records(d, SRC, big[:-1], b"{}", ORIGINAL, 1)
    assert notice.key == big[:-1]


def test_details_are_clipped_to_a_thousand_characters() -> None:
    d = Rejected(RejectionCode.MALFORMED, "d" * 5000, None, H41)
    dead, notice = rejection_records(d, SRC, None, None, [], 1)
    detail = dict(dead.headers)[wire.H_ERROR_DETAIL] or b""
    assert len(detail.decode()) == 1001  # 1000 and an ellipsis
    assert orjson.loads(notice.value or b"")["detail"] == detail.decode()


def test_header_names_that_were_not_utf8_are_written_with_question_marks_same_size() -> None:
    bad = b"\xff\xfeab".decode("utf-8", "surrogateescape")
    headers = [("x-ok", b"1"), (bad, b"v"), ("đ", None)]
    out = writable_names(headers)
    assert out == [("x-ok", b"1"), ("??ab", b"v"), ("đ", None)]
    assert writable_names(ORIGINAL) is ORIGINAL  # nothing to do: no copy
    d = Rejected(RejectionCode.MALFORMED, "a header name is not UTF-8 (ff fe 61 62)", None, H41)
    dead, _ = rejection_records(d, SRC, None, b"", headers, 1)
    assert dead.headers[:3] == out


def test_a_home_copy_carries_what_the_quota_stage_needs_under_the_routers_seal() -> None:
    client, key = "VN:GOV:000.00.00.H41:motcua", b"the router's key"
    copy = to_home(client, 2, "G01", SRC, None, b"v", ORIGINAL, key)
    assert (copy.topic, copy.partition) == (SRC.topic, 2)  # the same ingress topic, home
    assert copy.key == client.encode() and copy.timestamp_ms == SRC.received_ms
    assert copy.headers[-1][0] == wire.H_X_SEAL and is_home_copy(copy.headers)
    back = from_home(client, copy.headers, copy.value, key)
    assert back is not None
    assert (back.key, back.headers, back.source, back.route) == (None, ORIGINAL, SRC, "G01")
    # anything changed, or another key: no home copy (a sender's forgery, refused as such)
    assert from_home(client, copy.headers, copy.value, b"a guess") is None
    assert from_home("VN:GOV:000.00.00.H42:motcua", copy.headers, copy.value, key) is None
    tampered = [
        (n, b"ndxp.in.000.00.00.H41:0:1" if n == wire.H_X_SOURCE else v) for n, v in copy.headers
    ]
    assert from_home(client, tampered, copy.value, key) is None
    assert from_home(client, [*ORIGINAL, (wire.H_X_SEAL, b"00")], copy.value, key) is None


def test_a_home_copy_read_back_with_other_sender_headers_or_value_is_not_the_routers() -> None:
    """A hostile run (2026-12-06): the seal covered only the internal headers, so a home copy
    read back could carry any sender headers in front of them (a response nobody asked for, a
    request in another member's name) or another value, and was routed under the sealed route
    and identity (the ledger took it for a duplicate and kept no row). The seal covers the
    sender's headers and the value now; a part moved between headers changes it too."""
    client, key = "VN:GOV:000.00.00.H41:motcua", b"the router's key"
    copy = to_home(client, 2, "G01", SRC, None, b"v", ORIGINAL, key)
    internal = list(copy.headers[len(ORIGINAL) :])
    answer = [
        (wire.H_ID, b"r-1"),
        (wire.H_KIND, b"response"),
        (wire.H_CLIENT, client.encode()),
        (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"),
        (wire.H_CORRELATION_ID, b"nobody-asked"),
    ]
    assert from_home(client, [*answer, *internal], b"v", key) is None
    other_id = [(n, b"m-2" if n == wire.H_ID else v) for n, v in ORIGINAL]
    assert from_home(client, [*other_id, *internal], b"v", key) is None
    assert from_home(client, [*ORIGINAL, ("x", b"1"), *internal], b"v", key) is None
    assert from_home(client, [*ORIGINAL, *internal], b"w", key) is None
    assert from_home(client, [*ORIGINAL, *internal], None, key) is None
    first, *rest = ORIGINAL  # the bytes of a name moved into its value: not the same headers
    moved = [(first[0][:-1], first[0][-1:].encode() + (first[1] or b"")), *rest]
    assert from_home(client, [*moved, *internal], b"v", key) is None
    assert from_home(client, [*ORIGINAL, *internal], b"v", key) is not None  # as written


def test_a_record_with_neither_key_nor_value_is_forwarded_with_an_empty_value() -> None:
    assert producible(None, None) == (None, b"")
    assert producible(b"k", None) == (b"k", None)
    assert producible(None, b"") == (None, b"")
    d = Rejected(RejectionCode.MALFORMED, "x", None, None)
    [dead] = rejection_records(d, SRC, None, None, [], 1)
    assert (dead.key, dead.value) == (None, b"")


def test_quota_headers_say_which_limit_what_it_allows_and_when_to_retry() -> None:
    from ndxp.core.access import Principal
    from ndxp.core.quota import Limit, QuotaHit
    from ndxp.router.forwarding import quota_headers

    limit = Limit("h41-daily", Principal(subsystems=frozenset({"c"})), False, None, daily=5)
    headers = dict(quota_headers(QuotaHit(limit, "daily", 5, 3600.0004), 0))
    assert headers == {
        "ndxp-quota-limit": b"h41-daily",
        "ndxp-quota-policy": b"daily=5",
        "ndxp-retry-after": b"3600.001",
        "ndxp-quota-remaining": b"0",
    }
    assert "ndxp-quota-remaining" not in dict(quota_headers(QuotaHit(limit, "rate", 5, 0.2), None))


def test_rejection_lines_are_budgeted_per_topic_and_code() -> None:
    from ndxp.router.refusal import LogBudget

    budget = LogBudget(lines=3, window_s=60)
    seen = [budget.allow("ndxp.in.a", "MALFORMED", t) for t in (0, 1, 2, 3, 4)]
    assert [ok for ok, _ in seen] == [True, True, True, False, False]
    assert budget.allow("ndxp.in.a", "TOO_LARGE", 5) == (True, 0)  # another code: its own
    assert budget.allow("ndxp.in.b", "MALFORMED", 5) == (True, 0)  # another topic: its own
    assert budget.allow("ndxp.in.a", "MALFORMED", 61) == (True, 2)  # the next window says 2
    assert budget.allow("ndxp.in.a", "MALFORMED", 62) == (True, 0)
