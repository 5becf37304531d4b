"""The provider side of the HTTP gateway (``ndxp provide``): requests routed to a subsystem whose
registry entry declares an HTTP endpoint become HTTP calls to it — method, path, query,
end-to-end headers and body rebuilt from the Kafka request — and the HTTP answer (status,
headers, body) goes back as the ndxp response, on the provider's ingress topic.

Per endpoint: at most ``concurrency`` calls in flight and ``timeout_s`` each; a call that
fails to connect or times out is tried again (``retries``) only when its method is idempotent.
A provider's own error answers pass through as they are; an unreachable provider, a timeout,
or an answer over the value limit is answered for it in X-Road's form (502/504 with
``ndxp-http-error``). Offsets are committed only after every response of what was fetched is
published (at least once: a restart may call a provider again for the same request)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer

from ndxp.core import wire, xroad
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import ServiceId
from ndxp.core.registry import HttpEndpointDoc, Registry
from ndxp.kafka.io import producer
from ndxp.settings import ProviderSettings

log = logging.getLogger("ndxp.provide")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
METHODS = IDEMPOTENT | {"POST", "PATCH"}


class Provided:
    """The endpoints, one limit each, and the HTTP session they share."""

    def __init__(self, settings: ProviderSettings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.slots = {
            sub: asyncio.Semaphore(e.concurrency) for sub, e in registry.endpoints.items()
        }
        self.session: aiohttp.ClientSession | None = None
        self.calls = 0
        self.failed = 0


def topics(registry: Registry) -> list[str]:
    """The egress topics where requests to the HTTP subsystems arrive."""
    routes = {registry.subsystems[s].route for s in registry.endpoints}
    return sorted(wire.egress_topic(r) for r in routes if r is not None)


def target_url(endpoint: HttpEndpointDoc, path: str, query: str) -> str | None:
    """``endpoint.url`` + the call's path and query; ``None`` for a path that would leave the
    endpoint's base (``..``, ``.`` segments, backslashes: SSRF)."""
    if path and not path.startswith("/"):
        return None
    segments = path.split("/")
    if any(s in (".", "..", "%2e", "%2E", "%2e%2e", "%2E%2E") for s in segments) or "\\" in path:
        return None
    url = endpoint.url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def response_headers(
    request: list[tuple[str, bytes]], status: int, error: str | None = None
) -> list[tuple[str, bytes]]:
    headers = [
        (wire.H_ID, str(uuid.uuid4()).encode()),
        (wire.H_KIND, wire.KIND_RESPONSE.encode()),
        (wire.H_CLIENT, (wire.header(request, wire.H_CLIENT) or "").encode()),
        (wire.H_SERVICE, (wire.header(request, wire.H_SERVICE) or "").encode()),
        (wire.H_CORRELATION_ID, (wire.header(request, wire.H_ID) or "").encode()),
        (wire.H_SENT_AT, str(int(time.time() * 1000)).encode()),
        (xroad.H_HTTP_STATUS, str(status).encode()),
    ]
    if error is not None:
        headers.append((xroad.H_HTTP_ERROR, error.encode()))
    return headers


def error_answer(
    request: list[tuple[str, bytes]], status: int, type_: str, message: str
) -> tuple[list[tuple[str, bytes]], bytes]:
    request_id = wire.header(request, wire.H_ID) or ""
    body = orjson.dumps({"type": type_, "message": message, "detail": request_id})
    headers = response_headers(request, status, type_)
    headers.append(("content-type", b"application/json; charset=utf-8"))
    return headers, body


