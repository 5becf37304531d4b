"""The X-Road REST gateway against the real broker, router and simulator: a call as Nghệ An's
one-stop-shop system to the population database through ``/r1/…`` answered with X-Road's
headers; the router's refusals as X-Road errors; a provider that never answers (504); the
metaservices; calls the gateway refuses itself; many calls at once."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yarl
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, TopicPartition
from multidict import CIMultiDict

from ndxp.core.topology import SHORT_KEY_BYTES
from ndxp.core.wire import MAX_KEY_BYTES
from ndxp.paths import DEFAULT_REGISTRY, REPO
from ndxp.pki import ca_files, client_ssl_context, issue_member, member_files

from .conftest import Broker
from .kafka_tools import (
    GatewayProcess,
    LedgerProcess,
    RouterProcess,
    Tap,
    free_port,
    group_tickets,
    hdr,
    producer,
    request,
    send,
)
from .kafka_tools import adapter as start_adapter
from .kafka_tools import rest_providers as start_rest_providers
from .kafka_tools import simulator as start_simulator

pytestmark = pytest.mark.integration

CLIENT = "VN/GOV/000.00.00.H41/motcua"  # Nghệ An's one-stop-shop system
MOTCUA_CLIENT = "VN:GOV:000.00.00.H41:motcua"  # the same caller as Kafka names it
POPULATION = "/r1/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1"  # answered by the simulator
UNANSWERED = "/r1/VN/GOV/000.00.00.G01/lgsp/tiep-nhan-van-ban~v1"  # granted, not simulated
FORBIDDEN = "/r1/VN/GOV/000.00.00.H01/datdai/thong-tin-thua-dat~v1"  # another province's land


@pytest.fixture(scope="module")
def simulator(kafka: Broker, router: RouterProcess) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "NDXP_BOOTSTRAP": kafka.bootstrap, "NDXP_VAR": str(kafka.var)}
    proc = start_simulator(
        ["000.00.01.G01", "--group", "gateway-test-simulator"],
        env,
        kafka.var / "gateway-simulator.log",
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def gateway(
    kafka: Broker, router: RouterProcess, simulator: subprocess.Popen[bytes]
) -> Iterator[GatewayProcess]:
    g = GatewayProcess(
        kafka.bootstrap,
        kafka.var / "gateway.log",
        env={"NDXP_VAR": str(kafka.var)},
        timeout_s=3.0,
    )
    with running(g):
        yield g


@contextmanager
def running(g: GatewayProcess) -> Iterator[GatewayProcess]:
    """``g`` started and answering its health endpoint; stopped after."""
    g.start()
    try:
        g.wait_ready()
        yield g
    finally:
        g.stop()


def url(g: GatewayProcess, path: str) -> str:
    return f"http://127.0.0.1:{g.web_port}{path}"


async def fetch(
    method: str, target: str | yarl.URL, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, target, headers=headers or {}, data=body) as r,
    ):
        return r.status, dict(r.headers), await r.read()


def test_a_call_is_answered_with_xroad_headers(gateway: GatewayProcess) -> None:
    call_id = str(uuid.uuid4())
    body = b'{"so_dinh_danh": "040123456789"}'
    status, headers, answer = asyncio.run(
        fetch(
            "POST",
            url(gateway, f"{POPULATION}/cong-dan/tra-cuu?lan=1&ly-do=hs"),
            {
                "X-Road-Client": CLIENT,
                "X-Road-Id": call_id,
                "X-Road-UserId": "VN001234567890",
                "Content-Type": "application/json",
            },
            body,
        )
    )
    assert status == 200, answer
    assert headers["X-Road-Client"] == CLIENT
    assert headers["X-Road-Service"] == POPULATION.removeprefix("/r1/")
    assert headers["X-Road-Id"] == call_id == headers["X-Road-Request-Id"]
    assert len(base64.b64decode(headers["X-Road-Request-Hash"])) == 64  # SHA-512
    assert headers["Content-Type"].startswith("application/json")
    assert "X-Road-Error" not in headers
    document = orjson.loads(answer)
    # the provider saw the same call: method, path and query, and the body byte for byte
    assert document["method"] == "POST"
    assert document["path"] == "/cong-dan/tra-cuu"
    assert document["query"] == "lan=1&ly-do=hs"
    assert document["request_bytes"] == len(body)
    assert document["service"] == "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def test_a_compressed_body_travels_as_it_came(gateway: GatewayProcess) -> None:
    """A gzip body and its Content-Encoding reach the provider byte for byte, never inflated
    by the gateway: a 0.5 MB bomb (512 MiB of zeros) is a 0.5 MB call like any other. The
    gateway inflated bodies before, on its one event loop: four callers sending that bomb
    held every other member's call for seconds, and providers got an inflated body still
    marked gzip."""
    small = gzip.compress(b'{"so_dinh_danh": "040123456789"}')
    bomb = gzip.compress(b"\0" * (512 << 20), 9)
    assert len(bomb) < 1 << 20
    for body in (small, bomb):
        status, _, answer = asyncio.run(
            fetch(
                "POST",
                url(gateway, f"{POPULATION}/cong-dan/tra-cuu"),
                {"X-Road-Client": CLIENT, "Content-Encoding": "gzip"},
                body,
            )
        )
        assert status == 200, answer
        assert orjson.loads(answer)["request_bytes"] == len(body)


def test_a_call_without_an_id_gets_one(gateway: GatewayProcess) -> None:
    status, headers, _ = asyncio.run(
        fetch("GET", url(gateway, POPULATION), {"X-Road-Client": CLIENT})
    )
    assert status == 200
    uuid.UUID(headers["X-Road-Id"])


def test_an_answer_goes_only_to_the_call_it_answers(
    kafka: Broker, router: RouterProcess, gateway: GatewayProcess
) -> None:
    """Ids are the callers': another member's call with the same X-Road-Id is a call of its
    own (not 409), and a response carrying a waiting call's id from another service's provider
    is not its answer (the call times out instead of taking it). The router refuses such an
    answer (no request to that service carried the id: UNSOLICITED); here it carries a ticket
    made with the router group's key, so it is routed, and the gateway's own match is what
    keeps it from the call."""
    rid = f"shared-{uuid.uuid4().hex[:8]}"
    tax = "VN:GOV:000.00.18.G12:thue:nghia-vu-tai-chinh:v1"
    ticket = group_tickets(kafka.bootstrap, router.group).stamp(MOTCUA_CLIENT, tax, rid)
    forged = [
        ("ndxp-id", f"{rid}-forged".encode()),
        ("ndxp-kind", b"response"),
        ("ndxp-client", MOTCUA_CLIENT.encode()),
        ("ndxp-service", tax.encode()),
        ("ndxp-correlation-id", rid.encode()),
        ("ndxp-http-status", b"200"),
        ("ndxp-ticket", ticket),
    ]

    async def run() -> tuple[tuple[int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]:
        waiting = asyncio.create_task(
            fetch(
                "GET", url(gateway, f"{UNANSWERED}/x"), {"X-Road-Client": CLIENT, "X-Road-Id": rid}
            )
        )
        await asyncio.sleep(0.5)  # the call is written and waits for its answer
        other = await fetch(
            "POST",
            url(gateway, f"{POPULATION}/cong-dan/tra-cuu"),
            {"X-Road-Client": "VN/GOV/000.00.00.H40/motcua", "X-Road-Id": rid},
            b'{"so_dinh_danh": "040123456789"}',
        )
        p = producer(kafka.bootstrap)  # the tax department's provider answers the call
        send(p, "ndxp.in.000.00.18.G12", forged, value=b'{"stolen": false}', key=b"x")
        p.flush(10)
        return await waiting, other

    (status, headers, body), (other_status, _, _) = asyncio.run(run())
    assert other_status == 200
    assert status == 504 and headers["X-Road-Error"] == "Server.ClientProxy.Timeout", body


def test_a_kafka_providers_headers_http_cannot_carry_never_reach_the_caller(
    kafka: Broker, router: RouterProcess, gateway: GatewayProcess
) -> None:
    """A provider with a Kafka client answers a gateway call with headers a Kafka sender can
    name anything: a line break in a name (response splitting: a Set-Cookie of its own), a
    space in a name, a NUL in a value. The call is answered with the provider's other headers;
    those never reach the HTTP answer."""
    rid = f"split-{uuid.uuid4().hex[:8]}"
    service = "VN:GOV:000.00.00.G01:lgsp:tiep-nhan-van-ban:v1"
    # the ticket the call's copy carries (the provider read it there; made here with the key)
    ticket = group_tickets(kafka.bootstrap, router.group).stamp(MOTCUA_CLIENT, service, rid)
    answer = [
        ("ndxp-id", f"{rid}-answer".encode()),
        ("ndxp-kind", b"response"),
        ("ndxp-client", MOTCUA_CLIENT.encode()),
        ("ndxp-service", service.encode()),
        ("ndxp-correlation-id", rid.encode()),
        ("ndxp-http-status", b"200"),
        ("ndxp-ticket", ticket),
        ("x-evil\r\nset-cookie", b"session=stolen"),
        ("x evil", b"1"),
        ("x-nul", b"a\x00b"),
        ("x-kept", b"kept"),
    ]

    async def run() -> tuple[int, dict[str, str], bytes]:
        waiting = asyncio.create_task(
            fetch(
                "GET", url(gateway, f"{UNANSWERED}/x"), {"X-Road-Client": CLIENT, "X-Road-Id": rid}
            )
        )
        await asyncio.sleep(0.5)  # the call is written and waits for its answer
        p = producer(kafka.bootstrap)  # the provider's system answers it over Kafka
        send(p, "ndxp.in.000.00.00.G01", answer, value=b"{}", key=b"lgsp")
        p.flush(10)
        return await waiting

    status, headers, body = asyncio.run(run())
    assert status == 200, body
    assert headers.get("x-kept") == "kept"
    names = {name.lower() for name in headers}
    assert not names & {"set-cookie", "x-evil", "x evil", "x-nul"}, names


def test_another_units_refused_record_with_the_same_id_is_not_the_calls_answer(
    kafka: Broker, gateway: GatewayProcess
) -> None:
    """Ids are the callers': another system of the same province, sending over Kafka a
    record with a waiting call's X-Road-Id that the router refuses, gets an error notice on
    the province's egress topic with that id, but it is about its own record (its ingress
    coordinates), not the call's: the call waits on and times out. Before, any error notice
    with the id ended the call with that refusal."""
    rid = f"borrowed-{uuid.uuid4().hex[:8]}"
    other = request(rid, "VN:GOV:000.00.00.H41:dvc", "VN:GOV:000.00.01.G01:dancu:khong-co:v1")

    async def run() -> tuple[int, dict[str, str], bytes]:
        waiting = asyncio.create_task(
            fetch(
                "GET", url(gateway, f"{UNANSWERED}/x"), {"X-Road-Client": CLIENT, "X-Road-Id": rid}
            )
        )
        await asyncio.sleep(0.5)  # the call is written and waits for its answer
        p = producer(kafka.bootstrap)
        send(p, "ndxp.in.000.00.00.H41", other, key=b"VN:GOV:000.00.00.H41:dvc")
        p.flush(10)
        return await waiting

    taps = Tap(kafka.bootstrap, ["ndxp.out.000.00.00.H41"])
    try:
        status, headers, body = asyncio.run(run())
        notices = [
            m for m in taps.collect(lambda ms: False, timeout=1) if hdr(m, "ndxp-kind") == "error"
        ]
    finally:
        taps.close()
    assert [hdr(m, "ndxp-error") for m in notices if hdr(m, "ndxp-correlation-id") == rid] == [
        "UNKNOWN_SERVICE"
    ]  # the other record's refusal was there to take
    assert status == 504 and headers["X-Road-Error"] == "Server.ClientProxy.Timeout", body


@pytest.mark.parametrize(
    ("path", "client", "status", "xroad_error"),
    [
        (FORBIDDEN, CLIENT, 403, "Server.ServerProxy.AccessDenied"),
        (
            "/r1/VN/GOV/000.00.01.G01/dancu/khong-co~v1",
            CLIENT,
            404,
            "Server.ServerProxy.UnknownService",
        ),
        (POPULATION, "VN/GOV/000.00.00.H41/khong-co", 403, "Server.ClientProxy.UnknownMember"),
        (POPULATION, "", 400, "Client.MissingClientIdentifier"),
        (POPULATION, "VN/GOV/000.00.00.H41", 400, "Client.InvalidClientIdentifier"),
        ("/r1/VN/GOV/000.00.01.G01/dancu", CLIENT, 400, "Client.BadRequest"),
        ("/r1/VN/GOV/000.00.01.G01/dan%2Fcu/x", CLIENT, 400, "Client.BadRequest"),
        ("/r1/VN/GOV/000.00.01.G01/dancu/a%FFb", CLIENT, 400, "Client.BadRequest"),
        (UNANSWERED, CLIENT, 504, "Server.ClientProxy.Timeout"),
        ("/r2/VN/GOV/000.00.01.G01/dancu/tra-cuu-cong-dan~v1", CLIENT, 404, "Client.BadRequest"),
        ("/", "", 404, "Client.BadRequest"),
    ],
)
def test_refusals_are_xroad_errors(
    gateway: GatewayProcess, path: str, client: str, status: int, xroad_error: str
) -> None:
    headers = {"X-Road-Client": client} if client else {}
    got, answer_headers, body = asyncio.run(fetch("GET", url(gateway, path), headers))
    assert got == status, body
    assert answer_headers["X-Road-Error"] == xroad_error
    assert answer_headers["Content-Type"].startswith("application/json")
    error = orjson.loads(body)
    assert error["type"] == xroad_error and error["message"]
    assert error["detail"] == answer_headers["X-Road-Id"]


def test_what_the_gateway_refuses_itself(gateway: GatewayProcess) -> None:
    forged = asyncio.run(
        fetch("GET", url(gateway, POPULATION), {"X-Road-Client": CLIENT, "ndxp-client": "x"})
    )
    assert forged[0] == 400 and b"ndxp-client" in forged[2]
    too_large = asyncio.run(
        fetch("POST", url(gateway, POPULATION), {"X-Road-Client": CLIENT}, b"x" * (1024**2 + 1))
    )
    assert too_large[0] == 413 and too_large[1]["X-Road-Error"] == "Client.BadRequest"
    bad_id = asyncio.run(
        fetch("GET", url(gateway, POPULATION), {"X-Road-Client": CLIENT, "X-Road-Id": "a b"})
    )
    assert bad_id[0] == 400
    for name, value in (("X-Road-Client", "VN/GOV/000.00.00.H40/motcua"), ("X-Road-Id", "b")):
        both = CIMultiDict([("X-Road-Client", CLIENT), ("X-Road-Id", "a"), (name, value)])
        repeated = asyncio.run(fetch("GET", url(gateway, POPULATION), both))  # type: ignore[arg-type]
        assert repeated[0] == 400 and b"repeated" in repeated[2], name


def raw_call(g: GatewayProcess, path: str, headers: list[tuple[str, str]]) -> int:
    """The status of a GET with exactly these request headers (and Host, Connection)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{g.web_port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    with socket.create_connection(("127.0.0.1", g.web_port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_the_most_headers_a_call_may_have_fit_the_routers_bound(gateway: GatewayProcess) -> None:
    """The gateway's HTTP server takes 128 request headers (aiohttp's default), so a call with
    every one of them, each passed on as a header of its request, stays within the router's
    bound on a record's headers (256, schemas/WIRE.md "Sizes") and is answered; one more header
    is aiohttp's 400, and the gateway goes on."""
    own = [("X-Road-Client", CLIENT)]
    fill = [(f"x-h-{i}", "v") for i in range(128 - 2 - len(own))]  # 128 with Host, Connection
    assert raw_call(gateway, POPULATION, own + fill) == 200
    assert raw_call(gateway, POPULATION, [*own, *fill, ("x-one-more", "v")]) == 400
    assert raw_call(gateway, POPULATION, own) == 200


def test_metaservices_answer_from_the_registry(gateway: GatewayProcess) -> None:
    status, _, body = asyncio.run(fetch("GET", url(gateway, "/listClients")))
    assert status == 200
    ids = orjson.loads(body)["member"]
    assert {
        "member_class": "GOV",
        "member_code": "000.00.00.H41",
        "object_type": "SUBSYSTEM",
        "subsystem_code": "motcua",
        "xroad_instance": "VN",
    } in [m["id"] for m in ids]
    status, _, body = asyncio.run(
        fetch("GET", url(gateway, "/r1/VN/GOV/000.00.01.G01/dancu/listMethods"))
    )
    assert status == 200
    codes = {s["service_code"] for s in orjson.loads(body)["service"]}
    assert "tra-cuu-cong-dan~v1" in codes
    for method in ("POST", "DELETE", "PUT"):  # metaservices are read with GET only
        status, headers, _ = asyncio.run(
            fetch(method, url(gateway, "/r1/VN/GOV/000.00.01.G01/dancu/listMethods"), {}, b"{}")
        )
        assert (status, headers["X-Road-Error"]) == (405, "Client.BadRequest"), method
        status, headers, _ = asyncio.run(fetch(method, url(gateway, "/listClients"), {}, b"{}"))
        assert (status, headers["X-Road-Error"]) == (405, "Client.BadRequest"), method
    status, _, body = asyncio.run(
        fetch(
            "GET",
            url(gateway, "/r1/VN/GOV/000.00.00.H01/datdai/allowedMethods"),
            {"X-Road-Client": CLIENT},
        )
    )
    assert status == 200 and orjson.loads(body)["service"] == []  # nothing granted there
    status, headers, _ = asyncio.run(
        fetch("GET", url(gateway, "/r1/VN/GOV/000.00.01.G01/dancu/getOpenAPI?serviceCode=x"))
    )
    assert status == 404 and headers["X-Road-Error"] == "Server.ServerProxy.UnknownService"
    status, _, body = asyncio.run(
        fetch(
            "GET",
            url(
                gateway,
                "/r1/VN/GOV/000.00.01.G01/dancu/getOpenAPI?serviceCode=tra-cuu-cong-dan~v1",
            ),
        )
    )
    assert status == 200  # the description the sample registry declares for the service
    document = orjson.loads(body)
    assert document["openapi"].startswith("3.") and "/cong-dan" in document["paths"]


def test_many_calls_at_once_are_each_answered_once(gateway: GatewayProcess) -> None:
    async def run() -> list[tuple[int, str]]:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> tuple[int, str]:
                call_id = f"burst-{i}-{uuid.uuid4()}"
                async with session.get(
                    url(gateway, f"{POPULATION}/n/{i}"),
                    headers={"X-Road-Client": CLIENT, "X-Road-Id": call_id},
                ) as r:
                    document = orjson.loads(await r.read())
                    assert r.headers["X-Road-Id"] == call_id
                    return r.status, document["path"]

            return await asyncio.gather(*(one(i) for i in range(300)))

    results = asyncio.run(run())
    assert [s for s, _ in results] == [200] * 300
    assert [p for _, p in results] == [f"/n/{i}" for i in range(300)]  # each its own answer


def test_first_calls_of_many_members_at_once_are_each_answered(gateway: GatewayProcess) -> None:
    """The reply consumer reads a member's egress topic from its first call: calls of a dozen
    members' systems arriving together (most of them first calls, each one adding a topic while
    answers to the others flow) are each answered, once, with their own answer."""
    from ndxp.registry_file import load_registry

    registry = load_registry(DEFAULT_REGISTRY)
    service = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
    clients, routes = [], set()
    for sid, party in sorted(registry.subsystems.items()):
        route = registry.route_for(party.member)
        if route is not None and route not in routes and registry.allowed(service, party):
            routes.add(route)
            clients.append(sid.replace(":", "/"))
    clients = clients[:12]
    assert len(clients) == 12

    async def run() -> list[tuple[int, str, str]]:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> tuple[int, str, str]:
                client = clients[i % len(clients)]
                async with session.get(
                    url(gateway, f"{POPULATION}/m/{i}"), headers={"X-Road-Client": client}
                ) as r:
                    document = orjson.loads(await r.read())
                    answered_for = r.headers.get("X-Road-Client", str(document))  # or the error
                    return r.status, answered_for, document.get("path", "")

            return await asyncio.gather(*(one(i) for i in range(240)))

    results = asyncio.run(run())
    assert [s for s, _, _ in results] == [200] * 240, results
    assert [c for _, c, _ in results] == [clients[i % 12] for i in range(240)]
    assert [p for _, _, p in results] == [f"/m/{i}" for i in range(240)]
    health = gateway.health()
    assert health is not None and health["answers_read_on"] >= 12


TLS_CONNECTIONS_PER_CALLER = 8


@pytest.fixture(scope="module")
def tls_gateway(
    kafka: Broker, router: RouterProcess, simulator: subprocess.Popen[bytes]
) -> Iterator[tuple[GatewayProcess, Path]]:
    """The gateway with mutual TLS; member certificates of Nghệ An (H41) and another province (H42)
    issued by the platform CA, as ``ndxp certs issue`` does."""
    secrets = kafka.var / "secrets"
    for member in ("VN:GOV:000.00.00.H41", "VN:GOV:000.00.00.H42"):
        issue_member(secrets, member)
    ca = ca_files(secrets).cert
    h41 = member_files(secrets, "000.00.00.H41")
    g = GatewayProcess(
        kafka.bootstrap,
        kafka.var / "gateway-tls.log",
        env={
            "NDXP_VAR": str(kafka.var),
            "NDXP_GATEWAY_TLS": "on",
            "NDXP_GATEWAY_MAX_CONNECTIONS_PER_CALLER": str(TLS_CONNECTIONS_PER_CALLER),
            "NDXP_GATEWAY_HANDSHAKE_TIMEOUT_S": "2",
        },
        timeout_s=3.0,
        tls=client_ssl_context(h41.cert, h41.key, ca),
    )
    with running(g):
        yield g, secrets


def tls_fetch(
    g: GatewayProcess, context: ssl.SSLContext | None, client: str
) -> tuple[int, dict[str, str], bytes]:
    async def go() -> tuple[int, dict[str, str], bytes]:
        connector = aiohttp.TCPConnector(ssl=context if context is not None else False)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(
                f"https://127.0.0.1:{g.web_port}{POPULATION}", headers={"X-Road-Client": client}
            ) as r,
        ):
            return r.status, dict(r.headers), await r.read()

    return asyncio.run(go())


def test_with_mutual_tls_the_certificate_decides_who_may_call(
    tls_gateway: tuple[GatewayProcess, Path],
) -> None:
    g, secrets = tls_gateway
    ca = ca_files(secrets).cert
    h41 = member_files(secrets, "000.00.00.H41")
    h42 = member_files(secrets, "000.00.00.H42")
    as_h41 = client_ssl_context(h41.cert, h41.key, ca)
    status, headers, _ = tls_fetch(g, as_h41, CLIENT)
    assert status == 200 and headers["X-Road-Client"] == CLIENT
    # another province's certificate may not call as Nghệ An's one-stop shop
    status, headers, body = tls_fetch(g, client_ssl_context(h42.cert, h42.key, ca), CLIENT)
    assert status == 403, body
    assert headers["X-Road-Error"] == "Server.ClientProxy.SslAuthenticationFailed"
    # no client certificate: the handshake itself is refused
    bare = ssl.create_default_context(cafile=str(ca))
    with pytest.raises(aiohttp.ClientError):
        tls_fetch(g, bare, CLIENT)
    # plain HTTP to the TLS port: refused as well
    with pytest.raises(aiohttp.ClientError):
        asyncio.run(fetch("GET", url(g, POPULATION), {"X-Road-Client": CLIENT}))


def test_a_gateway_killed_mid_stream_loses_no_call_it_wrote(
    kafka: Broker,
    router: RouterProcess,
    simulator: subprocess.Popen[bytes],
    ledger: LedgerProcess,
) -> None:
    """kill -9 while 600 calls are under way: every call that was answered, and every call the
    gateway wrote to Kafka before it died (its caller saw the connection drop), is in the
    ledger once with its response; a gateway started again answers."""
    g = GatewayProcess(
        kafka.bootstrap, kafka.var / "gateway-kill.log", env={"NDXP_VAR": str(kafka.var)}
    )
    g.start()
    g.wait_ready()
    prefix = f"gwkill-{uuid.uuid4().hex[:8]}-"
    results: dict[str, object] = {}

    async def burst() -> None:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(i: int) -> None:
                call_id = f"{prefix}{i}"
                try:
                    async with session.post(
                        url(g, f"{POPULATION}/n/{i}"),
                        headers={"X-Road-Client": CLIENT, "X-Road-Id": call_id},
                        data=b'{"so_dinh_danh": "040123456789"}',
                    ) as r:
                        await r.read()
                        results[call_id] = r.status
                except aiohttp.ClientError as exc:
                    results[call_id] = type(exc).__name__

            tasks = [asyncio.create_task(one(i)) for i in range(600)]
            while sum(s == 200 for s in results.values()) < 150:
                await asyncio.sleep(0.01)
            await asyncio.get_running_loop().run_in_executor(None, g.kill9)
            await asyncio.gather(*tasks)

    try:
        asyncio.run(burst())
        answered = {i for i, s in results.items() if s == 200}
        cut = {i for i, s in results.items() if s != 200}
        assert len(answered) >= 150 and cut, results  # the kill came mid-stream
        where = f"startsWith(message_id, '{prefix}') AND kind = 'request'"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            [[n]] = ledger.sql(f"SELECT uniqExact(message_id) FROM ndxp.ledger WHERE {where}")
            if n >= len(answered):
                time.sleep(2)  # the rest of what the gateway wrote, and the responses
                break
            time.sleep(0.5)
        requests = dict(
            ledger.sql(f"SELECT message_id, count() FROM ndxp.ledger WHERE {where} GROUP BY 1")
        )
        responses = dict(
            ledger.sql(
                "SELECT correlation_id, count() FROM ndxp.ledger WHERE kind = 'response' AND "
                f"startsWith(correlation_id, '{prefix}') GROUP BY 1"
            )
        )
        assert answered <= set(requests)  # nothing answered is missing
        assert set(requests) <= answered | cut  # nothing the caller did not send
        assert set(requests.values()) == {1} and set(responses.values()) == {1}
        assert set(responses) == set(requests)  # every call written was answered by the provider
        g.start()  # as the platform's supervisor would
        g.wait_ready()
        status, _, _ = asyncio.run(fetch("GET", url(g, POPULATION), {"X-Road-Client": CLIENT}))
        assert status == 200
    finally:
        g.stop()


def test_slow_and_vanishing_callers_do_not_stop_the_others(gateway: GatewayProcess) -> None:
    """400 connections that send half a request and stall, 100 that connect and vanish with
    half a body sent: the gateway goes on answering everyone else, and stays up."""

    async def run() -> int:
        stalled = []
        for _ in range(400):
            _, writer = await asyncio.open_connection("127.0.0.1", gateway.web_port)
            writer.write(f"POST {POPULATION} HTTP/1.1\r\nHost: x\r\nX-Road-Cl".encode())
            stalled.append(writer)
        for _ in range(100):
            _, writer = await asyncio.open_connection("127.0.0.1", gateway.web_port)
            writer.write(
                f"POST {POPULATION} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {CLIENT}\r\n"
                "Content-Length: 100000\r\n\r\nhalf".encode()
            )
            await writer.drain()
            writer.transport.abort()  # gone, mid-body
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as session:
            statuses = []
            for i in range(20):
                async with session.get(
                    url(gateway, f"{POPULATION}/after/{i}"), headers={"X-Road-Client": CLIENT}
                ) as r:
                    statuses.append(r.status)
        for writer in stalled:
            writer.transport.abort()
        return statuses.count(200)

    assert asyncio.run(run()) == 20
    assert gateway.proc is not None and gateway.proc.poll() is None
    assert gateway.health() is not None


def test_a_member_holds_at_most_its_share_of_the_gateways_connections(
    tls_gateway: tuple[GatewayProcess, Path],
) -> None:
    """Connections counted per certificate member (gateway/connections.py): Nghệ An opens its
    share and keeps it idle; its next connection is answered 429 in X-Road's form and closed,
    another province still gets in, and a place freed is Nghệ An's again."""
    g, secrets = tls_gateway
    ca = ca_files(secrets).cert
    h41 = member_files(secrets, "000.00.00.H41")
    h42 = member_files(secrets, "000.00.00.H42")
    as_h41 = client_ssl_context(h41.cert, h41.key, ca)

    def connect(context: ssl.SSLContext) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", g.web_port), timeout=10)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    def answer(conn: ssl.SSLSocket) -> bytes:
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
        return got

    held = [connect(as_h41) for _ in range(TLS_CONNECTIONS_PER_CALLER)]
    try:
        time.sleep(0.5)  # the gateway has counted them (each handshake done)
        over = connect(as_h41)
        got = answer(over)  # answered, then closed by the gateway
        over.close()
        assert got.startswith(b"HTTP/1.1 429 "), got[:200]
        assert b"X-Road-Error: Server.ClientProxy.QuotaExceeded" in got
        assert orjson.loads(got.partition(b"\r\n\r\n")[2])["type"] == (
            "Server.ClientProxy.QuotaExceeded"
        )
        status, _, _ = tls_fetch(g, client_ssl_context(h42.cert, h42.key, ca), CLIENT)
        assert status == 403  # H42 is in (and may not call as Nghệ An: the usual answer)
        held.pop().close()
        time.sleep(0.5)
        status, headers, _ = tls_fetch(g, as_h41, CLIENT)
        assert status == 200 and headers["X-Road-Client"] == CLIENT

        async def health() -> Any:
            connector = aiohttp.TCPConnector(ssl=client_ssl_context(h42.cert, h42.key, ca))
            async with (
                aiohttp.ClientSession(connector=connector) as session,
                session.get(f"https://127.0.0.1:{g.web_port}/health") as r,
            ):
                return await r.json()

        seen = asyncio.run(health())
        assert seen["connections_refused"] >= 1  # what SREs see of it
        assert seen["connections"] >= TLS_CONNECTIONS_PER_CALLER  # Nghệ An's 7, H42's own
    finally:
        for conn in held:
            conn.close()


def test_a_connection_that_never_finishes_its_handshake_is_closed(
    tls_gateway: tuple[GatewayProcess, Path],
) -> None:
    """It is counted against no one until its handshake is done (the certificate says who it
    is), so it must not hold a descriptor for long: closed after the handshake timeout (2 s
    here, 10 by default; asyncio's 60 before)."""
    g, _ = tls_gateway
    # the socket's own timeout (15 s) raises if the gateway keeps it (asyncio's 60 s)
    with socket.create_connection(("127.0.0.1", g.web_port), timeout=15) as silent:
        assert silent.recv(1024) == b""  # closed by the gateway, nothing said


@pytest.fixture(scope="module")
def strict_gateway(
    kafka: Broker, router: RouterProcess, simulator: subprocess.Popen[bytes]
) -> Iterator[GatewayProcess]:
    """A gateway that waits 2 s for a request head and 2 s for a body."""
    g = GatewayProcess(
        kafka.bootstrap,
        kafka.var / "gateway-strict.log",
        env={
            "NDXP_VAR": str(kafka.var),
            "NDXP_GATEWAY_IDLE_TIMEOUT_S": "2",
            "NDXP_GATEWAY_BODY_TIMEOUT_S": "2",
        },
        timeout_s=3.0,
    )
    with running(g):
        yield g


@pytest.fixture(scope="module")
def budget_gateway(
    kafka: Broker, router: RouterProcess, simulator: subprocess.Popen[bytes]
) -> Iterator[GatewayProcess]:
    """A gateway that holds at most 4 MiB of bodies for one member's calls."""
    g = GatewayProcess(
        kafka.bootstrap,
        kafka.var / "gateway-budget.log",
        env={"NDXP_VAR": str(kafka.var), "NDXP_GATEWAY_MAX_BODY_BYTES_PER_MEMBER": str(4 << 20)},
    )
    with running(g):
        yield g


def test_bodies_that_never_finish_hold_only_their_members_share(
    budget_gateway: GatewayProcess,
) -> None:
    """Connections declaring 1 MiB bodies and sending a byte: the member's share (4 MiB
    here) is held, its next call and its units' are answered 429 at once, another member's
    calls go on, and the share is free again once those connections are gone. Before, each
    such connection held its megabyte for the body timeout, whoever sent it: 1,500 of them
    grew the gateway from 0.5 to 2.8 GB."""
    port = budget_gateway.web_port
    head = (
        f"POST {POPULATION} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {CLIENT}\r\n"
        f"Content-Length: {1 << 20}\r\n\r\nx"
    ).encode()

    async def run() -> tuple[list[int], int, list[int]]:
        stalled = []
        for _ in range(4):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head)
            await writer.drain()
            stalled.append(writer)
        await asyncio.sleep(0.5)
        target = url(budget_gateway, f"{POPULATION}/x")
        h40 = {"X-Road-Client": "VN/GOV/000.00.00.H40/motcua"}
        refused = [
            (await fetch("POST", target, {"X-Road-Client": CLIENT}, b"{}"))[0] for _ in range(3)
        ]
        # a unit of the province calls through the same platform: the same share
        unit = {"X-Road-Client": "VN/GOV/001.01.01.H41/motcua"}
        refused.append((await fetch("POST", target, unit, b"{}"))[0])
        other = (await fetch("POST", target, h40, b"{}"))[0]
        for writer in stalled:
            writer.transport.abort()
        await asyncio.sleep(0.5)
        again = [(await fetch("POST", target, {"X-Road-Client": CLIENT}, b"{}"))[0]]
        return refused, other, again

    refused, other, again = asyncio.run(run())
    assert refused == [429, 429, 429, 429]
    assert other == 200
    assert again == [200]
    assert budget_gateway.proc is not None and budget_gateway.proc.poll() is None


def test_a_caller_that_never_finishes_its_request_is_cut_off(
    strict_gateway: GatewayProcess,
) -> None:
    """A head sent a byte at a time is closed at the idle timeout (a slow-loris caller cannot
    hold connections for ever); a body that stops arriving is answered 408 at the body
    timeout; either way the gateway goes on answering."""
    port = strict_gateway.web_port

    async def trickled_head() -> float | None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {POPULATION} HTTP/1.1\r\nHost: x\r\nX-Road-Client: ".encode())
        started = time.monotonic()
        try:
            for _ in range(40):  # a byte every 0.25 s, for up to 10 s
                writer.write(b"V")
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1), 0.25) == b"":
                        return time.monotonic() - started  # closed by the gateway
                except TimeoutError:
                    continue
        except ConnectionError:
            return time.monotonic() - started
        finally:
            writer.transport.abort()
        return None

    async def stalled_body() -> tuple[bytes, dict[str, object]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {POPULATION} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {CLIENT}\r\n"
            "Content-Length: 1000\r\n\r\nhalf".encode()
        )
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            return head, orjson.loads(await reader.readexactly(length))
        finally:
            writer.transport.abort()

    closed_after = asyncio.run(trickled_head())
    assert closed_after is not None and 1.5 <= closed_after <= 6, closed_after
    head, body = asyncio.run(stalled_body())
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"X-Road-Error: Client.BadRequest" in head and body["type"] == "Client.BadRequest"
    status, _, _ = asyncio.run(
        fetch("GET", url(strict_gateway, POPULATION), {"X-Road-Client": CLIENT})
    )
    assert status == 200


