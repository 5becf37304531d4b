import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndxp.core import wire
from ndxp.core.document_status import Party, Status
from ndxp.core.errors import RejectionCode
from ndxp.core.registry import Registry
from ndxp.core.routing import FannedOut, Rejected, Routed, Router, StatusBound
from ndxp.core.ticket import Tickets, ticket_key

from .conftest import small_document

H41 = "ndxp.in.000.00.00.H41"
POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"


def request(
    client: str = "VN:GOV:000.00.00.H41:motcua", service: str = POP, mid: str = "m-1", **extra: str
) -> list[tuple[str, bytes]]:
    h = [
        (wire.H_ID, mid),
        (wire.H_KIND, "request"),
        (wire.H_CLIENT, client),
        (wire.H_SERVICE, service),
        *extra.items(),
    ]
    return [(k, v.encode()) for k, v in h]


def response(
    client: str,
    service: str,
    corr: str | None = "m-1",
    mid: str = "r-1",
    ticket: str | None = None,
) -> list[tuple[str, bytes]]:
    h = [
        (wire.H_ID, mid),
        (wire.H_KIND, "response"),
        (wire.H_CLIENT, client),
        (wire.H_SERVICE, service),
    ]
    if corr is not None:
        h.append((wire.H_CORRELATION_ID, corr))
    if ticket is not None:
        h.append((wire.H_TICKET, ticket))
    return [(k, v.encode()) for k, v in h]


@pytest.fixture
def router(registry: Registry) -> Router:
    return Router(registry, max_value_bytes=1000)


def routed(decision: object) -> str:
    assert isinstance(decision, Routed), decision
    return decision.topic


def rejected(decision: object, code: RejectionCode) -> Rejected:
    assert isinstance(decision, Rejected), decision
    assert decision.code is code, decision
    return decision


@pytest.mark.parametrize(
    ("service", "topic"),
    [
        (POP, "ndxp.out.000.00.01.G01"),  # connected national database (level 2)
        ("VN:GOV:000.05.01.G01:dl:thong-ke", "ndxp.out.000.00.01.G01"),  # level 3 below it
        ("VN:GOV:000.00.00.H41:motcua:tiep-nhan:v1", "ndxp.out.000.00.00.H41"),  # level 1
        ("VN:GOV:000.00.01.H41:hotich:xac-nhan", "ndxp.out.000.00.00.H41"),  # level 2
        ("VN:GOV:000.01.01.H41:motcua:chung-thuc", "ndxp.out.000.00.00.H41"),  # level 3
        ("VN:GOV:001.01.01.H41:motcua:cu-tru", "ndxp.out.000.00.00.H41"),  # level 4
    ],
)
def test_requests_go_to_the_nearest_connected_member(
    router: Router, service: str, topic: str
) -> None:
    assert routed(router.decide(H41, request(service=service), 10)) == topic


def test_unit_may_send_through_its_platform(router: Router) -> None:
    d = router.decide(H41, request(client="VN:GOV:001.01.01.H41:motcua"), 10)
    assert routed(d) == "ndxp.out.000.00.01.G01"
    assert isinstance(d, Routed) and d.envelope.client == "VN:GOV:001.01.01.H41:motcua"


def test_response_goes_back_to_the_clients_platform(router: Router) -> None:
    d = router.decide("ndxp.in.000.00.01.G01", response("VN:GOV:001.01.01.H41:motcua", POP), 10)
    assert routed(d) == "ndxp.out.000.00.00.H41"
    # the ministry above the database may answer for it too
    d = router.decide("ndxp.in.000.00.00.G01", response("VN:GOV:000.00.00.H42:motcua", POP), 10)
    assert routed(d) == "ndxp.out.000.00.00.H42"


