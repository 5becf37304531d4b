"""One call of the provider adapter (:mod:`ndxp.gateway.provider`): a request routed to a
subsystem with an HTTP endpoint, rebuilt as the HTTP call (method, path, query, end-to-end
headers, body), made within the endpoint's share and timeout, tried again after a failed
connection or a timeout only when its method is idempotent; and what to publish for it: the
provider's answer (status, headers, body) or, for an unreachable, slow, oversized or failing
provider, an error in X-Road's form (502/503/504 with ``ndxp-http-error``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import orjson
import yarl

from ndxp.core import answer, wire, xroad, xroad_headers
from ndxp.core.budget import headers_size
from ndxp.core.registry import Registry
from ndxp.core.registry_doc import HttpEndpointDoc
from ndxp.core.wire import MAX_HEADER_BYTES
from ndxp.settings import ProviderSettings

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
        self.held = dict.fromkeys(registry.endpoints, 0)  # calls in or waiting for a slot
        self.share = max(1, settings.max_in_flight // 4)  # the most one endpoint may hold
        self.session: aiohttp.ClientSession | None = None
        self.calls = 0
        self.failed = 0


def response_headers(
    request: list[tuple[str, bytes]], status: int, error: str | None = None
) -> list[tuple[str, bytes]]:
    """The answer's ndxp headers (:func:`ndxp.core.answer.headers`), and the X-Road error
    type when the adapter answers for the provider."""
    headers = answer.headers(request, str(uuid.uuid4()), int(time.time() * 1000), status)
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
    url = xroad.provider_url(endpoint.url, path, query)
    if method not in METHODS or url is None:
        return error_answer(
            request, 400, "Client.BadRequest", f"{method} {path!r} cannot be called here"
        )
    headers = dict(
        xroad_headers.answered_headers(request)
    )  # end-to-end headers, as the caller sent
    headers["X-Road-Client"] = xroad.client_header_of(wire.header(request, wire.H_CLIENT) or "")
    headers["X-Road-Service"] = xroad.service_header_of(subsystem_service(request))
    headers["X-Road-Id"] = wire.header(request, wire.H_ID) or ""
    held = provided.held[subsystem]
    if held >= provided.share:  # this provider holds its share: it may hold no more
        provided.failed += 1
        return error_answer(
            request,
            503,
            "Server.ServerProxy.ServiceFailed",
            f"{held:,} calls to {subsystem} are in progress or waiting: try again later",
        )
    slot = provided.slots[subsystem]
    provided.held[subsystem] += 1
    try:
        try:
            async with asyncio.timeout(endpoint.timeout_s):
                await slot.acquire()
        except TimeoutError:
            provided.failed += 1
            return error_answer(
                request,
                504,
                "Server.ServerProxy.ServiceTimeout",
                f"no connection to {subsystem} came free in {endpoint.timeout_s:g} s",
            )
        try:
            return await attempt(provided, endpoint, request, record, method, url, headers)
        finally:
            slot.release()
    finally:
        provided.held[subsystem] -= 1


async def attempt(
    provided: Provided,
    endpoint: HttpEndpointDoc,
    request: list[tuple[str, bytes]],
    record: Any,
    method: str,
    url: str,
    headers: dict[str, str],
) -> tuple[list[tuple[str, bytes]], bytes]:
    """The HTTP call, tried again after a failed connection or a timeout if its method is
    idempotent, and the response to publish."""
    assert provided.session is not None
    session = provided.session
    attempts = 1 + (provided.settings.retries if method in IDEMPOTENT else 0)
    timeout = aiohttp.ClientTimeout(total=endpoint.timeout_s)
    last, timed_out = "", False
    for _ in range(attempts):
        try:
            async with session.request(
                method,
                yarl.URL(url, encoded=True),  # as checked: not decoded, not normalized
                data=bytes(record.value or b""),
                headers=headers,
                timeout=timeout,
                allow_redirects=False,  # X-Road passes redirects on, unfollowed
            ) as r:
                limit = provided.settings.max_value_bytes
                body = await read_answer(r, limit)
                if body is None:
                    return error_answer(
                        request,
                        502,
                        "Server.ServerProxy.ServiceFailed",
                        f"the provider's answer is over {limit:,} bytes",
                    )
                out = response_headers(request, r.status)
                hop = xroad_headers.connection_named(r.headers.items())
                for name, value in r.headers.items():
                    lower = name.lower()
                    if lower in xroad_headers.FILTERED or lower in hop:
                        continue
                    if lower.startswith(("ndxp-", "x-road-")):
                        continue
                    out.append((lower, value.encode("utf-8", "surrogateescape")))
                if headers_size(out) > MAX_HEADER_BYTES:  # the router would refuse it
                    return error_answer(
                        request,
                        502,
                        "Server.ServerProxy.ServiceFailed",
                        f"the provider's answer headers are over {MAX_HEADER_BYTES:,} bytes",
                    )
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


async def read_answer(r: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body of ``r``, or ``None`` past ``limit`` bytes (read no further). Not
    ``content.read(n)``: that returns what has arrived so far, up to ``n``, and a large
    answer was cut at the first ~128 KB."""
    if r.content_length is not None and r.content_length > limit:
        return None
    chunks, size = [], 0
    async for chunk in r.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def subsystem_service(request: list[tuple[str, bytes]]) -> str:
    return wire.header(request, wire.H_SERVICE) or ""
