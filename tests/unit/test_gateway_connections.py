"""``gateway/connections.py``: connections counted in all and per caller, and a connection
past a bound answered in X-Road's form and closed before aiohttp's handler sees it."""

from __future__ import annotations

from typing import Any

from ndxp.gateway.connections import Connections, Gate, refusal


class Transport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


class Handler:
    """aiohttp's handler, as the gate drives it."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(data)

    def eof_received(self) -> bool | None:
        self.events.append("eof")
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("lost")


def connect(limits: Connections, caller: str | None) -> tuple[Gate, Handler, Transport]:
    handler, transport = Handler(), Transport()
    gate = Gate(handler, limits, lambda t: caller)
    gate.connection_made(transport)
    return gate, handler, transport


def test_a_caller_past_its_share_is_answered_429_and_closed() -> None:
    limits = Connections(most=100, per_caller=2)
    admitted = [connect(limits, "VN:GOV:000.00.00.H41") for _ in range(2)]
    gate, handler, transport = connect(limits, "VN:GOV:000.00.00.H41")
    assert transport.closed and handler.events == []
    head, _, body = transport.written.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429 ")
    assert b"X-Road-Error: Server.ClientProxy.QuotaExceeded" in head
    assert b"Retry-After: 1" in head and b"Connection: close" in head
    assert b'"type":"Server.ClientProxy.QuotaExceeded"' in body
    gate.data_received(b"GET / HTTP/1.1\r\n\r\n")  # nothing reaches aiohttp
    gate.connection_lost(None)
    assert handler.events == [] and limits.open == 2
    # another member still gets in; one of the first leaving frees a place
    assert not connect(limits, "VN:GOV:000.00.00.H42")[2].closed
    admitted[0][0].connection_lost(None)
    assert admitted[0][1].events == ["made", "lost"]
    assert not connect(limits, "VN:GOV:000.00.00.H41")[2].closed
    assert limits.refused == 1


def test_the_process_bound_counts_every_caller_and_plain_http() -> None:
    limits = Connections(most=3, per_caller=100)
    for caller in ("VN:GOV:000.00.00.H41", None, None):
        assert not connect(limits, caller)[2].closed
    transport = connect(limits, "VN:GOV:000.00.00.H42")[2]
    assert transport.closed and transport.written.startswith(b"HTTP/1.1 503 ")
    assert b"Server.ClientProxy.ServiceUnavailable" in transport.written
    assert limits.open == 3 and limits.by_caller == {"VN:GOV:000.00.00.H41": 1}


def test_an_admitted_connection_passes_everything_through() -> None:
    limits = Connections(most=10, per_caller=10)
    gate, handler, _ = connect(limits, None)
    gate.data_received(b"x")
    gate.eof_received()
    gate.connection_lost(None)
    gate.connection_lost(None)  # asyncio calls it once; a second changes nothing
    assert handler.events == ["made", b"x", "eof", "lost"]
    assert limits.open == 0


def test_the_refusal_is_one_complete_http_answer() -> None:
    from ndxp.core.xroad import XRoadError

    answer = refusal(XRoadError(503, "Server.ClientProxy.ServiceUnavailable", "full", "1"))
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(next(h for h in head.split(b"\r\n") if h.startswith(b"Content-Length"))[16:])
    assert length == len(body)
