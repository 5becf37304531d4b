"""The sender's envelope: the headers the router reads, decoded strictly (present once,
UTF-8, valid; none of the router's own), and a document's or a status's headers. Pure: a
refusal is a :class:`ndxp.core.errors.Rejection` with its stable code; the value is never read.
"""

from __future__ import annotations

from collections.abc import Sequence

from ndxp.core import document, document_status, package, wire
from ndxp.core.errors import Rejection, RejectionCode
from ndxp.core.immutable import immutable

Headers = Sequence[tuple[str, bytes | None]]


@immutable
class Envelope:
    """The sender headers the router reads, decoded."""

    id: str
    kind: str
    client: str
    service: str
    correlation_id: str | None
    ticket: str | None = None
    """A response's ``ndxp-ticket``, echoed from the request it answers (ndxp.core.ticket)."""


_WANTED = frozenset(wire.SENDER_HEADERS)
_FORBIDDEN = frozenset(wire.ROUTER_HEADERS)


def read_envelope(headers: Headers) -> Envelope:
    """Decode the sender headers; refuse missing, repeated, non-UTF-8 or invalid ones."""
    found: dict[str, str] = {}
    for name, raw in headers:
        if name in _WANTED:
            if name in found:
                raise Rejection(RejectionCode.MALFORMED, f"header {name} is repeated")
            found[name] = _utf8(name, raw)
        elif name in _FORBIDDEN or name.startswith(wire.INTERNAL_PREFIX):
            raise Rejection(
                RejectionCode.MALFORMED,
                f"header {clip(name, 80)} is set by the router, not by senders",
            )
        elif not name.isascii() and not _utf8_name(name):
            raw = name.encode("utf-8", "surrogateescape")
            raise Rejection(
                RejectionCode.MALFORMED,
                f"a header name is not UTF-8 ({clip(raw.hex(' '), 60)})",
            )
    message_id = found.get(wire.H_ID)
    if message_id is None:
        raise Rejection(RejectionCode.MALFORMED, f"missing header {wire.H_ID}")
    if not wire.valid_message_id(message_id):
        raise Rejection(
            RejectionCode.MALFORMED,
            f"header {wire.H_ID} must be 1-{wire.MAX_ID_LENGTH} printable ASCII "
            "characters without spaces",
        )
    kind = found.get(wire.H_KIND)
    if kind is None:
        raise Rejection(RejectionCode.MALFORMED, f"missing header {wire.H_KIND}")
    if kind not in wire.SENDER_KINDS:
        raise Rejection(
            RejectionCode.MALFORMED,
            f"header {wire.H_KIND} is {clip(kind)!r}; senders may use "
            f"{', '.join(wire.SENDER_KINDS)}",
        )
    client = found.get(wire.H_CLIENT)
    if client is None:
        raise Rejection(RejectionCode.MALFORMED, f"missing header {wire.H_CLIENT}")
    service = found.get(wire.H_SERVICE)
    if service is None and kind not in wire.DOCUMENT_KINDS:
        raise Rejection(RejectionCode.MALFORMED, f"missing header {wire.H_SERVICE}")
    if service is not None and kind in wire.DOCUMENT_KINDS:
        raise Rejection(
            RejectionCode.MALFORMED, f"a {kind} names its document, not {wire.H_SERVICE}"
        )
    correlation_id = found.get(wire.H_CORRELATION_ID)
    if correlation_id is None and kind == wire.KIND_RESPONSE:
        raise Rejection(RejectionCode.MALFORMED, f"a response needs header {wire.H_CORRELATION_ID}")
    if correlation_id is not None and not wire.valid_message_id(correlation_id):
        raise Rejection(
            RejectionCode.MALFORMED,
            f"header {wire.H_CORRELATION_ID} must be 1-{wire.MAX_ID_LENGTH} printable ASCII "
            "characters without spaces",
        )
    sent_at = found.get(wire.H_SENT_AT)
    if sent_at is not None and not wire.valid_epoch_ms(sent_at):
        raise Rejection(
            RejectionCode.MALFORMED,
            f"header {wire.H_SENT_AT} must be epoch milliseconds (a decimal integer), "
            f"not {clip(sent_at)!r}",
        )
    ticket = found.get(wire.H_TICKET)
    if ticket is not None and kind != wire.KIND_RESPONSE:
        raise Rejection(
            RejectionCode.MALFORMED,
            f"header {wire.H_TICKET} is the router's on a request's copy; a sender sets it "
            "only on a response, echoed from the request it answers",
        )
    return Envelope(message_id, kind, client, service or "", correlation_id, ticket)


_DOCUMENT_HEADERS = frozenset(document.ENVELOPE_HEADERS + package.PACKAGE_HEADERS)
_STATUS_HEADERS = frozenset(document_status.STATUS_HEADERS)


def document_headers(headers: Headers) -> dict[str, str]:
    """A document's envelope headers, decoded, each once; the receiver header is the router's."""
    for name, _ in headers:
        if name == wire.H_DOC_RECEIVER:
            raise Rejection(
                RejectionCode.MALFORMED, f"header {name} is set by the router, not by senders"
            )
    return _envelope_headers(headers, _DOCUMENT_HEADERS)


def status_headers(headers: Headers) -> dict[str, str]:
    """A status's headers, decoded, each once."""
    return _envelope_headers(headers, _STATUS_HEADERS)


def _envelope_headers(headers: Headers, wanted: frozenset[str]) -> dict[str, str]:
    """The headers named in ``wanted``, decoded, each once."""
    found: dict[str, str] = {}
    for name, raw in headers:
        if name in wanted:
            if name in found:
                raise Rejection(RejectionCode.MALFORMED, f"header {name} is repeated")
            found[name] = _utf8(name, raw)
    return found


def header_value(headers: Headers, name: str) -> str:
    """A header's value as text, for a detail (decoded by then)."""
    for found, raw in headers:
        if found == name and raw is not None:
            return bytes(raw).decode("utf-8", "replace")
    return ""


def _utf8(name: str, raw: bytes | None) -> str:
    if raw is None:
        raise Rejection(RejectionCode.MALFORMED, f"header {name} has no value")
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejection(
            RejectionCode.MALFORMED, f"header {name} is not UTF-8 (byte {exc.start})"
        ) from None


def _utf8_name(name: str) -> bool:
    """A header name that was UTF-8 on the wire (the consumer hands names that were not with
    their bytes as surrogates: ndxp.kafka.records)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def peek_id(headers: Headers) -> str | None:
    """The first valid ``ndxp-id``, for error notices even when other headers are bad."""
    for name, raw in headers:
        if name == wire.H_ID and raw is not None:
            try:
                text = bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                return None
            return text if wire.valid_message_id(text) else None
    return None


def clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
