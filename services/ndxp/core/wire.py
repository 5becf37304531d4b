"""The wire contract: topic names and header names (documented in schemas/WIRE.md)."""

from __future__ import annotations

from collections.abc import Iterable

from ndxp.core.identifiers import MemberId

INGRESS_PREFIX = "ndxp.in."
EGRESS_PREFIX = "ndxp.out."
REJECTED_TOPIC = "ndxp.rejected"

# Headers the sender sets.
H_ID = "ndxp-id"
H_KIND = "ndxp-kind"
H_CLIENT = "ndxp-client"
H_SERVICE = "ndxp-service"
H_CORRELATION_ID = "ndxp-correlation-id"
# Optional: when the sender says it produced the record (epoch ms), kept as its claim. The
# platform's time is the broker's: ingress topics stamp each record when they append it
# (LogAppendTime), and that is the Kafka timestamp of every copy the router writes.
H_SENT_AT = "ndxp-sent-at"
# Optional: an HTTP call carried across Kafka (the X-Road REST gateway, ndxp.core.xroad): the
# request line, and on a response the provider's status; X-Road's optional user headers.
H_HTTP_METHOD = "ndxp-http-method"
H_HTTP_PATH = "ndxp-http-path"  # the path after the service id, as sent ("" or "/...")
H_HTTP_QUERY = "ndxp-http-query"  # the raw query string, as sent (without "?")
H_HTTP_STATUS = "ndxp-http-status"  # on a response: the HTTP status to answer with
H_HTTP_ERROR = "ndxp-http-error"  # on a response: the X-Road error type, when there is one
H_USER_ID = "ndxp-user-id"  # X-Road-UserId: the official whose action caused the request
H_ISSUE = "ndxp-issue"  # X-Road-Issue: the case or document that caused it
H_REPRESENTED_PARTY = "ndxp-represented-party"  # X-Road-Represented-Party
# A request's ticket (ndxp.core.ticket): the router stamps it on a request's routed copy; the
# provider echoes it on its response, which is refused (UNSOLICITED) without the right one.
# Set by a sender only on a response.
H_TICKET = "ndxp-ticket"
SENDER_HEADERS = (
    H_ID,
    H_KIND,
    H_CLIENT,
    H_SERVICE,
    H_CORRELATION_ID,
    H_SENT_AT,
    H_HTTP_METHOD,
    H_HTTP_PATH,
    H_HTTP_QUERY,
    H_HTTP_STATUS,
    H_HTTP_ERROR,
    H_USER_ID,
    H_ISSUE,
    H_REPRESENTED_PARTY,
    H_TICKET,
)

# Headers only the router sets; a sender that sets one is refused (MALFORMED).
H_ROUTED_AT = "ndxp-routed-at"
H_ROUTE = "ndxp-route"
H_ERROR = "ndxp-error"
H_ERROR_DETAIL = "ndxp-error-detail"
H_SOURCE_TOPIC = "ndxp-source-topic"
H_SOURCE_PARTITION = "ndxp-source-partition"
H_SOURCE_OFFSET = "ndxp-source-offset"
# On a QUOTA_EXCEEDED rejection (in the spirit of Retry-After and RateLimit-*).
H_QUOTA_LIMIT = "ndxp-quota-limit"  # the limit's name
H_QUOTA_POLICY = "ndxp-quota-policy"  # e.g. "rate=2000/s;burst=4000" or "daily=5000000"
H_QUOTA_REMAINING = "ndxp-quota-remaining"  # requests left today under that limit
H_RETRY_AFTER = "ndxp-retry-after"  # seconds, decimal
# On the dead letter of a document's refused receiver that does not carry the document again
# (the first refused receiver's dead letter does): the document's size and SHA-256 (hex).
H_PAYLOAD_SIZE = "ndxp-payload-size"
H_PAYLOAD_SHA256 = "ndxp-payload-sha256"
ROUTER_HEADERS = (
    H_ROUTED_AT,
    H_ROUTE,
    H_ERROR,
    H_ERROR_DETAIL,
    H_SOURCE_TOPIC,
    H_SOURCE_PARTITION,
    H_SOURCE_OFFSET,
    H_QUOTA_LIMIT,
    H_QUOTA_POLICY,
    H_QUOTA_REMAINING,
    H_RETRY_AFTER,
    H_PAYLOAD_SIZE,
    H_PAYLOAD_SHA256,
)
# On a request the router writes again on its client's home partition (a "home copy"):
# stripped before delivery; senders may not set them.
INTERNAL_PREFIX = "ndxp-x-"
H_X_KEY = "ndxp-x-key"  # the sender's key (absent: the key was null)
H_X_SOURCE = "ndxp-x-source"  # ingress topic:partition:offset
H_X_ROUTE = "ndxp-x-route"  # the member code routing chose
H_X_RECEIVED = "ndxp-x-received"  # the original record's time of receipt (epoch ms)
H_X_EVENT = "ndxp-x-event"  # a document's event: "delivered" or "status"
H_X_SEAL = "ndxp-x-seal"  # HMAC of the router's key over the above: a home copy, written last

