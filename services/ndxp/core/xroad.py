"""The X-Road Message Protocol for REST (r1) as ndxp speaks it: identifiers on the URL and in
``X-Road-Client``, the request hash, and ndxp's rejections as X-Road errors (which HTTP headers
cross Kafka: :mod:`ndxp.core.xroad_headers`). Pure; the gateway (:mod:`ndxp.gateway`) does the I/O.
schemas/WIRE.md ("Callers over HTTP") documents every rule here, and where ndxp differs.

Identifiers. X-Road names a service ``INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE``; an ndxp service
id has a version as well (``VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1``). The version goes
into the service code after a ``~`` (``tra-cuu-cong-dan~v1``): ``~`` is unreserved in URIs, X-Road
allows it in identifiers, and ndxp codes never contain it, so the rule is reversible. Each
segment is percent-encoded UTF-8 on the wire and decoded one by one (an encoded ``/`` stays
inside its segment)."""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote

from ndxp.core import wire
from ndxp.core.errors import InvalidIdentifier, RejectionCode
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId

PROTOCOL: Final = "r1"
VERSION_MARK: Final = "~"
MAX_URI_CHARS: Final = 4096  # X-Road: clients limit URLs to ~2,000; we allow twice that
MAX_SEGMENT_CHARS: Final = 256  # encoded; a decoded ndxp code is at most 64 (+ ~ + 32)
# services and clients parsed, remembered (least recently used out). Only what parses is kept,
# so a key is at most 5 segments of MAX_SEGMENT_CHARS: both caches hold under 10 MiB however
# many distinct ones callers send
PARSED_CACHE: Final = 4096

# HTTP call data on the Kafka request (sender headers: ndxp.core.wire, schemas/WIRE.md)
H_HTTP_METHOD: Final = wire.H_HTTP_METHOD
H_HTTP_PATH: Final = wire.H_HTTP_PATH
H_HTTP_QUERY: Final = wire.H_HTTP_QUERY
H_HTTP_STATUS: Final = wire.H_HTTP_STATUS
H_HTTP_ERROR: Final = wire.H_HTTP_ERROR