def test_enterprise_member(router: Router) -> None:
    d = router.decide("ndxp.in.0100109106", request(client="VN:COM:0100109106:xacthuc"), 10)
    assert routed(d) == "ndxp.out.000.00.01.G01"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ([], "missing header ndxp-id"),
        ([(wire.H_ID, b"m-1")], "missing header ndxp-kind"),
        ([(wire.H_ID, b"m 1"), (wire.H_KIND, b"request")], "ndxp-id must be 1-128"),
        ([(wire.H_ID, b"x" * 129), (wire.H_KIND, b"request")], "ndxp-id must be 1-128"),
        ([(wire.H_ID, b""), (wire.H_KIND, b"request")], "ndxp-id must be 1-128"),
        ([(wire.H_ID, b"m-1"), (wire.H_KIND, b"error")], "ndxp-kind is 'error'"),
        ([(wire.H_ID, b"m-1"), (wire.H_KIND, b"request")], "missing header ndxp-client"),
        (request()[:3], "missing header ndxp-service"),
        ([*request(), (wire.H_ID, b"m-2")], "header ndxp-id is repeated"),
        ([*request(), (wire.H_SERVICE, POP.encode())], "header ndxp-service is repeated"),
        ([(wire.H_ID, b"m-1"), (wire.H_KIND, b"\xff\xfe")], "ndxp-kind is not UTF-8 (byte 0)"),
        ([*request(), (wire.H_ROUTE, b"000.00.00.H42")], "ndxp-route is set by the router"),
        ([*request(), (wire.H_ERROR, b"x")], "ndxp-error is set by the router"),
        ([(wire.H_ID, None), (wire.H_KIND, b"request")], "ndxp-id has no value"),
        (request(client="VN:GOV:000.00.00.h41:motcua"), "invalid subsystem id"),
        (request(service="VN:GOV:000.00.01.G01:dancu"), "invalid service id"),
        (
            response(
                "VN:GOV:000.00.00.H41:motcua", "VN:GOV:000.00.00.H41:motcua:tiep-nhan:v1", corr=None
            ),
            "a response needs header ndxp-correlation-id",
        ),
        (request(**{wire.H_CORRELATION_ID: "a b"}), "ndxp-correlation-id must be"),
    ],
)
def test_malformed(router: Router, headers: list[tuple[str, bytes]], detail: str) -> None:
    d = rejected(router.decide(H41, headers, 10), RejectionCode.MALFORMED)
    assert detail in d.detail
    assert str(d.notify) == "VN:GOV:000.00.00.H41"


def test_malformed_keeps_the_id_for_the_notice(router: Router) -> None:
    d = rejected(router.decide(H41, request(client="bad"), 10), RejectionCode.MALFORMED)
    assert d.message_id == "m-1"


def test_too_large(router: Router) -> None:
    d = rejected(router.decide(H41, request(), 1001), RejectionCode.TOO_LARGE)
    assert d.detail == "value is 1001 bytes, the limit is 1000"
    routed(router.decide(H41, request(), 1000))


@pytest.mark.parametrize(
    ("topic", "headers"),
    [
        (H41, request(client="VN:GOV:000.00.00.H42:motcua")),  # another province
        (H41, request(client="VN:GOV:000.00.00.H42:unregistered")),  # unknown and not ours
        (H41, request(client="VN:GOV:000.00.00.G01:lgsp")),  # the ministry
        ("ndxp.in.000.00.01.G01", request(client="VN:GOV:000.00.00.G01:lgsp")),  # a parent
        (H41, request(client="VN:COM:0100109106:xacthuc")),  # another member class
        (H41, response("VN:GOV:000.00.00.H41:motcua", POP)),  # forging the provider's answer
        ("ndxp.in.000.00.00.H99", request()),  # not an ingress topic of a connected member
    ],
)
def test_not_sender(router: Router, topic: str, headers: list[tuple[str, bytes]]) -> None:
    rejected(router.decide(topic, headers, 10), RejectionCode.NOT_SENDER)


