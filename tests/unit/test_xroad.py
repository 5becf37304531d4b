"""The X-Road Message Protocol for REST as ndxp speaks it (ndxp.core.xroad): identifiers on the
URL and in X-Road-Client, the headers a call carries, the request hash, errors."""

from __future__ import annotations

import base64
import hashlib

import pytest
from aiohttp.http_writer import _serialize_headers
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from ndxp.core import wire, xroad, xroad_headers
from ndxp.core.identifiers import ServiceId, SubsystemId
from ndxp.core.xroad import XRoadError

SERVICE = ServiceId.parse("VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1")
CLIENT = SubsystemId.parse("VN:GOV:000.00.00.H41:motcua")


def test_a_versioned_service_is_five_segments_with_the_version_after_a_tilde() -> None:
    assert xroad.service_path(SERVICE) == "/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1"
    assert xroad.service_header(SERVICE) == "VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1"
    unversioned = ServiceId.parse("VN:GOV:000.00.01.G01:dancu:tra-cuu")
    assert xroad.service_path(unversioned) == "/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu"


def test_the_spec_example_shape_parses_with_path_and_query() -> None:
    call = xroad.parse_call("/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1/v1/bar/zyggy?quu=1")
    assert call.service == SERVICE
    assert call.path == "/v1/bar/zyggy" and call.query == "quu=1"
    bare = xroad.parse_call("/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1")
    assert bare.path == "" and bare.query == ""


codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(subsystem=codes, code=codes, version=st.none() | codes)
def test_the_mapping_is_reversible(subsystem: str, code: str, version: str | None) -> None:
    text = f"VN:GOV:000.00.01.G01:{subsystem}:{code}" + (f":{version}" if version else "")
    service = ServiceId.parse(text)
    assert xroad.parse_call(xroad.service_path(service)).service == service


def test_segments_are_percent_decoded_one_by_one() -> None:
    encoded = "/r1/VN/GOV/000.00.01.G01/%64ancu/tra-cuu-cong-dan%7Ev1"  # d, ~
    assert xroad.parse_call(encoded).service == SERVICE


@pytest.mark.parametrize(
    ("path", "status", "type_"),
    [
        ("/r2/VN/GOV/000.00.01.G01/dancu/x", 400, "Client.BadRequest"),
        ("/r1/VN/GOV/000.00.01.G01/dancu", 400, "Client.BadRequest"),
        ("/r1/VN/GOV/000.00.01.G01/dan%2Fcu/x", 400, "Client.BadRequest"),  # an encoded /
        ("/r1/VN/GOV/000.00.01.G01/dancu/x%3Ay", 400, "Client.BadRequest"),  # :
        ("/r1/VN/GOV/000.00.01.G01/dancu/%FF", 400, "Client.BadRequest"),  # not UTF-8
        ("/r1/VN/GOV/000.00.01.G01/dancu/a%00b", 400, "Client.BadRequest"),  # control
        ("/r1/VN/GOV/000.00.01.G01//x", 400, "Client.BadRequest"),  # empty
        ("/r1/VN/XYZ/000.00.01.G01/dancu/x", 400, "Client.InvalidServiceIdentifier"),
        ("/r1/VN/GOV/000.00.01.G01/dancu/x~v1~v2", 400, "Client.InvalidServiceIdentifier"),
        ("/r1/VN/GOV/000.00.01.G01/dancu/" + "x" * 300, 400, "Client.BadRequest"),
        ("/r1/VN/GOV/000.00.01.G01/dancu/x/" + "y" * 5000, 414, "Client.BadRequest"),
    ],
)
def test_what_is_not_a_call_to_one_service_is_refused(path: str, status: int, type_: str) -> None:
    with pytest.raises(XRoadError) as caught:
        xroad.parse_call(path)
    assert (caught.value.status, caught.value.type) == (status, type_)