class XRoadError(Exception):
    """A call the gateway answers itself: HTTP status, X-Road error type, message."""

    def __init__(self, status: int, type_: str, message: str, retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.retry_after = retry_after


def bad_request(message: str) -> XRoadError:
    return XRoadError(400, "Client.BadRequest", message)


@dataclass(frozen=True)
class Call:
    """What a ``/r1/…`` URL names: the service, and the path and query after it (raw)."""

    service: ServiceId
    path: str
    query: str


def service_code(service: ServiceId) -> str:
    """The X-Road service code of an ndxp service: ``code`` or ``code~version``."""
    if service.version is None:
        return service.code
    return f"{service.code}{VERSION_MARK}{service.version}"


def subsystem_segments(subsystem: SubsystemId) -> list[str]:
    m = subsystem.member
    return [m.instance, m.member_class, str(m.code), subsystem.code]


def service_segments(service: ServiceId) -> list[str]:
    return [*subsystem_segments(service.subsystem), service_code(service)]


def encode(segments: Sequence[str]) -> str:
    return "/".join(quote(s, safe="~") for s in segments)


def service_path(service: ServiceId) -> str:
    """``/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1``."""
    return f"/{PROTOCOL}/{encode(service_segments(service))}"


def client_header(subsystem: SubsystemId) -> str:
    """``X-Road-Client: VN/GOV/000.00.00.H41/motcua``."""
    return encode(subsystem_segments(subsystem))


def client_header_of(client: str) -> str:
    """``X-Road-Client`` for an ndxp client id (as text; empty when it does not parse)."""
    try:
        return _client_header(client)
    except InvalidIdentifier:
        return ""


@functools.lru_cache(maxsize=PARSED_CACHE)
def _client_header(client: str) -> str:
    """Cached as :func:`_service` is (the provider adapter names the client of every call):
    only what parses is kept, a refusal is raised, never remembered."""
    return client_header(SubsystemId.parse(client))


def service_header(service: ServiceId) -> str:
    """``X-Road-Service: VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1``."""
    return encode(service_segments(service))


def service_header_of(service: str) -> str:
    """``X-Road-Service`` for an ndxp service id (as text; empty when it does not parse)."""
    try:
        return _service_header(service)
    except InvalidIdentifier:
        return ""


@functools.lru_cache(maxsize=PARSED_CACHE)
def _service_header(service: str) -> str:
    """Cached as :func:`_client_header` is."""
    return service_header(ServiceId.parse(service))


def decode(segment: str, what: str = "a segment") -> str:
    if len(segment) > MAX_SEGMENT_CHARS:
        raise bad_request(f"{what} is longer than {MAX_SEGMENT_CHARS} characters")
    try:
        text = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise bad_request(f"{what} is not percent-encoded UTF-8") from None
    if not text:
        raise bad_request(f"{what} is empty")
    if any(c in text for c in ":;/\\%") or not text.isprintable() or text != text.strip():
        raise bad_request(f"{what} {text[:80]!r} has a character X-Road identifiers may not use")
    return text


def parse_call(raw_path: str) -> Call:
    """The service, path and query of a raw request target ``/r1/I/C/M/S/SVC[/path][?q]``
    (still percent-encoded, as received). Refuses what is not a call to one service."""
    if len(raw_path) > MAX_URI_CHARS:
        raise XRoadError(414, "Client.BadRequest", f"the URI is over {MAX_URI_CHARS} characters")
    if "#" in raw_path:  # a fragment is not sent (RFC 9112): a raw one hides what follows it
        raise bad_request("the request target may not hold '#'")
    target, _, query = raw_path.partition("?")
    prefix = f"/{PROTOCOL}/"
    if not target.startswith(prefix):
        raise bad_request(f"the path must start with {prefix} (X-Road Message Protocol for REST)")
    parts = target[len(prefix) :].split("/")
    if len(parts) < 5:
        raise bad_request(
            "the service id must be /r1/{instance}/{memberClass}/{memberCode}/"
            "{subsystemCode}/{serviceCode}"
        )
    service = _service("/".join(parts[:5]))
    rest = parts[5:]
    path = "/" + "/".join(rest) if rest else ""
    return Call(service, path, query)


@functools.lru_cache(maxsize=PARSED_CACHE)
def _service(segments: str) -> ServiceId:
    """The service five raw segments name. Cached: a gateway's calls name a few hundred
    services, and decoding and checking them was 8.8 % of its CPU under load (py-spy, 64
    calls in flight); bounded, so any number of distinct paths cannot grow it. A refusal
    is raised, never cached."""
    names = ("instance", "member class", "member code", "subsystem code", "service code")
    instance, member_class, code, subsystem, svc = (
        decode(p, n) for p, n in zip(segments.split("/"), names, strict=True)
    )
    base, mark, version = svc.partition(VERSION_MARK)
    text = f"{instance}:{member_class}:{code}:{subsystem}:{base}" + (f":{version}" if mark else "")
    try:
        return ServiceId.parse(text)
    except InvalidIdentifier as exc:
        raise XRoadError(400, "Client.InvalidServiceIdentifier", exc.reason) from None


def provider_url(base: str, path: str, query: str) -> str | None:
    """``base`` (a provider's endpoint URL) + a call's path and query, both still
    percent-encoded as the caller sent them; ``None`` for anything that could leave ``base``
    once decoded: a dot segment (:func:`_dot_segment`: ``..``, ``.%2e``, ``..;x``, ``.. ``),
    a segment holding ``/``, ``\\`` or a control character once decoded, a ``#``, a byte
    outside printable ASCII, or a path not starting at ``/``. The URL is sent as built (no
    client may decode or normalize it again)."""
    if path and not path.startswith("/"):
        return None
    for text in (path, query):
        if not (text.isascii() and text.isprintable()) or " " in text or "#" in text:
            return None
    for segment in path.split("/")[1:]:
        try:
            decoded = unquote(segment, errors="strict") if "%" in segment else segment
        except UnicodeDecodeError:
            return None
        if _dot_segment(decoded) or "/" in decoded or "\\" in decoded:
            return None
        if not decoded.isprintable():  # %00, %0A …: a control character once decoded
            return None
    url = base.rstrip("/") + path
    return f"{url}?{query}" if query else url


def _dot_segment(decoded: str) -> bool:
    """A decoded path segment that some server would take for ``.`` or ``..``: only dots,
    once its path parameters (``;…``, which Tomcat and Jetty drop before resolving: ``..;x``)
    and trailing spaces and dots (which Windows servers drop: ``.. ``, ``...``) are left out."""
    name = decoded.split(";", 1)[0].rstrip(" ")
    return bool(name) and set(name) <= {"."}


def parse_client(value: str | None) -> SubsystemId:
    """The subsystem ``X-Road-Client`` names. ndxp's clients are subsystems: the subsystem
    code X-Road makes optional is required here."""
    if value is None or not value.strip():
        raise XRoadError(
            400, "Client.MissingClientIdentifier", "the X-Road-Client header is missing"
        )
    return _client(value.strip())


@functools.lru_cache(maxsize=PARSED_CACHE)
def _client(value: str) -> SubsystemId:
    """:func:`parse_client` of a stripped header, cached as :func:`_service` is."""
    parts = value.split("/")
    if len(parts) != 4:
        raise XRoadError(
            400,
            "Client.InvalidClientIdentifier",
            "X-Road-Client must be {instance}/{memberClass}/{memberCode}/{subsystemCode}",
        )
    names = ("instance", "member class", "member code", "subsystem code")
    decoded = [decode(p, f"X-Road-Client {n}") for p, n in zip(parts, names, strict=True)]
    try:
        return SubsystemId.parse(":".join(decoded))
    except InvalidIdentifier as exc:
        raise XRoadError(400, "Client.InvalidClientIdentifier", exc.reason) from None


def parse_member(segments: Sequence[str]) -> MemberId:
    """A member named by three raw URL segments (metaservices)."""
    if len(segments) != 3:
        raise bad_request("a member is {instance}/{memberClass}/{memberCode}")
    names = ("instance", "member class", "member code")
    decoded = [decode(p, n) for p, n in zip(segments, names, strict=True)]
    try:
        return MemberId.parse(":".join(decoded))
    except InvalidIdentifier as exc:
        raise XRoadError(400, "Client.InvalidClientIdentifier", exc.reason) from None


def request_hash(headers: Iterable[tuple[str, bytes]], body: bytes) -> str:
    """X-Road-Request-Hash: base64(SHA-512(SHA-512(headers) + SHA-512(body))), or
    base64(SHA-512(headers)) without a body. The headers are the Kafka request's, in order,
    each as ``name: value\\r\\n`` (UTF-8 name, value bytes as sent)."""
    h = hashlib.sha512()
    for name, value in headers:
        h.update(name.encode("utf-8", "surrogateescape") + b": " + bytes(value) + b"\r\n")
    if not body:
        return base64.b64encode(h.digest()).decode("ascii")
    both = h.digest() + hashlib.sha512(body).digest()
    return base64.b64encode(hashlib.sha512(both).digest()).decode("ascii")


# ndxp's rejection codes as X-Road errors: (HTTP status, X-Road-Error type). X-Road answers
# 500 to every security-server error and 400 to a malformed call; ndxp answers the status that
# says what happened (schemas/WIRE.md), with the type in X-Road's families.
REJECTIONS: Final[dict[str, tuple[int, str]]] = {
    RejectionCode.MALFORMED.value: (400, "Client.BadRequest"),
    RejectionCode.TOO_LARGE.value: (413, "Client.BadRequest"),
    RejectionCode.NOT_SENDER.value: (403, "Server.ClientProxy.AccessDenied"),
    RejectionCode.UNKNOWN_CLIENT.value: (403, "Server.ClientProxy.UnknownMember"),
    RejectionCode.UNKNOWN_SERVICE.value: (404, "Server.ServerProxy.UnknownService"),
    RejectionCode.FORBIDDEN.value: (403, "Server.ServerProxy.AccessDenied"),
    # a provider's answer refused (its notice goes to the provider, never to a caller)
    RejectionCode.UNSOLICITED.value: (403, "Server.ServerProxy.AccessDenied"),
    RejectionCode.NO_ROUTE.value: (502, "Server.ServerProxy.NetworkError"),
    RejectionCode.QUOTA_EXCEEDED.value: (429, "Server.ServerProxy.QuotaExceeded"),
    RejectionCode.MISPARTITIONED.value: (500, "Server.ClientProxy.InternalError"),
    # a document's receivers (the document axis has no REST form: for completeness)
    RejectionCode.UNKNOWN_RECEIVER.value: (404, "Server.ServerProxy.UnknownMember"),
    RejectionCode.SELF.value: (400, "Client.BadRequest"),
    RejectionCode.STATUS_UNKNOWN.value: (400, "Client.BadRequest"),
    RejectionCode.STATUS_NOT_PARTY.value: (403, "Server.ClientProxy.AccessDenied"),
    RejectionCode.STATUS_OUT_OF_ORDER.value: (409, "Client.BadRequest"),
    RejectionCode.STATUS_REPEATED.value: (409, "Client.BadRequest"),
    RejectionCode.STATUS_CLOSED.value: (409, "Client.BadRequest"),
    RejectionCode.STATUS_NO_DOCUMENT.value: (404, "Client.BadRequest"),
}
TIMEOUT: Final = (504, "Server.ClientProxy.Timeout")
UNAVAILABLE: Final = (503, "Server.ClientProxy.ServiceUnavailable")
SERVICE_FAILED: Final = (502, "Server.ServerProxy.ServiceFailed")  # an answer that is not HTTP


def rejection(code: str, detail: str, retry_after: str | None = None) -> XRoadError:
    """The X-Road error for a rejection notice from the router (``retry_after``: the
    router's seconds, decimal; HTTP's ``Retry-After`` is whole seconds, rounded up)."""
    status, type_ = REJECTIONS.get(code, (500, "Server.ClientProxy.InternalError"))
    return XRoadError(status, type_, f"{code}: {detail}", _whole_seconds(retry_after))


def _whole_seconds(text: str | None) -> str | None:
    try:
        return None if text is None else str(max(1, math.ceil(float(text))))
    except (ValueError, OverflowError):  # not a number, nan, inf
        return None


_ERROR_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*){0,5}")


def answer_status(text: str | None) -> int | None:
    """The HTTP status of an answer from its ``ndxp-http-status`` (a provider's, so any
    value): 200 when absent, ``None`` when it is not an HTTP status (the caller gets
    :data:`SERVICE_FAILED`, not the provider's body under a made-up status)."""
    if text is None:
        return 200
    ok = text.isascii() and text.isdigit() and len(text) == 3 and 100 <= int(text) <= 599
    return int(text) if ok else None


def answer_error(text: str | None) -> str | None:
    """``X-Road-Error`` from an answer's ``ndxp-http-error``: an X-Road error type
    (``Server.ServerProxy.NetworkError``), at most 120 characters; anything else is left out."""
    if text is None or len(text) > 120 or _ERROR_TYPE.fullmatch(text) is None:
        return None
    return text


def error_body(err: XRoadError, detail: str) -> dict[str, str]:
    """X-Road's error body: ``type``, ``message``, ``detail`` (here: the request's id)."""
    return {"type": err.type, "message": err.message, "detail": detail}