TAX = "/r1/VN/GOV/000.00.18.G12/thue/nghia-vu-tai-chinh~v1"  # reached over HTTP
LAND = "/r1/VN/GOV/000.00.00.H41/datdai/thong-tin-thua-dat~v1"  # its endpoint is down
CITIZENS = "/r1/VN/GOV/000.00.01.G01/api/cong-dan~v1"  # its endpoint takes calls, never answers
CASES = "/r1/VN/GOV/000.00.00.H40/api/ho-so~v1"  # no adapter calls it but one test's own
ODD = "/r1/VN/GOV/000.00.00.H41/api/thua-dat~v1"  # its endpoint answers what a test asks for
ONE_MIB = 1024 * 1024  # the value limit the adapter runs with (NDXP_MAX_VALUE_BYTES)
ADAPTER_IN_FLIGHT = 40  # the module's adapter: one endpoint may hold a quarter, 10 calls


class OddProvider(socketserver.ThreadingTCPServer):
    """An HTTP endpoint that answers as a broken or hostile provider would: the last path
    segment of the request picks the answer (raw bytes, written as they are)."""

    daemon_threads = True
    allow_reuse_address = True
    payload = bytes(range(256)) * (ONE_MIB // 256)  # exactly 1 MiB, not text

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), OddAnswer)
        self.recorded: list[bytes] = []  # bodies of calls to .../record
        self.heads: list[bytes] = []  # their request lines and headers

    def answer(self, path: str) -> bytes:
        def ok(body: bytes, extra: bytes = b"") -> bytes:
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n".encode()
            return head + extra + b"Connection: close\r\n\r\n" + body

        name = path.rsplit("/", 1)[-1]
        if name == "exact":  # the largest answer that may travel
            return ok(self.payload)
        if name == "over":  # one byte more
            return ok(self.payload + b"!")
        if name == "fat-headers":  # 120 headers of 8,000 bytes: 960 KB, within aiohttp's limits
            return ok(b"{}", b"".join(b"X-Fat-%d: %s\r\n" % (i, b"f" * 8000) for i in range(120)))
        if name == "record":
            return ok(b"{}")
        if name == "gzip":  # compressed by the provider: passes as it is, with its encoding
            return ok(gzip.compress(b'{"compressed": true}'), b"Content-Encoding: gzip\r\n")
        if name == "not-http":
            return b"HELLO, THIS IS NOT HTTP\r\n\r\n"
        if name == "status-999":  # three digits, but no HTTP status
            return b"HTTP/1.1 999 Odd\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        if name == "short":  # a Content-Length the body never reaches
            return b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nab"
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class OddAnswer(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:  # read it all: unread bytes at close would reset the answer
            chunk = self.request.recv(65536)
            if not chunk:
                return
            body += chunk
        path = head.split(b" ", 2)[1].decode().split("?", 1)[0]
        assert isinstance(self.server, OddProvider)
        if path.endswith("/record"):
            self.server.recorded.append(body)
            self.server.heads.append(head)
        self.request.sendall(self.server.answer(path))
        self.request.shutdown(socket.SHUT_WR)


@pytest.fixture(scope="module")
def providers(
    kafka: Broker, router: RouterProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OddProvider]:
    """``ndxp simulate --http`` (REST providers) and ``ndxp provide`` calling them, on a copy of
    the sample registry where the tax department's ``thue`` subsystem is reached over HTTP, and
    Nghệ An's land system at an address where nothing listens, and the population database's
    REST API at one that takes connections and never answers."""
    port, dead = free_port(), free_port()
    odd = OddProvider()
    threading.Thread(target=odd.serve_forever, daemon=True).start()
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(64)  # connections complete in the backlog; nothing reads them
    doc = orjson.loads(DEFAULT_REGISTRY.read_bytes())
    for member in doc["members"]:
        for subsystem in member.get("subsystems", []):
            subsystem.pop("http", None)  # the sample's own REST APIs: not in this module
            if (member["id"], subsystem["code"]) == ("VN:GOV:000.00.18.G12", "thue"):
                subsystem["http"] = {"url": f"http://127.0.0.1:{port}/thue", "timeout_s": 5}
            if (member["id"], subsystem["code"]) == ("VN:GOV:000.00.00.H41", "datdai"):
                subsystem["http"] = {"url": f"http://127.0.0.1:{dead}/datdai", "timeout_s": 2}
            if (member["id"], subsystem["code"]) == ("VN:GOV:000.00.00.H41", "api"):
                url = f"http://127.0.0.1:{odd.server_address[1]}/odd"
                subsystem["http"] = {"url": url, "timeout_s": 5}
            if (member["id"], subsystem["code"]) == ("VN:GOV:000.00.01.G01", "api"):
                url = f"http://127.0.0.1:{hanging.getsockname()[1]}/dancu"
                subsystem["http"] = {"url": url, "timeout_s": 2}
    registry = tmp_path_factory.mktemp("providers") / "registry.json"
    registry.write_bytes(orjson.dumps(doc))
    env = {**os.environ, "NDXP_BOOTSTRAP": kafka.bootstrap, "NDXP_VAR": str(kafka.var)}
    env["NDXP_PROVIDER_MAX_IN_FLIGHT"] = str(ADAPTER_IN_FLIGHT)
    apis = ["--port", str(port), "--time-scale", "0"]
    procs = [start_rest_providers(apis, env, kafka.var / "providers.log")]
    try:
        # the adapter reads a new group from the end: the calls below are made once it has
        # its partitions
        args = ["--registry", str(registry), "--group", "gateway-test-provider"]
        procs.append(start_adapter(args, env, kafka.var / "providers.log"))
        yield odd
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        hanging.close()
        odd.shutdown()
        odd.server_close()


def test_a_provider_reached_over_http_answers_through_the_adapter(
    gateway: GatewayProcess, providers: None
) -> None:
    status, headers, body = asyncio.run(
        fetch(
            "POST",
            url(gateway, f"{TAX}/nghia-vu-tai-chinh"),
            {"X-Road-Client": CLIENT, "Content-Type": "application/json"},
            b'{"gia_tri": 1000000000}',
        )
    )
    assert status == 200, body
    assert orjson.loads(body)["thue_thu_nhap_ca_nhan"] == 20_000_000  # 2 % of 1 billion VND
    assert headers["Content-Type"].startswith("application/json")
    assert "X-Road-Error" not in headers
    # the provider's own error passes through as it is
    status, headers, body = asyncio.run(
        fetch("POST", url(gateway, f"{TAX}/nghia-vu-tai-chinh"), {"X-Road-Client": CLIENT}, b"{")
    )
    assert status == 400 and "X-Road-Error" not in headers and b"gia_tri" in body
    # a path that would leave the endpoint's base is not called (sent as is: not normalized),
    # however its dots are encoded (an HTTP client decodes %2e and removes the dot segments)
    for escape in ("/x/../../admin", "/.%2e/admin", "/%2e./admin", "/%2E%2e/admin", "/a%2F..%2F"):
        raw = yarl.URL(url(gateway, f"{TAX}{escape}"), encoded=True)
        status, headers, _ = asyncio.run(fetch("POST", raw, {"X-Road-Client": CLIENT}, b"{}"))
        assert status == 400 and headers["X-Road-Error"] == "Client.BadRequest", escape


def test_an_unreachable_provider_is_an_xroad_error(
    gateway: GatewayProcess, providers: None
) -> None:
    status, headers, body = asyncio.run(
        fetch("GET", url(gateway, f"{LAND}?so_to=1&so_thua=2"), {"X-Road-Client": CLIENT})
    )
    assert status == 502, body
    assert headers["X-Road-Error"] == "Server.ServerProxy.NetworkError"
    assert orjson.loads(body)["type"] == "Server.ServerProxy.NetworkError"


def test_a_provider_that_answers_garbage_gets_its_caller_an_xroad_error(
    gateway: GatewayProcess, providers: None
) -> None:
    """Answers the broker or the router could not take, or that are not HTTP, become X-Road
    errors at once (the gateway here waits 3 s before it would answer 504); the largest
    answer that may travel arrives byte for byte."""

    def call(name: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        method = "POST" if body else "GET"
        return asyncio.run(
            fetch(method, url(gateway, f"{ODD}/{name}"), {"X-Road-Client": CLIENT}, body)
        )

    # the largest body a caller may send, and the largest answer: each a record of its own
    status, headers, body = call("exact", OddProvider.payload)
    assert status == 200 and "X-Road-Error" not in headers, body[:300]
    assert hashlib.sha256(body).digest() == hashlib.sha256(OddProvider.payload).digest(), (
        len(body),
        body[:64],
        headers,
    )
    for name, error in (
        ("over", "Server.ServerProxy.ServiceFailed"),  # over the value limit
        ("fat-headers", "Server.ServerProxy.ServiceFailed"),  # over the header budget
        ("not-http", "Server.ServerProxy.NetworkError"),
        ("short", "Server.ServerProxy.NetworkError"),
        ("status-999", "Server.ServerProxy.ServiceFailed"),
    ):
        status, headers, body = call(name)
        assert (status, headers.get("X-Road-Error")) == (502, error), (name, status, body[:300])
        assert orjson.loads(body)["type"] == error
    status, headers, body = call("missing")  # the provider's own 404 passes through
    assert status == 404 and "X-Road-Error" not in headers
    status, headers, body = call("gzip")  # the client here decodes what is labelled gzip
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert orjson.loads(body) == {"compressed": True}


def test_a_notice_reaches_an_http_provider_and_nothing_answers_it(
    kafka: Broker, providers: OddProvider
) -> None:
    """A one-way notice to a service reached over HTTP is delivered as the same call; the
    provider's answer is published for a request (the control) and not for the notice."""
    run = uuid.uuid4().hex[:8]
    client, service = "VN:GOV:000.00.00.H41:motcua", "VN:GOV:000.00.00.H41:api:thua-dat:v1"
    answers = Tap(kafka.bootstrap, ["ndxp.in.000.00.00.H41"])  # where the adapter answers
    p = producer(kafka.bootstrap)
    try:
        for kind in ("notice", "request"):
            headers = request(f"{run}-{kind}", client, service, **{"ndxp-http-path": "/record"})
            headers = [(k, kind.encode() if k == "ndxp-kind" else v) for k, v in headers]
            send(p, "ndxp.in.000.00.00.H41", headers, value=f"{run}-{kind}".encode())
        p.flush(10)

        def answered(ms: list) -> bool:  # type: ignore[type-arg]
            return any(hdr(m, "ndxp-correlation-id") == f"{run}-request" for m in ms)

        answers.collect(answered, timeout=30)
        deadline = time.monotonic() + 10
        while len([b for b in providers.recorded if b.startswith(run.encode())]) < 2:
            assert time.monotonic() < deadline, providers.recorded
            time.sleep(0.1)
        answers.collect(lambda ms: False, timeout=1.0)  # anything late
    finally:
        answers.close()
    assert sorted(b for b in providers.recorded if b.startswith(run.encode())) == [
        f"{run}-notice".encode(),
        f"{run}-request".encode(),
    ]
    correlated = [hdr(m, "ndxp-correlation-id") for m in answers.messages]
    assert f"{run}-request" in correlated and f"{run}-notice" not in correlated


def test_an_http_provider_answers_under_any_key_its_caller_chose(
    kafka: Broker, providers: OddProvider
) -> None:
    """The adapter answers each request under the key its sender gave it, and each copy lands
    where schemas/WIRE.md says ("Where a routed copy lands"): a key of up to 128 bytes where
    Kafka's default partitioner puts it, a longer one by its SHA-256. Keys: the largest the
    router takes, one byte either side of the bound, bytes that are not UTF-8, an empty key and
    none at all. Checked on the three records each request makes: its routed copy (the router's
    outbox), the adapter's answer (ndxp's producer) and the answer's routed copy."""
    run = uuid.uuid4().hex[:8]
    client, service = "VN:GOV:000.00.00.H41:motcua", "VN:GOV:000.00.00.H41:api:thua-dat:v1"
    keys: dict[str, bytes | None] = {
        "largest": b"K" * MAX_KEY_BYTES,
        "short": b"c" * SHORT_KEY_BYTES,
        "long": b"h" * (SHORT_KEY_BYTES + 1),
        "not-utf8": b"\xff\xfe\x00" * 7,
        "long-not-utf8": b"\xff\xfe\x00" * 50,
        "empty": b"",
        "none": None,
    }
    # the caller and the provider are both of H41: the routed request and the routed answer
    # are on its egress topic, the adapter's answer on its ingress topic
    answers = Tap(kafka.bootstrap, ["ndxp.in.000.00.00.H41", "ndxp.out.000.00.00.H41"])
    p = producer(kafka.bootstrap)
    try:
        for name, key in keys.items():
            headers = request(f"{run}-{name}", client, service, **{"ndxp-http-path": "/record"})
            send(p, "ndxp.in.000.00.00.H41", headers, value=b"{}", key=key)
        p.flush(10)

        def copies(ms: list) -> dict[tuple[str, str, str], Any]:  # type: ignore[type-arg]
            out = {}
            for m in ms:
                mid = hdr(m, "ndxp-correlation-id") or hdr(m, "ndxp-id")
                out[m.topic(), hdr(m, "ndxp-kind"), mid] = m
            return out

        def all_there(ms: list) -> bool:  # type: ignore[type-arg]
            return len([k for k in copies(ms) if k[2].startswith(run)]) == 3 * len(keys)

        answers.collect(all_there, timeout=30)
    finally:
        answers.close()
    found = copies(answers.messages)
    for name, key in keys.items():
        for topic, kind in (
            ("ndxp.out.000.00.00.H41", "request"),  # the router's routed copy
            ("ndxp.in.000.00.00.H41", "response"),  # the adapter's answer
            ("ndxp.out.000.00.00.H41", "response"),  # the router's copy of the answer
        ):
            m = found.get((topic, kind, f"{run}-{name}"))
            assert m is not None, f"no {kind} on {topic} for the request keyed {name}"
            assert m.key() == key, (name, topic, kind)
            if kind == "response":
                assert hdr(m, "ndxp-http-status") == "200", name
            if key is None:
                continue
            parts = list(range(3))
            if len(key) <= 128:  # where Kafka's default partitioner puts it (aiokafka's own)
                expected = DefaultPartitioner()(key, parts, parts)
            else:  # the first four bytes of its SHA-256, big-endian, top bit cleared
                expected = (
                    int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF
                ) % 3
            assert m.partition() == expected, (name, topic, kind)


def test_headers_http_cannot_carry_never_hold_the_adapter(
    kafka: Broker, providers: OddProvider
) -> None:
    """A Kafka client's request to an HTTP provider whose headers HTTP cannot carry (a line
    break or a space in a name, a NUL in a value) is called without them and answered, and
    so is every request after it on its partition; the adapter's commits pass them all.
    Before, the HTTP client's refusal escaped the adapter's work on that request: it was never
    answered and its partition's commits stopped there for good, so each restart called the
    provider again for every request since."""
    run = uuid.uuid4().hex[:8]
    client, service = "VN:GOV:000.00.00.H41:motcua", "VN:GOV:000.00.00.H41:api:thua-dat:v1"
    egress = "ndxp.out.000.00.00.H41"
    taps = Tap(kafka.bootstrap, [egress])
    p = producer(kafka.bootstrap)
    unsendable = [
        ("x-evil\r\nx-injected", b"1"),
        ("x evil", b"2"),
        ("x-nul", b"a\x00b"),
        ("x-kept", f"{run}-kept".encode()),
    ]
    ids = [f"{run}-poison"] + [f"{run}-after-{i}" for i in range(5)]
    try:
        for i, mid in enumerate(ids):
            headers = request(mid, client, service, **{"ndxp-http-path": "/record"})
            send(p, "ndxp.in.000.00.00.H41", headers + (unsendable if i == 0 else []), key=b"k")
        p.flush(10)

        def answered(ms: list) -> bool:  # type: ignore[type-arg]
            got = {hdr(m, "ndxp-correlation-id") for m in ms if hdr(m, "ndxp-kind") == "response"}
            return set(ids) <= got

        taps.collect(answered, timeout=30)
    finally:
        taps.close()
    routed = {hdr(m, "ndxp-id"): m for m in taps.messages if hdr(m, "ndxp-kind") == "request"}
    answers = {
        hdr(m, "ndxp-correlation-id"): m for m in taps.messages if hdr(m, "ndxp-kind") == "response"
    }
    for mid in ids:
        assert hdr(answers[mid], "ndxp-http-status") == "200", mid
    head = next(h for h in providers.heads if f"{run}-kept".encode() in h)
    assert b"x-injected" not in head.lower() and b"x evil" not in head.lower()
    assert b"x-nul" not in head.lower()
    # the adapter's group commits past every one of them (it commits every 0.2 s)
    partition = routed[ids[0]].partition()
    last = max(routed[mid].offset() for mid in ids)
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "gateway-test-provider"})
    try:
        deadline = time.monotonic() + 15
        while True:
            [tp] = c.committed([TopicPartition(egress, partition)], timeout=10)
            if tp.offset > last or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        c.close()
    assert tp.offset > last, f"the adapter committed {tp.offset}, the requests end at {last}"