def test_unknown_client_and_service(router: Router) -> None:
    rejected(
        router.decide(H41, request(client="VN:GOV:000.00.00.H41:khac"), 1),
        RejectionCode.UNKNOWN_CLIENT,
    )
    rejected(
        router.decide(H41, request(client="VN:GOV:000.02.01.H41:motcua"), 1),
        RejectionCode.UNKNOWN_CLIENT,
    )
    rejected(
        router.decide(H41, request(service="VN:GOV:000.00.01.G01:dancu:tra-cuu:v9"), 1),
        RejectionCode.UNKNOWN_SERVICE,
    )
    rejected(
        router.decide(H41, request(service="VN:GOV:000.00.01.G01:dancu:tra-cuu"), 1),
        RejectionCode.UNKNOWN_SERVICE,
    )
    rejected(
        router.decide("ndxp.in.000.00.01.G01", response("VN:GOV:000.00.00.H41:nope", POP), 1),
        RejectionCode.UNKNOWN_CLIENT,
    )


def test_no_route(router: Router) -> None:
    d = rejected(
        router.decide(H41, request(service="VN:GOV:000.00.00.K01:ht:tra-cuu"), 1),
        RejectionCode.NO_ROUTE,
    )
    assert "000.00.00.K01" in d.detail


def test_unconnected_ingress_gets_no_notice(router: Router) -> None:
    d = rejected(router.decide("ndxp.in.000.00.00.K01", request(), 1), RejectionCode.NOT_SENDER)
    assert d.notify is None


header_names = st.sampled_from([*wire.SENDER_HEADERS, *wire.ROUTER_HEADERS, "x-trace", ""])
header_values = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(
        [b"request", b"response", b"m-1", POP.encode(), b"VN:GOV:000.00.00.H41:motcua"]
    ),
)


@settings(max_examples=400)
@given(st.lists(st.tuples(header_names, header_values), max_size=12), st.integers(0, 5000))
def test_any_headers_give_a_decision_never_an_exception(
    headers: list[tuple[str, bytes]], size: int
) -> None:
    router = Router(Registry.from_document(small_document()), max_value_bytes=1000)
    d = router.decide(H41, headers, size)
    assert isinstance(d, Routed | Rejected)
    if isinstance(d, Routed):
        assert size <= 1000
        assert d.topic.startswith("ndxp.out.")


def notice(client: str, service: str, mid: str = "n-1") -> list[tuple[str, bytes]]:
    return [(k, v.replace(b"request", b"notice")) for k, v in request(client, service, mid)]


def test_a_notice_is_checked_and_routed_as_a_request(router: Router) -> None:
    v2 = "VN:GOV:000.00.01.G01:dancu:tra-cuu:v2"
    decision = router.decide(H41, notice("VN:GOV:000.00.00.H41:motcua", v2), 10)
    assert routed(decision) == "ndxp.out.000.00.01.G01"
    assert isinstance(decision, Routed) and decision.envelope.kind == wire.KIND_NOTICE
    # the same checks: who may speak for the client, who may call the service
    rejected(
        router.decide(H41, notice("VN:GOV:000.00.00.H42:motcua", v2), 10),
        RejectionCode.NOT_SENDER,
    )
    rejected(
        router.decide("ndxp.in.000.00.00.G01", notice("VN:GOV:000.00.00.G01:lgsp", v2), 10),
        RejectionCode.FORBIDDEN,
    )
    rejected(
        router.decide(H41, notice("VN:GOV:000.00.00.H41:motcua", POP + "x"), 10),
        RejectionCode.UNKNOWN_SERVICE,
    )


def document(
    to: str,
    doc_id: str = "000.00.00.H41,2022/03/15,12/UBND-VP",
    client: str = "VN:GOV:000.00.00.H41:motcua",
    **extra: str,
) -> list[tuple[str, bytes]]:
    h = [
        (wire.H_ID, "d-1"),
        (wire.H_KIND, "document"),
        (wire.H_CLIENT, client),
        ("ndxp-doc-id", doc_id),
        ("ndxp-doc-to", to),
        ("ndxp-doc-type", "CV"),
        *extra.items(),
    ]
    return [(k, v.encode()) for k, v in h]


