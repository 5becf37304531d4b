"""Which HTTP headers cross the X-Road gateway, and how: a call's end-to-end headers travel
on the Kafka request under their own names, X-Road's optional user headers as ndxp headers;
hop-by-hop, origin-leaking and X-Road's own headers never cross, in either direction, and
nobody forges the platform's ``ndxp-*`` headers. Pure; schemas/WIRE.md ("Callers over HTTP")
documents the rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from ndxp.core import wire

XROAD_TO_NDXP: Final = {
    "x-road-userid": wire.H_USER_ID,
    "x-road-issue": wire.H_ISSUE,
    "x-road-represented-party": wire.H_REPRESENTED_PARTY,
}

# HTTP headers that never cross the gateway (X-Road's "filtered headers": hop-by-hop, and the
# ones that leak the origin host), and those the gateway sets itself.
FILTERED: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "user-agent",
        "server",
        "content-length",
        "expect",
        "date",
    }
)
XROAD_HEADERS: Final = frozenset(
    {
        "x-road-client",
        "x-road-service",
        "x-road-id",
        "x-road-request-id",
        "x-road-request-hash",
        "x-road-error",
        "x-road-security-server",
        *XROAD_TO_NDXP,
    }
)


# RFC 9110: a field name is a token; a field value holds no control character but HTAB
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def http_field(name: str, value: str) -> bool:
    """Whether HTTP can carry ``name: value`` as it is: a name that is a token, a value with
    no line break, NUL or other control character (a header a Kafka sender made can hold
    anything; written into an HTTP message it would split it, or the HTTP client refuses it)."""
    return _TOKEN.fullmatch(name) is not None and _CONTROL.search(value) is None


def connection_named(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The (lower-case) names a ``Connection`` header lists: hop-by-hop for this message too
    (RFC 9110, 7.6.1), so they never cross."""
    return frozenset(
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    )


def forwarded(headers: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The HTTP headers of a call as Kafka headers: end-to-end headers pass under their own
    (lower-case) names, in order; X-Road's optional user headers become ndxp headers;
    filtered and X-Road headers, and those ``Connection`` names, are dropped. Returns the
    headers and any ``ndxp-*`` names the caller sent (refused by the gateway: nobody forges
    the platform's headers)."""
    headers = list(headers)
    hop = connection_named(headers)
    out: list[tuple[str, bytes]] = []
    forged: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower in hop and not lower.startswith("ndxp-"):
            continue
        if lower.startswith("ndxp-"):
            forged.append(name)
        elif lower in XROAD_TO_NDXP:
            out.append((XROAD_TO_NDXP[lower], value.encode("utf-8", "surrogateescape")))
        elif lower in FILTERED or lower in XROAD_HEADERS:
            continue
        else:
            out.append((lower, value.encode("utf-8", "surrogateescape")))
    return out, forged


def answered_headers(headers: Iterable[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """The HTTP headers a Kafka message's headers become (an answer from a Kafka provider,
    or a request the provider adapter calls an HTTP provider with): the end-to-end headers;
    the platform's (``ndxp-*``), filtered and X-Road ones left out (the gateway sets X-Road's
    own), and any that HTTP cannot carry as they are (:func:`http_field`, or not UTF-8)."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("ndxp-") or lower in FILTERED or lower in XROAD_HEADERS:
            continue
        try:
            text = bytes(value or b"").decode("utf-8")
        except UnicodeDecodeError:
            continue  # HTTP cannot carry it as text
        if not http_field(name, text):
            continue  # header injection, or a name HTTP has no room for
        out.append((name, text))
    return out
