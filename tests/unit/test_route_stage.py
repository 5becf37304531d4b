"""The router's ingress stage on records as aiokafka hands them over (no broker): what it
stamps on the copies it writes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ndxp.core import wire
from ndxp.core.routing import Router
from ndxp.paths import DEFAULT_REGISTRY
from ndxp.registry_file import load_registry
from ndxp.router.forwarding import Outgoing
from ndxp.router.refusal import Output
from ndxp.router.route_stage import LOG_APPEND_TIME, Ingress, route
from ndxp.router.stats import RouterStats

REGISTRY = load_registry(DEFAULT_REGISTRY)
IN_H41 = "ndxp.in.000.00.00.H41"


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_type: int = LOG_APPEND_TIME


def ingress(out: list[Outgoing]) -> Ingress:
    async def emit(o: Outgoing) -> None:
        out.append(o)

    return Ingress(Router(REGISTRY), Output(emit, RouterStats()), None, False, 3, b"k" * 32)


def request(received_ms: int) -> Record:
    headers = [
        (wire.H_ID, b"rt-1"),
        (wire.H_KIND, b"request"),
        (wire.H_CLIENT, b"VN:GOV:000.00.00.H41:motcua"),
        (wire.H_SERVICE, b"VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"),
    ]
    return Record(IN_H41, 0, 7, received_ms, b"VN:GOV:000.00.00.H41:motcua", b"{}", headers)


def test_a_routed_copy_says_when_it_was_routed_and_keeps_its_receipt() -> None:
    # a record the broker stamped a minute ago (a backlog): routed now, received then
    received = int(time.time() * 1000) - 60_000
    out: list[Outgoing] = []
    before = int(time.time() * 1000)
    asyncio.run(route(ingress(out), request(received)))
    [copy] = out
    headers = dict(copy.headers)
    assert int(headers[wire.H_ROUTED_AT] or b"0") >= before
    assert copy.timestamp_ms == received
    assert headers[wire.H_SOURCE_OFFSET] == b"7"