def test_a_provider_that_hangs_holds_only_its_own_calls(
    gateway: GatewayProcess, providers: None
) -> None:
    """Calls to a provider that never answers wait for its timeout (2 s) and are answered 504;
    meanwhile another provider's calls through the same adapter are answered at once."""

    async def run() -> tuple[list[tuple[int, dict[str, str], bytes]], list[int], list[bool]]:
        json_client = {"X-Road-Client": CLIENT, "Content-Type": "application/json"}
        hung = [
            asyncio.create_task(
                fetch("POST", url(gateway, f"{CITIZENS}/cong-dan"), json_client, b"{}")
            )
            for _ in range(5)
        ]
        await asyncio.sleep(0.5)  # the adapter is waiting on all five
        statuses, still_hung = [], []
        for _ in range(5):
            status, _, _ = await fetch(
                "POST",
                url(gateway, f"{TAX}/nghia-vu-tai-chinh"),
                json_client,
                b'{"gia_tri": 1000000000}',
            )
            statuses.append(status)
            still_hung.append(not any(t.done() for t in hung))
        return await asyncio.gather(*hung), statuses, still_hung

    hung, statuses, still_hung = asyncio.run(run())
    # every tax call answered while all five hung calls still waited: in order, not by a clock
    assert statuses == [200] * 5 and still_hung == [True] * 5
    for status, headers, body in hung:
        assert status == 504, body
        assert headers["X-Road-Error"] == "Server.ServerProxy.ServiceTimeout"


