"""A call through the gateway: ``{METHOD} /r1/{service}[/path][?query]`` with ``X-Road-Client``
→ a request on the client member's ingress topic (the body bytes-exact as its value, the
method, path, query and end-to-end headers as headers) → its answer, or an X-Road error."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from ndxp.core import wire, xroad, xroad_headers
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import MemberId, SubsystemId
from ndxp.core.registry import Registry
from ndxp.core.xroad import XRoadError
from ndxp.gateway.bodies import Bodies
from ndxp.gateway.replies import Answer, Replies
from ndxp.pki import CertificateError, member_of_der
from ndxp.settings import GatewaySettings

JSON = "application/json; charset=utf-8"


@dataclass
class Gateway:
    """What every handler of one gateway process shares."""

    settings: GatewaySettings
    registry: Registry
    producer: Any  # aiokafka's producer
    replies: Replies
    bodies: Bodies
    # /listClients as written for ``registry`` (the same for every caller, 79 KB: 5 ms to
    # build, which four callers looping on it made a tenth of the gateway's time)
    client_list: tuple[Registry, bytes] | None = None


GATEWAY = web.AppKey("gateway", Gateway)


async def call(request: web.Request) -> web.StreamResponse:
    gw = request.app[GATEWAY]
    request_id = request.headers.get("X-Road-Id") or str(uuid.uuid4())
    try:
        for name in ("X-Road-Client", "X-Road-Id"):
            if len(request.headers.getall(name, ())) > 1:
                raise xroad.bad_request(f"{name} is repeated: a call names one")
        return await _call(gw, request, request_id)
    except XRoadError as err:
        return error_response(err, request_id)


async def _call(gw: Gateway, request: web.Request, request_id: str) -> web.StreamResponse:
    if not wire.valid_message_id(request_id):
        raise xroad.bad_request(
            f"X-Road-Id must be 1-{wire.MAX_ID_LENGTH} printable ASCII characters without spaces"
        )
    target = xroad.parse_call(request.raw_path)
    client = xroad.parse_client(request.headers.get("X-Road-Client"))
    check_caller(gw, request, client)
    client_id = str(client)
    party = gw.registry.subsystems.get(client_id)  # its route found when the registry was read
    route = None if party is None else party.route
    if route is None:
        raise xroad.rejection("UNKNOWN_CLIENT", f"client {client} is not in the registry")
    passed, forged = xroad_headers.forwarded(request.headers.items())
    if forged:
        raise xroad.bad_request(f"header {forged[0]} is the platform's: a caller may not set it")
    # the share is the calling platform's (the client's nearest connected member): its units
    # are members of their own, and one certificate speaks for all of them
    member = str(route)
    size = body_size(request, gw.settings.max_value_bytes)
    gw.bodies.reserve(member, size)  # held until the call ends
    try:
        body = await read_body(request, gw.settings.max_value_bytes, gw.settings.body_timeout_s)
        gw.bodies.release(member, size - len(body))  # a chunked body held the limit
        size = len(body)
        return await _send(gw, request, request_id, target, client, route, passed, body)
    finally:
        gw.bodies.release(member, size)


async def _send(
    gw: Gateway,
    request: web.Request,
    request_id: str,
    target: xroad.Call,
    client: SubsystemId,
    route: MemberId,
    passed: list[tuple[str, bytes]],
    body: bytes,
) -> web.StreamResponse:
    """Write the call to its client's ingress topic and wait for its answer."""
    client_id = str(client)
    headers: list[tuple[str, bytes]] = [
        (wire.H_ID, request_id.encode()),
        (wire.H_KIND, wire.KIND_REQUEST.encode()),
        (wire.H_CLIENT, client_id.encode()),
        (wire.H_SERVICE, str(target.service).encode()),
        (wire.H_SENT_AT, str(int(time.time() * 1000)).encode()),
        (xroad.H_HTTP_METHOD, request.method.encode()),
        (xroad.H_HTTP_PATH, target.path.encode()),
        (xroad.H_HTTP_QUERY, target.query.encode()),
        *passed,
    ]
    described = gw.registry.described.get(str(target.service))
    timeout_s = (described.timeout_s if described else None) or gw.settings.timeout_s
    waiting = gw.replies.expect(route, request_id, client_id, str(target.service))
    try:
        # one deadline for the whole call: a broker slow to take it is the caller's wait too
        async with asyncio.timeout(timeout_s):
            await gw.replies.watch(route)  # its answer will be read: before the call is written
            # keyed by the client id, as every sender keys its requests (its home partition)
            at = await gw.producer.send_and_wait(
                wire.ingress_topic(route), body, key=client_id.encode(), headers=headers
            )
            gw.replies.written(route, request_id, (at.topic, at.partition, at.offset), waiting)
            answer = await waiting
    except KafkaError as exc:  # refused or unreachable broker (written, if at all, once)
        status, type_ = xroad.UNAVAILABLE
        raise XRoadError(status, type_, f"the platform could not take the call: {exc}") from None
    except TimeoutError:
        status, type_ = xroad.TIMEOUT
        raise XRoadError(
            status, type_, f"no answer from {target.service} in {timeout_s:g} s"
        ) from None
    finally:
        gw.replies.forget(route, request_id, waiting)
    return answered(gw, answer, request_id, client, target, xroad.request_hash(headers, body))