def test_the_client_header_names_a_subsystem() -> None:
    assert xroad.parse_client("VN/GOV/000.00.00.H41/motcua") == CLIENT
    assert xroad.client_header(CLIENT) == "VN/GOV/000.00.00.H41/motcua"
    for bad, type_ in [
        (None, "Client.MissingClientIdentifier"),
        ("", "Client.MissingClientIdentifier"),
        ("VN/GOV/000.00.00.H41", "Client.InvalidClientIdentifier"),  # a member: not here
        ("VN/GOV/000.00.00.H00/motcua", "Client.InvalidClientIdentifier"),
        ("VN:GOV:000.00.00.H41:motcua", "Client.InvalidClientIdentifier"),
    ]:
        with pytest.raises(XRoadError) as caught:
            xroad.parse_client(bad)
        assert caught.value.type == type_


def test_headers_cross_as_the_spec_says() -> None:
    passed, forged = xroad_headers.forwarded(
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Accept", "application/xml"),
            ("X-Road-Client", "VN/GOV/000.00.00.H41/motcua"),
            ("X-Road-UserId", "VN001234567890"),
            ("X-Road-Issue", "HS-2026-1"),
            ("Connection", "keep-alive"),
            ("Host", "gateway"),
            ("User-Agent", "curl"),
            ("X-Powered-By", "PHP/5.2.17"),
            ("Cache-Control", "no-cache"),
        ]
    )
    assert passed == [
        ("content-type", b"application/json; charset=utf-8"),
        ("accept", b"application/xml"),
        (wire.H_USER_ID, b"VN001234567890"),
        (wire.H_ISSUE, b"HS-2026-1"),
        ("x-powered-by", b"PHP/5.2.17"),
        ("cache-control", b"no-cache"),
    ]
    assert forged == []
    assert xroad_headers.forwarded([("NDXP-Client", "x"), ("ndxp-error", "x")])[1] == [
        "NDXP-Client",
        "ndxp-error",
    ]


def test_an_answer_carries_the_providers_end_to_end_headers_only() -> None:
    assert xroad_headers.answered_headers(
        [
            (wire.H_ID, b"r1"),
            (wire.H_HTTP_STATUS, b"201"),
            ("content-type", b"application/json"),
            ("transfer-encoding", b"chunked"),
            ("x-road-request-hash", b"forged"),
            ("x-evil", b"a\r\nSet-Cookie: x"),
            ("x-raw", b"\xff"),
            ("etag", b'"7"'),
        ]
    ) == [("content-type", "application/json"), ("etag", '"7"')]


def test_headers_http_cannot_carry_never_reach_an_http_message() -> None:
    """A Kafka sender can name a header anything: names that are not HTTP tokens and values
    with control characters are left out, whichever way the message goes (an answer to an
    HTTP caller, or a request the provider adapter calls an HTTP provider with)."""
    assert xroad_headers.answered_headers(
        [
            ("x-evil\r\nset-cookie", b"x"),
            ("x-evil\nset-cookie", b"x"),
            ("x evil", b"x"),
            ("x:evil", b"x"),
            ("", b"x"),
            ("x-t\u1ebfng-vi\u1ec7t", b"x"),
            ("x-nul", b"a\x00b"),
            ("x-bell", b"a\x07b"),
            ("x-del", b"a\x7fb"),
            ("x-tab", b"a\tb"),
            ("x-utf8", "Ngh\u1ec7 An".encode()),
            ("x-token!#$%&'*+-.^_`|~09", b"ok"),
        ]
    ) == [("x-tab", "a\tb"), ("x-utf8", "Ngh\u1ec7 An"), ("x-token!#$%&'*+-.^_`|~09", "ok")]


_SHARP = "aZ09-_!~ \t\r\n:\x00\x01\x7f\u1ec7"


@given(
    st.text(alphabet=_SHARP, max_size=8) | st.text(max_size=8),
    st.text(alphabet=_SHARP, max_size=8).map(str.encode) | st.binary(max_size=8),
)
def test_every_header_answered_is_one_aiohttp_writes_as_it_is(name: str, value: bytes) -> None:
    for out_name, out_value in xroad_headers.answered_headers([(name, value)]):
        headers = CIMultiDict([(out_name, out_value)])
        written = _serialize_headers("HTTP/1.1 200 OK", headers)
        assert written.count(b"\r\n") == 3  # status line, one header, the blank line