async def call(
    provided: Provided, endpoint: HttpEndpointDoc, subsystem: str, record: Any
) -> tuple[list[tuple[str, bytes]], bytes]:
    """The HTTP call for one request, and the response to publish."""
    request = list(record.headers or ())
    method = (wire.header(request, xroad.H_HTTP_METHOD) or "POST").upper()
    path = wire.header(request, xroad.H_HTTP_PATH) or ""
    query = wire.header(request, xroad.H_HTTP_QUERY) or ""
    url = target_url(endpoint, path, query)
    if method not in METHODS or url is None:
        return error_answer(
            request, 400, "Client.BadRequest", f"{method} {path!r} cannot be called here"
        )
    headers = dict(xroad.answered_headers(request))  # end-to-end headers, as the caller sent
    headers["X-Road-Client"] = xroad.client_header_of(wire.header(request, wire.H_CLIENT) or "")
    headers["X-Road-Service"] = xroad.service_header(ServiceId.parse(subsystem_service(request)))
    headers["X-Road-Id"] = wire.header(request, wire.H_ID) or ""
    attempts = 1 + (provided.settings.retries if method in IDEMPOTENT else 0)
    assert provided.session is not None
    timeout = aiohttp.ClientTimeout(total=endpoint.timeout_s)
    last, timed_out = "", False
    for _ in range(attempts):
        try:
            async with (
                provided.slots[subsystem],
                provided.session.request(
                    method,
                    url,
                    data=bytes(record.value or b""),
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,  # X-Road passes redirects on, unfollowed
                ) as r,
            ):
                limit = provided.settings.max_value_bytes
                body = await r.content.read(limit + 1)
                if len(body) > limit:
                    return error_answer(
                        request,
                        502,
                        "Server.ServerProxy.ServiceFailed",
                        f"the provider's answer is over {limit:,} bytes",
                    )
                out = response_headers(request, r.status)
                for name, value in r.headers.items():
                    lower = name.lower()
                    if lower in xroad.FILTERED or lower.startswith(("ndxp-", "x-road-")):
                        continue
                    out.append((lower, value.encode("utf-8", "surrogateescape")))
                provided.calls += 1
                return out, body
        except TimeoutError:
            last = f"no answer from {url} in {endpoint.timeout_s:g} s"
            timed_out = True
        except aiohttp.ClientError as exc:
            last = f"{url}: {type(exc).__name__}: {exc}"[:500]
            timed_out = False
    provided.failed += 1
    if timed_out:
        return error_answer(request, 504, "Server.ServerProxy.ServiceTimeout", last)
    return error_answer(request, 502, "Server.ServerProxy.NetworkError", last)


def subsystem_service(request: list[tuple[str, bytes]]) -> str:
    return wire.header(request, wire.H_SERVICE) or ""


def subsystem_of(registry: Registry, service: str | None) -> str | None:
    """The HTTP subsystem a request is for, or ``None`` (not one of ours)."""
    if not service or not registry.endpoints:
        return None
    try:
        sub = str(ServiceId.parse(service).subsystem)
    except InvalidIdentifier:
        return None
    return sub if sub in registry.endpoints else None


async def serve(settings: ProviderSettings, registry: Registry) -> None:
    """Run until cancelled."""
    wanted = topics(registry)
    if not wanted:
        log.warning("no subsystem in the registry declares an HTTP endpoint: nothing to do")
        await asyncio.Event().wait()
    provided = Provided(settings, registry)
    consumer = AIOKafkaConsumer(
        *wanted,
        bootstrap_servers=settings.bootstrap,
        group_id=settings.group,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        **settings.auth.aiokafka(),
    )
    p = producer(settings.bootstrap, settings.auth, linger_ms=0)
    await p.start()
    await consumer.start()
    connector = aiohttp.TCPConnector(limit=0)  # limits are per endpoint (the semaphores)
    provided.session = aiohttp.ClientSession(connector=connector)
    log.info("calling %d HTTP subsystem(s) for requests on %s", len(registry.endpoints), wanted)
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            if not batches:
                continue
            await asyncio.gather(
                *(answer(provided, p, r) for records in batches.values() for r in records)
            )
            await p.flush()  # every response of this fetch is on the broker ...
            await consumer.commit()  # ... before its requests' offsets are committed
    finally:
        await provided.session.close()
        await consumer.stop()
        await p.stop()


async def answer(provided: Provided, p: Any, record: Any) -> None:
    request = list(record.headers or ())
    if wire.header(request, wire.H_KIND) != wire.KIND_REQUEST:
        return
    subsystem = subsystem_of(provided.registry, wire.header(request, wire.H_SERVICE))
    if subsystem is None:
        return  # a service this adapter does not call (a Kafka client answers it)
    headers, body = await call(provided, provided.registry.endpoints[subsystem], subsystem, record)
    member = record.topic[len(wire.EGRESS_PREFIX) :]
    await p.send(wire.ingress_topic(member), body, key=record.key, headers=headers)