def test_a_document_goes_to_each_receiver_and_the_others_are_refused_one_by_one(
    router: Router,
) -> None:
    """Receivers in the order named: a province, a unit below the ministry's connected
    database (its route), a code nobody has, an agency not connected, the sender itself."""
    to = "000.00.00.H42,000.05.01.G01,000.00.00.H99,000.00.00.K01,000.00.00.H41"
    decision = router.decide(H41, document(to), 10)
    assert isinstance(decision, FannedOut), decision
    assert [(str(d.receiver.code), d.topic) for d in decision.deliveries] == [
        ("000.00.00.H42", "ndxp.out.000.00.00.H42"),
        ("000.05.01.G01", "ndxp.out.000.00.01.G01"),
    ]
    assert [(str(r.receiver), r.code.value) for r in decision.refusals] == [
        ("000.00.00.H99", "UNKNOWN_RECEIVER"),
        ("000.00.00.K01", "NO_ROUTE"),
        ("000.00.00.H41", "SELF"),
    ]
    assert decision.envelope.id == "d-1" and decision.doc.type == "CV"


def test_a_document_is_refused_whole_when_its_sender_or_envelope_is_wrong(
    router: Router,
) -> None:
    to = "000.00.00.H42"
    # another agency's document, or sent as another member's client
    other = document(to, doc_id="000.00.00.H42,2022/03/15,12/UBND-VP")
    rejected(router.decide(H41, other, 10), RejectionCode.NOT_SENDER)
    as_h42 = document(to, client="VN:GOV:000.00.00.H42:motcua")
    rejected(router.decide(H41, as_h42, 10), RejectionCode.NOT_SENDER)
    rejected(router.decide(H41, document("H42"), 10), RejectionCode.MALFORMED)
    rejected(router.decide(H41, document(f"{to},{to}"), 10), RejectionCode.MALFORMED)
    # the receiver header is the router's; a document names receivers, not a service
    forged = document(to, **{"ndxp-doc-receiver": "000.00.00.H42"})
    rejected(router.decide(H41, forged, 10), RejectionCode.MALFORMED)
    with_service = [*document(to), (wire.H_SERVICE, POP.encode())]
    rejected(router.decide(H41, with_service, 10), RejectionCode.MALFORMED)
    rejected(router.decide(H41, document(to), 1001), RejectionCode.TOO_LARGE)
    # a request still needs its service
    no_service = [h for h in request() if h[0] != wire.H_SERVICE]
    rejected(router.decide(H41, no_service, 10), RejectionCode.MALFORMED)


_codes = st.sampled_from(
    [
        *("000.00.00.H41", "000.00.00.H42", "000.00.00.G01", "000.05.01.G01", "000.00.00.K01"),
        *("000.00.00.H99", "001.01.01.H41", "H42", "", "000.00.00.h42", "000.00.00.H42 "),
    ]
)
_doc_values = st.one_of(
    st.text(max_size=80),
    st.builds(lambda cs: ",".join(cs), st.lists(_codes, max_size=140)),
    st.sampled_from(["000.00.00.H41,2022/03/15,12/UBND-VP", "000.00.00.H41,2022/02/30,1/X"]),
)


_DOC_ROUTER = Router(Registry.from_document(small_document()))