def test_the_request_hash_is_sha512_of_the_headers_and_body_hashes() -> None:
    headers = [("ndxp-id", b"a"), ("content-type", b"text/plain")]
    lines = b"ndxp-id: a\r\ncontent-type: text/plain\r\n"
    body = b"hello"
    want = hashlib.sha512(hashlib.sha512(lines).digest() + hashlib.sha512(body).digest())
    assert xroad.request_hash(headers, body) == base64.b64encode(want.digest()).decode()
    assert (
        xroad.request_hash(headers, b"")
        == base64.b64encode(hashlib.sha512(lines).digest()).decode()
    )
    assert xroad.request_hash(headers, b"hellp") != xroad.request_hash(headers, body)


def test_every_rejection_code_has_an_xroad_error() -> None:
    from ndxp.core.errors import RejectionCode

    assert set(xroad.REJECTIONS) == {c.value for c in RejectionCode}
    err = xroad.rejection("QUOTA_EXCEEDED", "over 2/s", "0.25")
    assert (err.status, err.type, err.retry_after) == (
        429,
        "Server.ServerProxy.QuotaExceeded",
        "1",
    )
    assert xroad.rejection("FORBIDDEN", "no grant").type == "Server.ServerProxy.AccessDenied"
    assert xroad.rejection("UNKNOWN_SERVICE", "x").type == "Server.ServerProxy.UnknownService"
    assert xroad.rejection("QUOTA_EXCEEDED", "x", "nan").retry_after is None
    assert xroad.rejection("SOMETHING_NEW", "x").status == 500
    assert xroad.error_body(err, "id-1") == {
        "type": "Server.ServerProxy.QuotaExceeded",
        "message": "QUOTA_EXCEEDED: over 2/s",
        "detail": "id-1",
    }


def test_an_answers_status_and_error_are_taken_only_when_they_are_what_they_claim() -> None:
    """Both come from a provider's Kafka response: any sender may put anything there."""
    assert xroad.answer_status(None) == 200
    assert [xroad.answer_status(t) for t in ("201", "404", "599")] == [201, 404, 599]
    for bad in ("99", "600", "2000", "020", "-1", "２００", "200 OK", "", "1e2"):
        assert xroad.answer_status(bad) is None, bad
    assert (
        xroad.answer_error("Server.ServerProxy.NetworkError") == "Server.ServerProxy.NetworkError"
    )
    for bad in ("x\r\nSet-Cookie: a", "A" * 121, "Server..X", "", " Server", "Server.X-Y"):
        assert xroad.answer_error(bad) is None, bad


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/cong-dan/001099000001", ""),
        ("/ho-so", "a=1&b=%2F"),
        ("/x%20y/%C3%A1", ""),  # percent-encoded, valid UTF-8
        ("/a..b/.x/x.", ""),  # dots inside a segment are names
        ("/a;v=1/b;x", ""),  # path parameters of ordinary segments
        ("/;/x", ""),
        ("", ""),
    ],
)
def test_a_provider_url_keeps_the_call_as_sent(path: str, query: str) -> None:
    url = xroad.provider_url("http://127.0.0.1:9300/dancu/", path, query)
    assert url == "http://127.0.0.1:9300/dancu" + path + (f"?{query}" if query else "")


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/..", ""),
        ("/.", ""),
        ("/.%2e/motcua/ho-so", ""),  # decoded by an HTTP client: out of the endpoint's base
        ("/%2e./motcua", ""),
        ("/%2E%2e/motcua", ""),
        ("/%2e%2e", ""),
        ("/..;/motcua", ""),  # Tomcat and Jetty drop the path parameter, then resolve ..
        ("/%2e%2e;jsessionid=1/motcua", ""),
        ("/.;x/motcua", ""),
        ("/..%20/motcua", ""),  # Windows servers drop trailing spaces and dots
        ("/.../motcua", ""),
        ("/a%00b", ""),  # a control character once decoded
        ("/a%0D%0Ab", ""),
        ("/a/%2F/b", ""),  # a slash once decoded
        ("/a%5Cb", ""),  # a backslash once decoded
        ("/a\\b", ""),
        ("/%ff", ""),  # not UTF-8 once decoded
        ("/a", "q=1#frag"),
        ("/a#frag", ""),
        ("/a b", ""),
        ("/á", ""),
        ("/a\x00", ""),
        ("relative", ""),
    ],
)
def test_a_provider_url_that_could_leave_the_endpoint_is_refused(path: str, query: str) -> None:
    assert xroad.provider_url("http://127.0.0.1:9300/dancu", path, query) is None