def check_caller(gw: Gateway, request: web.Request, client: SubsystemId) -> None:
    """With mutual TLS: the member of the caller's certificate must be the client's member or
    above it (a platform speaks for the units below it, as on Kafka: NOT_SENDER)."""
    if not gw.settings.tls:
        return
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise XRoadError(401, "Server.ClientProxy.SslAuthenticationFailed", "no client certificate")
    try:
        member = MemberId.parse(member_of_der(der))
    except (CertificateError, InvalidIdentifier) as exc:
        raise XRoadError(401, "Server.ClientProxy.SslAuthenticationFailed", str(exc)) from None
    if not client.member.is_self_or_descendant_of(member):
        raise XRoadError(
            403,
            "Server.ClientProxy.SslAuthenticationFailed",
            f"the client certificate is {member}'s: it may not call as {client}",
        )


def body_size(request: web.Request, limit: int) -> int:
    """The bytes a call's body may take: none without one, its declared length, or the
    limit when it comes chunked; 413 for a declared length over the limit."""
    if not request.body_exists:
        return 0
    if request.content_length is None:
        return limit
    if request.content_length > limit:
        raise XRoadError(413, "Client.BadRequest", f"the body is over {limit:,} bytes")
    return request.content_length


async def read_body(request: web.Request, limit: int, timeout_s: float) -> bytes:
    """The body, refused 413 past the value limit (before reading it when the length is
    declared; the router would refuse it TOO_LARGE), and 408 when it has not all arrived
    within ``timeout_s`` (aiohttp itself would wait for it as long as the caller likes)."""
    too_large = XRoadError(413, "Client.BadRequest", f"the body is over {limit:,} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    try:
        async with asyncio.timeout(timeout_s):
            body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except TimeoutError:
        raise XRoadError(
            408, "Client.BadRequest", f"the body did not arrive within {timeout_s:g} s"
        ) from None
    if len(body) > limit:
        raise too_large
    return body


def answered(
    gw: Gateway,
    answer: Answer,
    request_id: str,
    client: Any,
    target: xroad.Call,
    request_hash: str,
) -> web.Response:
    """The HTTP answer to a call: the provider's status, headers and body, with X-Road's
    headers; or, for the router's error notice, the X-Road error it maps to."""
    if answer.kind == wire.KIND_ERROR:
        code = wire.header(answer.headers, wire.H_ERROR) or "ERROR"
        detail = wire.header(answer.headers, wire.H_ERROR_DETAIL) or ""
        retry = wire.header(answer.headers, wire.H_RETRY_AFTER)
        return error_response(xroad.rejection(code, detail, retry), request_id)
    status = xroad.answer_status(wire.header(answer.headers, xroad.H_HTTP_STATUS))
    if status is None:
        failed, type_ = xroad.SERVICE_FAILED
        message = f"{target.service} answered with an invalid HTTP status"
        return error_response(XRoadError(failed, type_, message), request_id)
    response = web.Response(status=status, body=answer.value)
    for name, value in xroad_headers.answered_headers(answer.headers):
        response.headers.add(name, value)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/octet-stream"
    response.headers["X-Road-Client"] = xroad.client_header(client)
    response.headers["X-Road-Service"] = xroad.service_header(target.service)
    response.headers["X-Road-Id"] = request_id
    response.headers["X-Road-Request-Id"] = request_id
    response.headers["X-Road-Request-Hash"] = request_hash
    error = xroad.answer_error(wire.header(answer.headers, xroad.H_HTTP_ERROR))
    if error is not None:  # the provider adapter answered for its provider
        response.headers["X-Road-Error"] = error
    return response


def error_response(err: XRoadError, request_id: str) -> web.Response:
    """X-Road's error form: JSON ``type``/``message``/``detail`` and ``X-Road-Error``."""
    response = web.Response(status=err.status, body=orjson.dumps(xroad.error_body(err, request_id)))
    response.headers["Content-Type"] = JSON
    response.headers["X-Road-Error"] = err.type
    response.headers["X-Road-Id"] = request_id
    if err.retry_after is not None:
        response.headers["Retry-After"] = err.retry_after
    return response