def test_a_flood_of_calls_to_a_hanging_provider_holds_no_other_call(
    gateway: GatewayProcess, providers: OddProvider
) -> None:
    """Six times the adapter's calls at once to a provider that never answers: it holds its
    share (a quarter), the rest are answered 503 at once, and the tax API is answered while
    the hanging provider's calls still wait (before, they took every place in the adapter,
    which stopped reading requests until they timed out)."""
    flood = 6 * ADAPTER_IN_FLIGHT

    async def run() -> tuple[list[int], int, bool]:
        json_client = {"X-Road-Client": CLIENT, "Content-Type": "application/json"}
        hung = [
            asyncio.create_task(
                fetch("POST", url(gateway, f"{CITIZENS}/cong-dan"), json_client, b"{}")
            )
            for _ in range(flood)
        ]
        await asyncio.sleep(1.0)  # every call written, the adapter working on them
        status, _, _ = await fetch(
            "POST", url(gateway, f"{TAX}/nghia-vu-tai-chinh"), json_client, b'{"gia_tri": 1}'
        )
        some_still_wait = not all(t.done() for t in hung)
        return [s for s, _, _ in await asyncio.gather(*hung)], status, some_still_wait

    hung, tax, some_still_wait = asyncio.run(run())
    assert tax == 200 and some_still_wait
    assert set(hung) <= {503, 504}
    assert hung.count(503) >= flood - ADAPTER_IN_FLIGHT // 4, hung.count(503)