def test_a_raw_fragment_in_the_request_target_is_refused() -> None:
    with pytest.raises(XRoadError) as caught:
        xroad.parse_call("/r1/VN/GOV/000.00.00.H41/api/thua-dat~v1/echo?a=1#frag&b=2")
    assert caught.value.status == 400


def test_headers_a_connection_header_names_do_not_cross() -> None:
    passed, forged = xroad_headers.forwarded(
        [
            ("Connection", "keep-alive, X-Secret"),
            ("X-Secret", "token"),
            ("X-Kept", "1"),
            ("connection", "x-other"),
            ("X-Other", "2"),
        ]
    )
    assert passed == [("x-kept", b"1")] and forged == []
    # a name it lists that is the platform's is still refused, not silently dropped
    _, forged = xroad_headers.forwarded([("Connection", "ndxp-route"), ("ndxp-route", "x")])
    assert forged == ["ndxp-route"]


def test_parsed_services_and_clients_are_remembered_within_a_bound() -> None:
    """The gateway remembers what it parsed (a few hundred services), never more than
    PARSED_CACHE whatever callers send, and a refusal is refused again, not remembered."""
    first = xroad.parse_call("/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu~v1/a?x=1")
    again = xroad.parse_call("/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu~v1/b/c")
    assert again.service == first.service and (again.path, again.query) == ("/b/c", "")
    for n in range(xroad.PARSED_CACHE + 100):
        xroad.parse_call(f"/r1/VN/GOV/000.00.01.G01/dancu/s{n}~v1")
        xroad.parse_client(f"VN/GOV/000.00.00.H41/c{n}")
    assert xroad._service.cache_info().currsize == xroad.PARSED_CACHE
    assert xroad._client.cache_info().currsize == xroad.PARSED_CACHE
    for _ in range(2):
        with pytest.raises(XRoadError) as refused:
            xroad.parse_client("VN/GOV/000.00.00.H41/mot%3Acua")
        assert refused.value.type == "Client.BadRequest"


def test_the_adapter_names_client_and_service_from_text_within_a_bound() -> None:
    """The provider adapter's X-Road-Client and X-Road-Service come from the request's ndxp
    ids, remembered within PARSED_CACHE: what does not parse is named empty, and is never
    remembered (a sender's header may be 64 KiB), whatever a sender puts in the headers."""
    from ndxp.core.errors import InvalidIdentifier
    from ndxp.gateway.provider import subsystem_of_service

    assert xroad.client_header_of(str(CLIENT)) == "VN/GOV/000.00.00.H41/motcua"
    assert xroad.service_header_of(str(SERVICE)) == xroad.service_header(SERVICE)
    assert subsystem_of_service(str(SERVICE)) == "VN:GOV:000.00.01.G01:dancu"
    caches = (xroad._client_header, xroad._service_header, subsystem_of_service)
    held = [c.cache_info().currsize for c in caches]
    for bad in ("", "VN:GOV", "VN:GOV:000.00.01.G01:dan/cu:x", "\x00" * 300, "x" * 65_536):
        assert xroad.client_header_of(bad) == ""
        assert xroad.service_header_of(bad) == ""
        with pytest.raises(InvalidIdentifier):
            subsystem_of_service(bad)
    assert [c.cache_info().currsize for c in caches] == held
    for n in range(xroad.PARSED_CACHE + 100):
        xroad.service_header_of(f"VN:GOV:000.00.01.G01:dancu:s{n}:v1")
        subsystem_of_service(f"VN:GOV:000.00.01.G01:d{n}:s:v1")
    assert xroad._service_header.cache_info().currsize == xroad.PARSED_CACHE
    assert subsystem_of_service.cache_info().currsize == xroad.PARSED_CACHE
