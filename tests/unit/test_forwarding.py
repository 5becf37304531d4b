import orjson

from ndxp.core import wire
from ndxp.core.errors import RejectionCode
from ndxp.core.identifiers import MemberId
from ndxp.core.routing import Envelope, Rejected, Routed
from ndxp.router.forwarding import Source, producible, rejection_records, routed_headers

SRC = Source("ndxp.in.000.00.00.H41", 2, 41, 1700000000123)

H41 = MemberId.parse("VN:GOV:000.00.00.H41")
ORIGINAL = [("ndxp-id", b"m-1"), ("x-trace", b"\x00\xff"), ("x-trace", b"2")]


def test_routed_headers_keep_the_originals_and_append_the_route() -> None:
    env = Envelope("m-1", "request", "c", "s", None)
    out = routed_headers(ORIGINAL, str(Routed(env, H41, "ndxp.out.000.00.00.H41").route.code), 1234)
    assert out[:3] == ORIGINAL
    assert out[3:] == [(wire.H_ROUTED_AT, b"1234"), (wire.H_ROUTE, b"000.00.00.H41")]


def test_rejection_gives_a_dead_letter_copy_and_a_notice() -> None:
    d = Rejected(RejectionCode.NO_ROUTE, "no connected member", "m-1", H41)
    dead, notice = rejection_records(d, SRC, b"k", b"payload", ORIGINAL, 99)
    assert dead.topic == wire.REJECTED_TOPIC
    assert (dead.key, dead.value) == (b"k", b"payload")
    assert dead.headers[:3] == ORIGINAL
    assert dict(dead.headers[3:]) == {
        wire.H_ERROR: b"NO_ROUTE",
        wire.H_ERROR_DETAIL: b"no connected member",
        wire.H_SOURCE_TOPIC: b"ndxp.in.000.00.00.H41",
        wire.H_SOURCE_PARTITION: b"2",
        wire.H_SOURCE_OFFSET: b"41",
        wire.H_ROUTED_AT: b"99",
    }
    assert dead.timestamp_ms == 1700000000123  # the production time is kept
    assert notice.topic == "ndxp.out.000.00.00.H41"
    h = dict(notice.headers)
    assert h[wire.H_KIND] == b"error"
    assert h[wire.H_CORRELATION_ID] == b"m-1"
    assert h[wire.H_ERROR] == b"NO_ROUTE"
    assert h[wire.H_ID] != b"m-1"
    assert b"payload" not in (notice.value or b"")  # the notice never echoes the payload
    assert orjson.loads(notice.value or b"") == {
        "error": "NO_ROUTE",
        "detail": "no connected member",
        "id": "m-1",
    }


def test_no_notice_without_a_connected_sender_and_no_correlation_without_an_id() -> None:
    d = Rejected(RejectionCode.NOT_SENDER, "x", None, None)
    assert len(rejection_records(d, SRC, None, None, [], 1)) == 1
    d = Rejected(RejectionCode.MALFORMED, "x", None, H41)
    _, notice = rejection_records(d, SRC, None, None, [], 1)
    assert wire.H_CORRELATION_ID not in dict(notice.headers)


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
