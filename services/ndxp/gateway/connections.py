"""Open connections of a gateway process, bounded in all and per caller.

Every open connection costs the gateway a file descriptor and memory (aiohttp's handler, its
buffers; ~0.2 MB each measured for connections whose calls were refused), whether or not a
call ever comes on it. Unbounded, one member opening tens of thousands would take the
process's descriptors and memory from every other member. So each connection is counted
against the process and, with mutual TLS, against its caller: the member of its client
certificate (a platform's units share its certificate, and its share). Plain HTTP (local work
only) knows no caller, and counts the process only: one load generator opens thousands. Past
``per_caller`` or ``most`` a new connection is answered at once in X-Road's error form
(429 ``Server.ClientProxy.QuotaExceeded`` with ``Retry-After: 1`` for the caller's share, 503
``Server.ClientProxy.ServiceUnavailable`` for the process's) and closed, before aiohttp sees it.

:class:`Gate` is the connection's protocol in front of aiohttp's: it decides in
``connection_made`` (after the TLS handshake, so the certificate is known) and then hands every
event to aiohttp's handler.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from ndxp.core.xroad import XRoadError, error_body
from ndxp.pki import CertificateError, member_of_der


class Connections:
    """How many connections are open, in all and per caller, within ``most`` and
    ``per_caller``."""

    def __init__(self, most: int, per_caller: int) -> None:
        self.most, self.per_caller = most, per_caller
        self.open = 0
        self.by_caller: Counter[str] = Counter()
        self.refused = 0

    def admit(self, caller: str | None) -> XRoadError | None:
        """Count a new connection of ``caller`` (``None``: not known, the process's bound
        only), or the error it is refused with."""
        if caller is not None and self.by_caller[caller] >= self.per_caller:
            self.refused += 1
            return XRoadError(
                429,
                "Server.ClientProxy.QuotaExceeded",
                f"{caller} has {self.per_caller} connections open to this gateway process",
                retry_after="1",
            )
        if self.open >= self.most:
            self.refused += 1
            return XRoadError(
                503,
                "Server.ClientProxy.ServiceUnavailable",
                f"this gateway process has {self.most} connections open",
                retry_after="1",
            )
        self.open += 1
        if caller is not None:
            self.by_caller[caller] += 1
        return None

    def release(self, caller: str | None) -> None:
        self.open -= 1
        if caller is None:
            return
        left = self.by_caller[caller] - 1
        if left > 0:
            self.by_caller[caller] = left
        else:
            del self.by_caller[caller]


def refusal(err: XRoadError) -> bytes:
    """The whole HTTP/1.1 answer to a connection refused: the error, then the close."""
    body = orjson.dumps(error_body(err, ""))
    reason = {429: "Too Many Requests", 503: "Service Unavailable"}.get(err.status, "Error")
    head = (
        f"HTTP/1.1 {err.status} {reason}\r\n"
        "Content-Type: application/json\r\n"
        f"X-Road-Error: {err.type}\r\n"
        f"Retry-After: {err.retry_after or '1'}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class Gate(asyncio.Protocol):
    """A connection's protocol: counted against its caller and the process, then aiohttp's
    handler (``inner``) for everything; over a bound, answered :func:`refusal` and closed."""

    def __init__(
        self, inner: Any, connections: Connections, caller_of: Callable[[Any], str | None]
    ) -> None:
        self.inner, self.connections, self.caller_of = inner, connections, caller_of
        self.admitted = False
        self.caller: str | None = None

    def connection_made(self, transport: Any) -> None:
        caller = self.caller_of(transport)
        err = self.connections.admit(caller)
        if err is not None:
            transport.write(refusal(err))
            transport.close()
            return
        self.admitted, self.caller = True, caller
        self.inner.connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.admitted:
            return
        self.admitted = False
        self.connections.release(self.caller)
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if not self.admitted:
            return None
        result: bool | None = self.inner.eof_received()
        return result

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()


def gate(
    make: Callable[[], Any], connections: Connections, caller_of: Callable[[Any], str | None]
) -> Gate:
    """One connection's protocol (for ``loop.create_server``, through ``functools.partial``):
    aiohttp's handler (``make``: the runner's server) behind a :class:`Gate`."""
    return Gate(make(), connections, caller_of)


def caller_of(transport: Any) -> str | None:
    """Who a connection is counted against: its client certificate's member with mutual TLS
    (``?`` for a certificate naming none: they share one bound); ``None`` in plain HTTP."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    try:
        return member_of_der(der) if der else "?"
    except CertificateError:
        return "?"