_members = ["000.00.00.H41", "000.00.00.H42", "000.05.01.G01", "000.00.00.K01", "000.00.00.H99"]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.lists(st.sampled_from(_members), min_size=1, unique=True),  # valid lists
        st.lists(_codes, max_size=140),
    ),
    st.dictionaries(
        st.sampled_from(
            [
                *("ndxp-doc-id", "ndxp-doc-to", "ndxp-doc-type", "ndxp-doc-priority"),
                *("ndxp-doc-due", "ndxp-doc-business", "ndxp-doc-ref", "ndxp-doc-receiver"),
            ]
        ),
        st.one_of(_doc_values, st.binary(max_size=20)),
        max_size=3,
    ),
    st.booleans(),
)
def test_any_document_headers_get_a_decision_and_every_receiver_is_accounted_for(
    to: list[str], changes: dict[str, str | bytes], repeat: bool
) -> None:
    """Whatever a sender puts in a document's headers (text, bytes that are not UTF-8,
    absurd receiver lists, a header twice): a refusal with a stable code, or a fan-out where
    each receiver named is delivered or refused exactly once."""
    base = [
        (wire.H_ID, b"d-1"),
        (wire.H_KIND, b"document"),
        (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
    ]
    fields: dict[str, str | bytes] = {
        "ndxp-doc-id": "000.00.00.H41,2022/03/15,12/UBND-VP",
        "ndxp-doc-to": ",".join(to),
        "ndxp-doc-type": "CV",
        **changes,  # a valid document, changed in up to three headers
    }
    extra = [(k, v if isinstance(v, bytes) else v.encode()) for k, v in fields.items()]
    headers = base + extra + (extra[:1] if repeat else [])
    decision = _DOC_ROUTER.decide(H41, headers, 10)
    if isinstance(decision, Rejected):
        assert decision.code in RejectionCode and len(decision.detail) < 1000
        return
    assert isinstance(decision, FannedOut)
    named = [str(r) for r in decision.doc.receivers]
    got = [str(d.receiver.code) for d in decision.deliveries] + [
        str(r.receiver) for r in decision.refusals
    ]
    assert sorted(got) == sorted(named) and len(set(named)) == len(named) <= 128
    assert all(d.topic.startswith("ndxp.out.") for d in decision.deliveries)


DOC = "000.00.00.H41,2022/03/15,12/UBND-VP"


def status(
    code: str,
    receiver: str = "000.00.00.H42",
    client: str = "VN:GOV:000.00.00.H42:motcua",
    doc_id: str = DOC,
    **extra: str,
) -> list[tuple[str, bytes]]:
    h = [
        (wire.H_ID, "s-1"),
        (wire.H_KIND, "status"),
        (wire.H_CLIENT, client),
        ("ndxp-doc-id", doc_id),
        ("ndxp-doc-receiver", receiver),
        ("ndxp-doc-status", code),
        *extra.items(),
    ]
    return [(k, v.encode()) for k, v in h]


def bound(decision: object) -> StatusBound:
    assert isinstance(decision, StatusBound), decision
    return decision


def test_a_receivers_status_goes_to_the_documents_sender(router: Router) -> None:
    accepted = bound(router.decide("ndxp.in.000.00.00.H42", status("03"), 0))
    assert accepted.topic == "ndxp.out.000.00.00.H41"
    assert accepted.by is Party.RECEIVER and accepted.status is Status.ACCEPTED
    assert accepted.call.key == f"{DOC}|000.00.00.H42"
    # a unit below a connected database: the database reports for it, or the unit itself
    unit = "000.05.01.G01"
    for client in ("VN:GOV:000.00.01.G01:dancu", "VN:GOV:000.05.01.G01:dl"):
        arrived = status("01", receiver=unit, client=client, **{"ndxp-doc-reason": "đã nhận"})
        decision = bound(router.decide("ndxp.in.000.00.01.G01", arrived, 0))
        assert decision.topic == "ndxp.out.000.00.00.H41" and decision.call.reason == "đã nhận"


def test_a_recall_goes_from_the_sender_to_the_receivers_route(router: Router) -> None:
    recall = status("13", receiver="000.05.01.G01", client="VN:GOV:000.00.00.H41:motcua")
    decision = bound(router.decide(H41, recall, 0))
    assert decision.by is Party.SENDER and decision.topic == "ndxp.out.000.00.01.G01"


@pytest.mark.parametrize(
    ("topic", "headers", "code"),
    [
        # another receiver's status, the sender posing as a receiver, a receiver recalling
        ("ndxp.in.000.00.00.H42", status("03", receiver="000.00.00.H41"), "STATUS_NOT_PARTY"),
        (H41, status("03", client="VN:GOV:000.00.00.H41:motcua"), "STATUS_NOT_PARTY"),
        ("ndxp.in.000.00.00.H42", status("13"), "STATUS_NOT_PARTY"),
        # a client of another member; a code outside the lifecycle
        (H41, status("03"), "NOT_SENDER"),
        ("ndxp.in.000.00.00.H42", status("07"), "STATUS_UNKNOWN"),
        ("ndxp.in.000.00.00.H42", status(""), "STATUS_UNKNOWN"),
        # headers that cannot be read
        ("ndxp.in.000.00.00.H42", status("03", receiver="H42"), "MALFORMED"),
        ("ndxp.in.000.00.00.H42", status("03", doc_id="12/UBND-VP"), "MALFORMED"),
        ("ndxp.in.000.00.00.H42", status("03", **{"ndxp-doc-reason": "a\x00b"}), "MALFORMED"),
        ("ndxp.in.000.00.00.H42", status("03", **{"ndxp-doc-reason": "x" * 1025}), "MALFORMED"),
        ("ndxp.in.000.00.00.H42", status("03", **{"ndxp-service": POP}), "MALFORMED"),
        ("ndxp.in.000.00.00.H42", [*status("03"), ("ndxp-doc-status", b"05")], "MALFORMED"),
        # a document of an agency that is not connected: nowhere to send the status
        (
            "ndxp.in.000.00.00.H42",
            status("03", doc_id="000.00.00.K01,2022/03/15,1/A"),
            "NO_ROUTE",
        ),
    ],
)
def test_a_status_is_refused_when_its_party_or_headers_are_wrong(
    router: Router, topic: str, headers: list[tuple[str, bytes]], code: str
) -> None:
    rejected(router.decide(topic, headers, 0), RejectionCode(code))


def test_a_package_in_parts_is_routed_part_by_part_and_its_part_headers_checked(
    router: Router,
) -> None:
    part = {"ndxp-doc-part": "2/3", "ndxp-doc-size": "800", "ndxp-doc-sha256": "ab" * 32}
    decision = router.decide(H41, document("000.00.00.H42", **part), 700)
    assert isinstance(decision, FannedOut) and len(decision.deliveries) == 1
    # more bytes than the whole package, or a part header missing: refused whole
    rejected(router.decide(H41, document("000.00.00.H42", **part), 801), RejectionCode.MALFORMED)
    no_hash = {k: v for k, v in part.items() if k != "ndxp-doc-sha256"}
    rejected(router.decide(H41, document("000.00.00.H42", **no_hash), 10), RejectionCode.MALFORMED)


TICKETS = Tickets(ticket_key(b"seal" * 8))


def test_a_response_is_routed_with_its_requests_ticket_only(registry: Registry) -> None:
    """Answers nobody asked for: a granted provider's "response" to a correlation id no request
    of that client to that service carried is refused, whatever else it gets right."""
    router = Router(registry, 1000, TICKETS)
    client, provider = "VN:GOV:000.00.00.H41:motcua", "ndxp.in.000.00.01.G01"
    ticket = TICKETS.stamp(client, POP, "m-1").decode()
    assert routed(router.decide(provider, response(client, POP, "m-1", ticket=ticket), 10))
    for corr, t in (("m-1", None), ("m-2", ticket), ("m-1", "t1." + "0" * 32), ("m-1", "x")):
        d = rejected(router.decide(provider, response(client, POP, corr, ticket=t), 10), UNSOL)
        assert "ndxp-ticket" in d.detail and d.notify is not None  # the provider is told


def test_a_sender_stamps_no_ticket_on_a_request(registry: Registry) -> None:
    router = Router(registry, 1000, TICKETS)
    d = router.decide(H41, request(**{wire.H_TICKET: "t1." + "0" * 32}), 10)
    assert "ndxp-ticket" in rejected(d, RejectionCode.MALFORMED).detail


def test_without_tickets_a_response_is_not_asked_for_one(registry: Registry) -> None:
    """NDXP_ROUTER_TICKETS=off (providers not yet echoing it): routed as before."""
    d = Router(registry, 1000).decide("ndxp.in.000.00.01.G01", response(H41_CLIENT, POP), 10)
    assert routed(d) == "ndxp.out.000.00.00.H41"


UNSOL = RejectionCode.UNSOLICITED
H41_CLIENT = "VN:GOV:000.00.00.H41:motcua"
