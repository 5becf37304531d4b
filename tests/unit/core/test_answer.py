"""A provider's answer to a request's routed copy (ndxp.core.answer)."""

from ndxp.core import answer, wire

COPY = [
    (wire.H_ID, b"rq-1"),
    (wire.H_KIND, b"request"),
    (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
    (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
    ("x-trace", b"t"),
    (wire.H_TICKET, b"t1." + b"0" * 32),
    (wire.H_ROUTED_AT, b"1"),
]


def test_an_answer_names_the_request_and_echoes_its_ticket() -> None:
    h = dict(answer.headers(COPY, "an-1", 1_700_000_000_000, 404))
    assert h == {
        wire.H_ID: b"an-1",
        wire.H_KIND: b"response",
        wire.H_CLIENT: b"VN:GOV:000.00.00.H41:motcua",
        wire.H_SERVICE: b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1",
        wire.H_CORRELATION_ID: b"rq-1",
        wire.H_SENT_AT: b"1700000000000",
        wire.H_HTTP_STATUS: b"404",
        wire.H_TICKET: b"t1." + b"0" * 32,
    }


def test_a_copy_without_a_ticket_gets_an_answer_without_one() -> None:
    """Tickets off (NDXP_ROUTER_TICKETS=off): nothing to echo, nothing made up."""
    no_ticket = [(n, v) for n, v in COPY if n != wire.H_TICKET]
    assert wire.H_TICKET not in dict(answer.headers(no_ticket, "an-1", 0, 200))


def test_the_answer_goes_on_the_providers_own_ingress_topic() -> None:
    assert answer.topic("ndxp.out.000.00.01.G01") == "ndxp.in.000.00.01.G01"