KIND_REQUEST = "request"
KIND_RESPONSE = "response"
# A one-way message from a client system to a service that answers nothing (e.g. a one-stop
# shop's application statuses synchronised to the national public-service portal): checked,
# quota-counted and ledgered as a request is.
KIND_NOTICE = "notice"
KIND_ERROR = "error"
# The document exchange axis (schemas/WIRE.md, "Documents"): a document goes to each of the
# receivers it names, a copy each (its statuses are not routed yet: the router refuses them).
KIND_DOCUMENT = "document"
KIND_STATUS = "status"
DOCUMENT_KINDS = (KIND_DOCUMENT, KIND_STATUS)
H_DOC_RECEIVER = "ndxp-doc-receiver"  # a document's copy: whose (the router's); a status: its
SENDER_KINDS = (KIND_REQUEST, KIND_RESPONSE, KIND_NOTICE, KIND_DOCUMENT, KIND_STATUS)
CALL_KINDS = (KIND_REQUEST, KIND_NOTICE)  # from a client to a service

MAX_ID_LENGTH = 128
DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
# The key and all of a message's headers together (names, values and their lengths) have
# bounds of their own: without them a record made of a key or of headers would pass the value
# limit, and its routed copy (the router adds headers) would no longer fit the topic: the
# broker would refuse it and the partition would stall on it (ndxp.core.budget).
MAX_KEY_BYTES = 4 * 1024
MAX_HEADER_BYTES = 64 * 1024
# And their number: a header takes 3 bytes on the wire and ~80 bytes of Python objects in a
# consumer, and every component reads it in Python: 64 KiB of headers is 21,000 of them, and a
# sender's records of 21,000 headers each held the router to 61 records a second and 2.7 GB.
# The router refuses a sender's record of more than MAX_HEADERS TOO_LARGE, before reading any,
# and its dead-letter copy keeps the first MAX_HEADERS. ndxp's consumers keep the first
# READ_HEADERS of any record as they read it (ndxp.kafka.records), room for a sender's
# MAX_HEADERS and every header the router adds to a copy. The gateway's HTTP server takes 128
# headers a call (aiohttp's default), so its records stay well within the bound.
MAX_HEADERS = 256
READ_HEADERS = 2 * MAX_HEADERS
H_X_HEADER_COUNT = "ndxp-x-header-count"  # after the first READ_HEADERS: how many there were


def ingress_topic(member: MemberId | str) -> str:
    return f"{INGRESS_PREFIX}{_code(member)}"


def egress_topic(member: MemberId | str) -> str:
    return f"{EGRESS_PREFIX}{_code(member)}"


def _code(member: MemberId | str) -> str:
    return str(member.code) if isinstance(member, MemberId) else member


def valid_epoch_ms(text: str) -> bool:
    """A decimal epoch-milliseconds time, as ``ndxp-sent-at`` carries it (any value of a
    signed 64-bit integer: a claim is kept as claimed)."""
    digits = text[1:] if text.startswith("-") else text
    return (
        0 < len(digits) <= 19
        and digits.isascii()
        and digits.isdigit()
        and (-(2**63) <= int(text) < 2**63)
    )


def valid_message_id(text: str) -> bool:
    """1–128 printable ASCII characters, no spaces (a UUID fits)."""
    return (
        0 < len(text) <= MAX_ID_LENGTH and text.isascii() and text.isprintable() and " " not in text
    )


def header(headers: Iterable[tuple[str, bytes | None]], name: str) -> str | None:
    """The first value of the header ``name`` (a header without a value is passed over),
    decoded leniently (bytes that are not UTF-8 become U+FFFD); ``None`` when there is none.
    For what reads headers the router already judged (the quota stage, the tools); the routing
    stage decodes a sender's strictly (:func:`ndxp.core.envelope.read_envelope`)."""
    for key, raw in headers:
        if key == name and raw is not None:
            return bytes(raw).decode("utf-8", "replace")
    return None