def test_an_adapter_killed_mid_stream_answers_every_request_once_started_again(
    kafka: Broker,
    gateway: GatewayProcess,
    ledger: LedgerProcess,
    tmp_path: Path,
) -> None:
    """kill -9 of the provider adapter while 300 calls to a one-stop shop's REST API are under
    way, and a new one started at once: what the dead one had taken and not answered, and what
    arrived meanwhile, is answered by the next (its callers may have had their 504 by then):
    the ledger has a response to every request (at least once). The adapter commits once a
    minute here: the kill comes before its first commit, when only the offsets it started at,
    committed as it joined, tell the next one where to begin."""
    port = free_port()
    doc = orjson.loads(DEFAULT_REGISTRY.read_bytes())
    for member in doc["members"]:
        for subsystem in member.get("subsystems", []):
            subsystem.pop("http", None)  # this test's adapter calls one endpoint only
            if (member["id"], subsystem["code"]) == ("VN:GOV:000.00.00.H40", "api"):
                subsystem["http"] = {"url": f"http://127.0.0.1:{port}/motcua", "timeout_s": 5}
    registry = tmp_path / "registry.json"
    registry.write_bytes(orjson.dumps(doc))
    env = {**os.environ, "NDXP_BOOTSTRAP": kafka.bootstrap, "NDXP_VAR": str(kafka.var)}
    env["NDXP_PROVIDER_COMMIT_INTERVAL_S"] = "60"
    ndxp = str(REPO / ".venv" / "bin" / "ndxp")
    group = f"adapter-kill-{uuid.uuid4().hex[:6]}"
    log = (kafka.var / "adapter-kill.log").open("ab")

    def adapter() -> subprocess.Popen[bytes]:
        cmd = [ndxp, "provide", "--registry", str(registry), "--group", group]
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

    # the one-stop shop answers in 8 ms: calls are in the adapter's hands at the kill
    apis = ["--port", str(port), "--time-scale", "1"]
    procs = [start_rest_providers(apis, env, kafka.var / "adapter-kill.log")]
    prefix = f"adkill-{uuid.uuid4().hex[:8]}-"
    statuses: dict[int, int] = {}

    async def burst() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:

            async def one(i: int) -> None:
                async with session.post(
                    url(gateway, f"{CASES}/ho-so"),
                    headers={"X-Road-Client": CLIENT, "X-Road-Id": f"{prefix}{i}"},
                    data=b'{"thu_tuc": "chuyen-nhuong-dat"}',
                ) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

            tasks = [asyncio.create_task(one(i)) for i in range(300)]
            while statuses.get(201, 0) < 80:
                await asyncio.sleep(0.01)
            procs[1].kill()  # SIGKILL, mid-stream
            procs[1].wait()
            procs.append(adapter())  # as the platform's supervisor would
            await asyncio.gather(*tasks)

    try:
        # a new group reads from the end: the calls are made once it has its partitions
        args = ["--registry", str(registry), "--group", group]
        procs.append(start_adapter(args, env, kafka.var / "adapter-kill.log"))
        asyncio.run(burst())
        assert statuses.get(201, 0) >= 80 and statuses.get(504, 0) > 0, statuses  # mid-stream
        where = f"startsWith(message_id, '{prefix}') AND kind = 'request'"
        answers = f"kind = 'response' AND startsWith(correlation_id, '{prefix}')"
        deadline = time.monotonic() + 90
        requests: set[str] = set()
        answered: set[str] = set()
        while time.monotonic() < deadline:
            requests = {
                r[0] for r in ledger.sql(f"SELECT message_id FROM ndxp.ledger WHERE {where}")
            }
            answered = {
                r[0] for r in ledger.sql(f"SELECT correlation_id FROM ndxp.ledger WHERE {answers}")
            }
            if len(requests) == 300 and answered == requests:
                break
            time.sleep(1)
        assert len(requests) == 300 and answered == requests, (len(requests), len(answered))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        log.close()


def test_a_service_waits_as_long_as_the_registry_says(gateway: GatewayProcess) -> None:
    """The sample's one-stop-shop REST API declares timeout_s 5; this gateway's own is 3 s.
    Nobody answers it here (no adapter runs in this module): 504 after 5 s, not 3."""
    status, headers, body = asyncio.run(
        fetch(
            "POST",
            url(gateway, "/r1/VN/GOV/000.00.00.H40/api/ho-so~v1/ho-so"),
            {"X-Road-Client": CLIENT},
            b"{}",
        )
    )
    assert status == 504 and headers["X-Road-Error"] == "Server.ClientProxy.Timeout", body
    assert b"in 5 s" in body  # the timeout it waited, as the gateway reports it
